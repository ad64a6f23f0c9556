/**
 * Face matcher configuration (matcher/face/config.ts): defaults, overrides
 * and field-by-field validation.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { ARCFACE_TEMPLATE_112, DETECTOR_FILE, EMBEDDER_FILE, SHARED_FACE_MODEL_ID, resolveFaceConfig } from '../../matcher/face/config.ts'
import type { FaceMatcherInit } from '../../matcher/face/config.ts'

const Config = suite('face config')

Config('defaults describe the shared models, the ArcFace template and one thread', () => {
  const c = resolveFaceConfig()
  assert.is(c.embedder.modelId, SHARED_FACE_MODEL_ID)
  assert.is(c.embedder.modelId, 'mobilefacenet-foamliu-a6cc9032')
  assert.equal(c.embedder.template, ARCFACE_TEMPLATE_112.map(([x, y]) => [x, y]))
  assert.equal(c.embedder.mean, [0.485, 0.456, 0.406])
  assert.equal(c.embedder.std, [0.229, 0.224, 0.225])
  assert.is(c.detector.inputSize, 640)
  assert.is(c.intraOpThreads, 1)
})

Config('modelDir points both models at a user directory; single fields override', () => {
  const c = resolveFaceConfig({ modelDir: '/opt/m', embedder: { modelId: 'acme-face-v2' }, quality: { floor: 0.5 }, intraOpThreads: 2 })
  assert.is(c.detector.model, join('/opt/m', DETECTOR_FILE))
  assert.is(c.embedder.model, join('/opt/m', EMBEDDER_FILE))
  assert.is(c.embedder.modelId, 'acme-face-v2')
  assert.is(c.quality.floor, 0.5)
  assert.is(c.quality.goodFaceSize, 112)
  assert.is(c.intraOpThreads, 2)
})

Config('rejects invalid fields naming them', () => {
  const cases: Array<[FaceMatcherInit, RegExp]> = [
    [{ intraOpThreads: 0 }, /intraOpThreads/],
    [{ intraOpThreads: 1.5 }, /intraOpThreads/],
    [{ quality: { floor: 2 } }, /quality\.floor/],
    [{ detector: { inputSize: 100 } }, /detector\.inputSize/],
    [{ detector: { scoreThreshold: Number.NaN } }, /detector\.scoreThreshold/],
    [{ detector: { upscale: 'yes' as unknown as boolean } }, /detector\.upscale/],
    [{ embedder: { modelId: 'bad id' } }, /embedder\.modelId/],
    [{ embedder: { std: [1, 0, 1] } }, /embedder\.std\[1\]/],
    [{ embedder: { template: [[1, 2]] } }, /embedder\.template/],
    [{ modelDir: '' }, /modelDir/],
    [{ quality: { minSharpness: 200 } }, /goodSharpness/]
  ]
  for (const [init, re] of cases) assert.throws(() => resolveFaceConfig(init), re, JSON.stringify(init))
})

Config.run()
