/**
 * Raw image probes: an enclave started with face models embeds the photo
 * itself (neither the photo's face nor its embedding leaves the child), on
 * the shared models and photos. Skips, with a printed reason, when the
 * shared directory is absent.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import sharp from 'sharp'
import { Enclave, type MatchRequest } from '../../enclave/enclave.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { verifyDecision } from '../../protocol/decision.ts'
import { enrol, remanifest, request as embeddingRequest, type Enrolled } from '../helpers/match-request.ts'
import { FaceMatcher } from '../../matcher/face/pipeline.ts'
import { SHARED_FACE_MODEL_ID } from '../../matcher/face/config.ts'
import { cosine } from '../../matcher/score.ts'
import { requireShared, sharedPath } from '../../matcher/shared-path.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const Face = suite('Enclave image probes')
const NEEDED = [
  'models/face-detect-yunet.onnx',
  'models/face-embed-mobilefacenet.onnx',
  'data/faces/raw/amy/amy2.png',
  'data/faces/raw/sheldon/sheldon1.png',
  'data/faces/reference-embeddings.json'
]
const HAVE = requireShared('enclave image probes', NEEDED)
const it = HAVE ? Face : Face.skip
const MODEL = SHARED_FACE_MODEL_ID
// Shared-model figures: genuine pairs score 0.56–0.74 on average, impostors 0.02–0.05.
const THRESHOLD = 0.3

let enclave: Enclave
let template: Float32Array
let enrolled: Enrolled

const photo = (path: string): Uint8Array => new Uint8Array(readFileSync(sharedPath('data/faces/raw', path)))

/** A match of `image` against the enrolled template (or `e`, the same shares under another manifest). */
function request (image: Uint8Array, e: Enrolled = enrolled): MatchRequest {
  return { ...embeddingRequest(enclave, e, template), probe: { kind: 'image', bytes: image } }
}

Face.before(async () => {
  if (!HAVE) return
  enclave = await Enclave.start({ faceModel: { modelDir: sharedPath('models') } })
  // Enrolled from the reference embedding of another photo of the same person.
  const refs = JSON.parse(readFileSync(sharedPath('data/faces/reference-embeddings.json'), 'utf8')).embeddings as Record<string, number[]>
  template = new Float32Array(refs['aligned/amy/amy1.png'])
  enrolled = await enrol({ vector: template, model: MODEL, t: 3, n: 5, policy: { threshold: Math.round(THRESHOLD * 1_000_000) } })
})
Face.after(async () => { if (HAVE) await enclave.close() })

it('the same person\'s photo is accepted, another person\'s rejected, embedded inside the enclave', async () => {
  const genuine = await enclave.match(request(photo('amy/amy2.png')))
  assert.ok(genuine.accept, `genuine score ${genuine.score}`)
  assert.ok(verifyDecision(genuine.decision, enclave.signer).accept)
  const impostor = await enclave.match(request(photo('sheldon/sheldon1.png')))
  assert.not.ok(impostor.accept, `impostor score ${impostor.score}`)
  process.stdout.write(`  image probes: genuine ${genuine.score!.toFixed(2)}, impostor ${impostor.score!.toFixed(2)} (threshold ${THRESHOLD})\n`)
})

it('scores what the face pipeline computes for that photo (to the two decimals revealed)', async () => {
  const m = await FaceMatcher.create({ modelDir: sharedPath('models') })
  try {
    const { embedding } = await m.embed(photo('amy/amy3.png'))
    const r = await enclave.match(request(photo('amy/amy3.png')))
    assert.ok(Math.abs(r.score! - cosine(template, embedding)) <= 0.005 + 1e-5, `${r.score} vs ${cosine(template, embedding)}`)
  } finally {
    await m.close()
  }
})

it('a photo without a face → ERR_NO_FACE; an unreadable one → ERR_DECODE', async () => {
  const grey = new Uint8Array(await sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer())
  assert.is(await codeOfAsync(enclave.match(request(grey))), 'ERR_NO_FACE')
  assert.is(await codeOfAsync(enclave.match(request(randomBytes(500)))), 'ERR_DECODE')
})

it('a template of another model or modality is refused for an image probe (ERR_BAD_REQUEST)', async () => {
  assert.is(await codeOfAsync(enclave.match(request(photo('amy/amy2.png'), remanifest(enrolled, { model: 'another-model' })))), 'ERR_BAD_REQUEST')
  assert.is(await codeOfAsync(enclave.match(request(photo('amy/amy2.png'), remanifest(enrolled, { modality: 'voice' })))), 'ERR_BAD_REQUEST')
})

it('embedding probes still work, and the caller\'s photo buffer is left intact', async () => {
  const image = photo('amy/amy4.png')
  const before = image.slice()
  await enclave.match(request(image))
  assert.equal(image, before)
  const r = await enclave.match({ ...request(image), probe: { kind: 'embedding', vector: template } })
  assert.ok(r.score! > 0.99)
})

it('the child loads addons and nothing more: no fs.write, child processes, workers; reads outside its set denied', () => {
  const iso = enclave.isolation
  assert.is(iso.addons, true)
  const confined = {
    fsWrite: false,
    childProcess: false,
    worker: false,
    wasi: false,
    inspector: false,
    addons: false,
    readRoot: false,
    canaryRead: 'denied',
    networkModule: 'refused',
    fetch: false
  }
  assert.equal({ ...iso, addons: false }, confined)
  assert.is(enclave.faceModel, MODEL)
})

Face.run()
