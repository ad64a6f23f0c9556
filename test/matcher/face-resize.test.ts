/**
 * Bilinear resize (matcher/face/resize.ts): OpenCV INTER_LINEAR sampling
 * positions and fixed-point rounding.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { resizeBilinear } from '../../matcher/face/resize.ts'

const Resize = suite('face resize')

const grey = (w: number, h: number, v: number[]): { width: number, height: number, data: Uint8Array } =>
  ({ width: w, height: h, data: Uint8Array.from(v.flatMap((g) => [g, g, g])) })

Resize('enlarging [0, 255] to four pixels gives OpenCV\'s [0, 64, 191, 255]', () => {
  const out = resizeBilinear(grey(2, 1, [0, 255]), 4, 1)
  assert.equal([...out.data].filter((_, i) => i % 3 === 0), [0, 64, 191, 255])
})

Resize('halving averages pixel pairs (samples fall between them)', () => {
  const out = resizeBilinear(grey(4, 2, [0, 100, 200, 250, 0, 100, 200, 250]), 2, 1)
  assert.equal([...out.data].filter((_, i) => i % 3 === 0), [50, 225])
})

Resize('same size is a copy; channels stay separate', () => {
  const img = { width: 2, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }
  assert.equal(resizeBilinear(img, 2, 2).data, img.data)
  assert.throws(() => resizeBilinear(img, 0, 2), /width/)
})

Resize.run()
