/**
 * The speaker-model wrapper, end to end through ONNX Runtime, with toy models
 * written byte by byte in the test (fixtures/tiny-onnx.ts) so the expected
 * embedding can be computed in JS: std-over-time of the features, times a
 * fixed 80×192 projection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BioshardError } from '../../errors.ts'
import { fbank } from '../../matcher/voice/fbank.ts'
import type { FbankFeatures } from '../../matcher/voice/fbank.ts'
import { SpeakerModel } from '../../matcher/voice/speaker-model.ts'
import { encodeOnnxModel, projection, toyEmbedding, toySpeakerModel } from './fixtures/tiny-onnx.ts'
import type { ToyModelOptions } from './fixtures/tiny-onnx.ts'

const dir = mkdtempSync(join(tmpdir(), 'bioshard-voice-model-'))
let files = 0
function save (bytes: Uint8Array): string {
  const path = join(dir, `m${files++}.onnx`)
  writeFileSync(path, bytes)
  return path
}
function toy (o: ToyModelOptions = {}): { path: string, weights: Float32Array } {
  const { bytes, weights } = toySpeakerModel(o)
  return { path: save(bytes), weights }
}

// Deterministic noise features: two seconds of a 16 kHz xorshift signal.
function features (seed: number): FbankFeatures {
  const x = new Float32Array(32000)
  let s = seed >>> 0
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    x[i] = (s / 2 ** 32 - 0.5) * (0.2 + 0.1 * Math.sin(i / 700))
  }
  return fbank(x)
}

function dot (a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

async function expectModelError (p: Promise<unknown>, message?: RegExp): Promise<void> {
  let err: unknown
  try {
    await p
  } catch (e) {
    err = e
  }
  assert.ok(err instanceof BioshardError, `expected BioshardError ERR_MODEL, got ${String(err)}`)
  assert.is(err.code, 'ERR_MODEL', err.message)
  if (message !== undefined) assert.match(err.message, message)
}

const Model = suite('SpeakerModel')
Model.after(() => rmSync(dir, { recursive: true, force: true }))

Model('embeds what the same graph computes in JS, L2-normalised (cosine > 0.9999)', async () => {
  const { path, weights } = toy()
  const model = await SpeakerModel.create({ path, id: 'toy-std-proj', inputName: 'feats', outputName: 'embs', outputDim: 192 })
  try {
    assert.is(model.dim, 192)
    for (const seed of [1, 2, 3]) {
      const f = features(seed)
      const copy = f.data.slice()
      const emb = await model.embed(f)
      assert.is(emb.length, 192)
      assert.ok(Math.abs(dot(emb, emb) - 1) < 1e-5, 'unit norm')
      const c = dot(emb, toyEmbedding(f.data, f.frames, weights))
      assert.ok(c > 0.9999, `cosine ${c}`)
      assert.equal(f.data, copy, 'features untouched')
    }
  } finally {
    await model.close()
  }
})

Model('takes input and output names from a model that has one of each', async () => {
  const model = await SpeakerModel.create({ path: toy({ inputName: 'x', outputName: 'y' }).path, id: 'toy' })
  assert.is(model.dim, 192)
  await model.close()
})

Model('feeds [1, F, T] for the bft layout, giving the same embedding as btf', async () => {
  const weights = projection(80, 192, 777)
  const btf = await SpeakerModel.create({ path: toy({ weights }).path, id: 'toy' })
  const bft = await SpeakerModel.create({ path: toy({ weights, layout: 'bft' }).path, id: 'toy', layout: 'bft' })
  const f = features(9)
  const c = dot(await btf.embed(f), await bft.embed(f))
  assert.ok(c > 0.9999, `cosine ${c}`)
  await btf.close()
  await bft.close()
})

Model('refuses a wrong input or output name with ERR_MODEL naming what the model has', async () => {
  const { path } = toy()
  await expectModelError(SpeakerModel.create({ path, id: 'toy', inputName: 'fbank' }), /no input 'fbank'.*feats/)
  await expectModelError(SpeakerModel.create({ path, id: 'toy', outputName: 'embedding' }), /no output 'embedding'.*embs/)
})

Model('refuses a missing file and a file that is not ONNX with ERR_MODEL', async () => {
  await expectModelError(SpeakerModel.create({ path: join(dir, 'absent.onnx'), id: 'toy' }), /missing/)
  await expectModelError(SpeakerModel.create({ path: save(new TextEncoder().encode('not a model')), id: 'toy' }), /could not be loaded/)
})

Model('refuses shapes that disagree with the configuration with ERR_MODEL', async () => {
  await expectModelError(SpeakerModel.create({ path: toy({ featureDim: 64 }).path, id: 'toy' }), /64 features per frame/)
  await expectModelError(SpeakerModel.create({ path: toy({ time: 200 }).path, id: 'toy' }), /fixed time axis of 200/)
  // A [1, 80, T] model read as [1, T, 80]: its 80 lands on the time axis.
  await expectModelError(SpeakerModel.create({ path: toy({ layout: 'bft' }).path, id: 'toy', layout: 'btf' }), /fixed time axis of 80/)
  await expectModelError(SpeakerModel.create({ path: toy().path, id: 'toy', outputDim: 256 }), /declares 192 dimensions, configured 256/)
})

Model('checks the output size ONNX Runtime infers even when the file leaves it symbolic', async () => {
  const F = 80
  const bytes = encodeOnnxModel({
    opset: 13,
    inputs: [{ name: 'feats', dims: ['B', 'T', F] }],
    outputs: [{ name: 'embs', dims: ['B', 'D'] }],
    initializers: [{ name: 'W', dims: [F, 48], data: projection(F, 48) }],
    nodes: [
      { op: 'ReduceMax', inputs: ['feats'], outputs: ['mx'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'MatMul', inputs: ['mx', 'W'], outputs: ['embs'] }
    ]
  })
  const path = save(bytes)
  const model = await SpeakerModel.create({ path, id: 'toy' })
  assert.is(model.dim, 48)
  await model.close()
  await expectModelError(SpeakerModel.create({ path, id: 'toy', outputDim: 192 }), /declares 48 dimensions, configured 192/)
})

Model('learns a data-dependent output size from the probe run and refuses it changing later', async () => {
  // Max over features: [1, T] — a nonsense embedding whose size only running the model reveals.
  const bytes = encodeOnnxModel({
    opset: 13,
    inputs: [{ name: 'feats', dims: [1, 'T', 80] }],
    outputs: [{ name: 'embs', dims: [1, 'D'] }],
    initializers: [],
    nodes: [{ op: 'ReduceMax', inputs: ['feats'], outputs: ['embs'], attrs: { axes: [2], keepdims: 0 } }]
  })
  const path = save(bytes)
  await expectModelError(SpeakerModel.create({ path, id: 'toy', outputDim: 192 }), /produced 200 dimensions, configured 192/)
  const model = await SpeakerModel.create({ path, id: 'toy' })
  assert.is(model.dim, 200) // the probe's frame count
  await expectModelError(model.embed(features(6)), /produced 198 dimensions, 200 at load/)
  await model.close()
})

Model('refuses a model with a second input with ERR_MODEL', async () => {
  const bytes = encodeOnnxModel({
    opset: 13,
    inputs: [{ name: 'feats', dims: [1, 'T', 80] }, { name: 'bias', dims: [1, 80] }],
    outputs: [{ name: 'out', dims: [1, 80] }],
    initializers: [],
    nodes: [
      { op: 'ReduceMean', inputs: ['feats'], outputs: ['m'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'Add', inputs: ['m', 'bias'], outputs: ['out'] }
    ]
  })
  await expectModelError(SpeakerModel.create({ path: save(bytes), id: 'toy', inputName: 'feats' }), /2 inputs/)
  await expectModelError(SpeakerModel.create({ path: save(bytes), id: 'toy' }), /set model.inputName/)
})

Model('refuses an all-zero embedding with ERR_MODEL instead of dividing by zero', async () => {
  const model = await SpeakerModel.create({ path: toy({ weights: new Float32Array(80 * 192) }).path, id: 'toy' })
  await expectModelError(model.embed(features(4)), /all-zero/)
  await model.close()
})

Model('checks features against the model and refuses use after close', async () => {
  const model = await SpeakerModel.create({ path: toy().path, id: 'toy' })
  const f = features(5)
  try {
    await model.embed({ frames: f.frames, bins: 40, data: f.data })
    assert.unreachable('bins')
  } catch (e) { assert.instance(e, RangeError) }
  try {
    await model.embed({ frames: f.frames + 1, bins: 80, data: f.data })
    assert.unreachable('frames')
  } catch (e) { assert.instance(e, RangeError) }
  await model.close()
  await expectModelError(model.embed(f), /closed/)
})

Model('refuses an invalid configuration with TypeError/RangeError before touching the file', async () => {
  const { path } = toy()
  for (const [init, type] of [
    [{ path, id: 'has space' }, TypeError],
    [{ path, id: 'toy', layout: 'tbf' }, TypeError],
    [{ path, id: 'toy', outputDim: 0 }, RangeError],
    [{ path, id: 'toy', typo: 1 }, TypeError],
    [{ path: '', id: 'toy' }, TypeError]
  ] as const) {
    try {
      await SpeakerModel.create(init as never)
      assert.unreachable(JSON.stringify(init))
    } catch (e) { assert.instance(e, type, String(e)) }
  }
})

Model.run()
