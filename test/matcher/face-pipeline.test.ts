/**
 * The face matcher end to end (matcher/face/pipeline.ts) on the shared
 * models and photos: reference embeddings from the aligned crops, our own
 * detection and alignment from the raw photos, and every typed failure.
 * Skips, with a printed reason, when the shared directory is absent.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, readdirSync } from 'node:fs'
import sharp from 'sharp'
import { FaceMatcher } from '../../matcher/face/pipeline.ts'
import { LowQualityError } from '../../matcher/face/errors.ts'
import { cosine } from '../../matcher/score.ts'
import { requireShared, sharedPath } from '../../matcher/shared-path.ts'
import { hasCode, type ErrorCode } from '../../errors.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const Pipeline = suite('face pipeline')
const NEEDED = [
  'models/face-detect-yunet.onnx',
  'models/face-embed-mobilefacenet.onnx',
  'data/faces/raw',
  'data/faces/aligned',
  'data/faces/reference-embeddings.json'
]
const HAVE = requireShared('face pipeline', NEEDED)
const it = HAVE ? Pipeline : Pipeline.skip

let matcher: FaceMatcher
let reference: Record<string, number[]> = {}

Pipeline.before(async () => {
  if (!HAVE) return
  matcher = await FaceMatcher.create()
  reference = JSON.parse(readFileSync(sharedPath('data/faces/reference-embeddings.json'), 'utf8')).embeddings
})
Pipeline.after(async () => { if (HAVE) await matcher.close() })

async function rgbOf (path: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer())
}

const raw = (file: string): Uint8Array => new Uint8Array(readFileSync(sharedPath('data/faces/raw', file)))

it('reproduces the reference embedding of every aligned crop (cosine > 0.999)', async () => {
  const keys = Object.keys(reference)
  assert.ok(keys.length >= 50, `only ${keys.length} reference embeddings`)
  let worst = 1
  for (const key of keys) {
    const e = await matcher.embedAligned(await rgbOf(sharedPath('data/faces', key)))
    const c = cosine(e, new Float32Array(reference[key]))
    worst = Math.min(worst, c)
    assert.ok(c > 0.999, `${key}: cosine ${c}`)
  }
  process.stdout.write(`  aligned crops: ${keys.length} embeddings, worst cosine to reference ${worst.toFixed(5)}\n`)
})

it('from raw photos, its own detection and alignment land within cosine 0.95 of the reference for most faces', async () => {
  const cos: number[] = []
  const mad: number[] = []
  const low: string[] = []
  for (const id of readdirSync(sharedPath('data/faces/raw')).sort()) {
    for (const file of readdirSync(sharedPath('data/faces/raw', id)).sort()) {
      const key = `aligned/${id}/${file.replace(/\.\w+$/, '.png')}`
      const img = await matcher.decode(raw(`${id}/${file}`))
      const faces = await matcher.detect(img)
      assert.ok(faces.length >= 1, `${id}/${file}: no face`)
      const aligned = matcher.align(img, faces[0])
      const e = await matcher.embedAligned(aligned.rgb)
      const c = cosine(e, new Float32Array(reference[key]))
      // Mean absolute pixel difference to the shared crop: near 0 means the same landmarks and warp.
      const ref = await rgbOf(sharedPath('data/faces', key))
      let d = 0
      for (let i = 0; i < ref.length; i++) d += Math.abs(ref[i] - aligned.rgb[i])
      cos.push(c)
      mad.push(d / ref.length)
      if (c <= 0.95) low.push(`${key} (cosine ${c.toFixed(3)}, pixel MAD ${(d / ref.length).toFixed(1)})`)
    }
  }
  const frac = cos.filter((c) => c > 0.95).length / cos.length
  const sortedMad = [...mad].sort((a, b) => a - b)
  const medMad = sortedMad[Math.floor(sortedMad.length / 2)]
  process.stdout.write(`  raw photos: ${(frac * 100).toFixed(1)} % of ${cos.length} within cosine 0.95 (min ${Math.min(...cos).toFixed(3)}); ` +
    `pixel MAD to the shared crops median ${medMad.toFixed(2)}, max ${Math.max(...mad).toFixed(2)}${low.length > 0 ? `; below: ${low.join(', ')}` : ''}\n`)
  assert.ok(frac >= 0.8, `only ${(frac * 100).toFixed(1)} % above 0.95`)
  assert.ok(medMad < 3, `median pixel MAD ${medMad}`)
})

it('embed returns a unit-length embedding with the model id, face count and quality', async () => {
  const r = await matcher.embed(raw('brad_pitt/brad_1.jpg'))
  assert.is(r.model, 'mobilefacenet-foamliu-a6cc9032')
  assert.is(r.dim, 128)
  assert.is(r.embedding.length, 128)
  let n = 0
  for (const v of r.embedding) n += v * v
  assert.ok(Math.abs(n - 1) < 1e-5)
  assert.is(r.faces, 1)
  assert.ok(r.quality.score > 0.9 && r.quality.score <= 1)
  assert.ok(r.detection.score > 0.9)
})

it('a blank image has no face: ERR_NO_FACE', async () => {
  const blank = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080' } }).png().toBuffer()
  assert.is(await codeOfAsync(matcher.embed(new Uint8Array(blank))), 'ERR_NO_FACE')
})

it('a blurred face is refused with ERR_LOW_QUALITY and its measured quality', async () => {
  const blurred = new Uint8Array(await sharp(raw('brad_pitt/brad_1.jpg')).blur(12).jpeg().toBuffer())
  assert.ok((await matcher.detect(await matcher.decode(blurred))).length >= 1, 'the detector should still find the blurred face')
  try {
    await matcher.embed(blurred)
    assert.unreachable('should refuse')
  } catch (e) {
    assert.ok(e instanceof LowQualityError, String(e))
    assert.is(e.code, 'ERR_LOW_QUALITY')
    assert.ok(e.quality.score < matcher.config.quality.floor)
  }
})

it('a tiny face is refused with ERR_LOW_QUALITY', async () => {
  const tiny = new Uint8Array(await sharp(raw('brad_pitt/brad_1.jpg')).resize(64).png().toBuffer())
  assert.ok((await matcher.detect(await matcher.decode(tiny))).length >= 1, 'the detector should still find the tiny face')
  assert.is(await codeOfAsync(matcher.embed(tiny)), 'ERR_LOW_QUALITY')
})

it('with two faces it reports both and embeds the most confident one', async () => {
  // A TV still enlarged (YuNet score ≈ 0.7) beside a sharp photo (≈ 0.95).
  const left = await sharp(raw('amy/amy1.png')).resize(660, 660).toColourspace('srgb').png().toBuffer()
  const both = await sharp({ create: { width: 1320, height: 660, channels: 3, background: '#000' } })
    .composite([{ input: left, left: 0, top: 0 }, { input: Buffer.from(raw('brad_pitt/brad_1.jpg')), left: 660, top: 0 }])
    .jpeg({ quality: 95 }).toBuffer()
  const r = await matcher.embed(new Uint8Array(both))
  assert.is(r.faces, 2)
  const faces = await matcher.detect(await matcher.decode(new Uint8Array(both)))
  assert.is(r.detection.score, Math.max(...faces.map((f) => f.score)))
  assert.ok(r.detection.box.x > 660, 'the right-hand (more confident) face')
  const brad = await matcher.embed(raw('brad_pitt/brad_1.jpg'))
  const amy = await matcher.embed(raw('amy/amy1.png'))
  assert.ok(cosine(r.embedding, brad.embedding) > 0.9)
  assert.ok(cosine(r.embedding, amy.embedding) < 0.3)
})

it('decodes greyscale as three equal channels and applies EXIF orientation', async () => {
  const g = await matcher.decode(raw('amy/amy1.png'))
  assert.is(g.data.length, g.width * g.height * 3)
  assert.ok(g.data[300] === g.data[301] && g.data[301] === g.data[302])
  const src = raw('brad_pitt/brad_2.jpg')
  // Pixels stored turned 90° anticlockwise, tagged "rotate 90° clockwise to display" (orientation 6).
  const turned = new Uint8Array(await sharp(src).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer())
  const a = await matcher.decode(src)
  const b = await matcher.decode(turned)
  assert.equal([b.width, b.height], [a.width, a.height])
  const ea = await matcher.embed(src)
  const eb = await matcher.embed(turned)
  assert.ok(cosine(ea.embedding, eb.embedding) > 0.98)
})

it('unreadable bytes are ERR_DECODE; a non-byte argument is a TypeError naming it', async () => {
  assert.is(await codeOfAsync(matcher.embed(new TextEncoder().encode('not an image'))), 'ERR_DECODE')
  assert.is(await codeOfAsync(matcher.embed(new Uint8Array(0))), 'ERR_DECODE')
  try {
    await matcher.embed('photo.jpg' as unknown as Uint8Array)
    assert.unreachable()
  } catch (e) {
    assert.instance(e, TypeError)
    assert.match((e as Error).message, /imageBytes/)
  }
  try {
    await matcher.embedAligned(new Uint8Array(10))
    assert.unreachable()
  } catch (e) {
    assert.instance(e, RangeError)
    assert.match((e as Error).message, /rgb112/)
  }
})

it('a missing model file or a model of the wrong shape is ERR_MODEL', async () => {
  const expect = async (p: Promise<FaceMatcher>, code: ErrorCode): Promise<void> => {
    try {
      const m = await p
      await m.close()
      assert.unreachable('should fail')
    } catch (e) {
      assert.ok(hasCode(e, code), String(e))
    }
  }
  await expect(FaceMatcher.create({ detector: { model: sharedPath('models', 'no-such-model.onnx') } }), 'ERR_MODEL')
  // The detector where the embedder should be: [1,3,640,640] is not [1,3,112,112].
  await expect(FaceMatcher.create({ embedder: { model: sharedPath('models', 'face-detect-yunet.onnx') } }), 'ERR_MODEL')
  // Not an ONNX file at all.
  await expect(FaceMatcher.create({ detector: { model: sharedPath('data/faces/reference-embeddings.json') } }), 'ERR_MODEL')
})

it('a closed matcher refuses work with ERR_MODEL', async () => {
  const m = await FaceMatcher.create()
  await m.close()
  await m.close()
  assert.is(await codeOfAsync(m.embed(raw('amy/amy1.png'))), 'ERR_MODEL')
})

Pipeline.run()
