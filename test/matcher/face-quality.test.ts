/**
 * Face quality (matcher/face/quality.ts): Laplacian-variance sharpness on
 * synthetic crops and the size/sharpness combination.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { faceQuality, laplacianVariance } from '../../matcher/face/quality.ts'
import { resolveFaceConfig } from '../../matcher/face/config.ts'

const Quality = suite('face quality')
const N = 112
const Q = resolveFaceConfig().quality

function crop (f: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(N * N * 3)
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) out.fill(f(x, y), (y * N + x) * 3, (y * N + x) * 3 + 3)
  return out
}

Quality('a flat crop has zero sharpness, a checkerboard a large one, a smooth ramp almost none', () => {
  assert.is(laplacianVariance(crop(() => 128), N), 0)
  const checker = laplacianVariance(crop((x, y) => ((x + y) & 1) === 0 ? 0 : 255), N)
  assert.ok(checker > 1e5, String(checker))
  assert.ok(laplacianVariance(crop((x) => x * 2), N) < 1e-6)
})

Quality('pixels on the zero border are ignored when a coverage mask is given', () => {
  // Left half black (border), right half flat grey: the edge is the border's, not the face's.
  const rgb = crop((x) => x < 56 ? 0 : 128)
  const mask = new Uint8Array(N * N)
  for (let y = 0; y < N; y++) for (let x = 56; x < N; x++) mask[y * N + x] = 1
  assert.ok(laplacianVariance(rgb, N) > 100)
  assert.is(laplacianVariance(rgb, N, mask), 0)
})

Quality('a large sharp face scores 1; a tiny or blurred one scores low', () => {
  assert.is(faceQuality(300, 500, Q).score, 1)
  assert.is(faceQuality(Q.minFaceSize, 500, Q).score, 0)
  assert.is(faceQuality(300, Q.minSharpness, Q).score, 0)
  const mid = faceQuality(72, Math.sqrt(Q.minSharpness * Q.goodSharpness), Q).score
  assert.ok(Math.abs(mid - Math.sqrt(0.5 * 0.5)) < 1e-9, String(mid))
})

Quality('rejects a crop of the wrong size', () => {
  assert.throws(() => laplacianVariance(new Uint8Array(10), N), RangeError)
  assert.throws(() => laplacianVariance(crop(() => 0), N, new Uint8Array(5)), /mask/)
})

Quality.run()
