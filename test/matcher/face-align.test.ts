/**
 * Face alignment (matcher/face/align.ts): Umeyama's similarity estimate
 * against known transforms and an independent least-squares solve, and the
 * bilinear zero-border warp.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { applySimilarity, coverageMask, similarityScale, umeyama, warpSimilarity } from '../../matcher/face/align.ts'
import { ARCFACE_TEMPLATE_112 } from '../../matcher/face/config.ts'

const Align = suite('face align')

const close = (a: number, b: number, eps = 1e-9): boolean => Math.abs(a - b) <= eps

Align('recovers a known similarity transform exactly', () => {
  const s = 2.5; const th = 0.3; const tx = -40; const ty = 17
  const m0 = { a: s * Math.cos(th), b: s * Math.sin(th), tx, ty }
  const src: Array<[number, number]> = [[10, 20], [50, 22], [30, 45], [15, 70], [48, 69]]
  const dst = src.map((p) => applySimilarity(m0, p))
  const m = umeyama(src, dst)
  assert.ok(close(m.a, m0.a) && close(m.b, m0.b) && close(m.tx, m0.tx, 1e-7) && close(m.ty, m0.ty, 1e-7), JSON.stringify(m))
  assert.ok(close(similarityScale(m), s))
})

Align('matches an independent least-squares solve on noisy points', () => {
  const src: Array<[number, number]> = [[101.3, 88.2], [160.1, 90.7], [131, 125.4], [107.9, 151.2], [155.2, 152.8]]
  const dst = ARCFACE_TEMPLATE_112
  const m = umeyama(src, dst)
  // Normal equations of min Σ|dst − (a·x − b·y + tx, b·x + a·y + ty)|² in (a, b, tx, ty).
  const A: number[][] = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
  const r = [0, 0, 0, 0]
  src.forEach(([x, y], i) => {
    const rows = [[x, -y, 1, 0], [y, x, 0, 1]]
    const rhs = [dst[i][0], dst[i][1]]
    rows.forEach((row, k) => { for (let p = 0; p < 4; p++) { r[p] += row[p] * rhs[k]; for (let q = 0; q < 4; q++) A[p][q] += row[p] * row[q] } })
  })
  // Gaussian elimination.
  for (let c = 0; c < 4; c++) {
    for (let k = c + 1; k < 4; k++) {
      const f = A[k][c] / A[c][c]
      for (let q = c; q < 4; q++) A[k][q] -= f * A[c][q]
      r[k] -= f * r[c]
    }
  }
  const sol = [0, 0, 0, 0]
  for (let c = 3; c >= 0; c--) {
    let v = r[c]
    for (let q = c + 1; q < 4; q++) v -= A[c][q] * sol[q]
    sol[c] = v / A[c][c]
  }
  assert.ok(close(m.a, sol[0], 1e-9) && close(m.b, sol[1], 1e-9) && close(m.tx, sol[2], 1e-6) && close(m.ty, sol[3], 1e-6), `${JSON.stringify(m)} vs ${sol}`)
})

Align('never returns a reflection, even when the points are mirrored', () => {
  const src: Array<[number, number]> = [[0, 0], [10, 0], [5, 8], [1, 14], [9, 14]]
  const dst = src.map(([x, y]) => [-x, y] as [number, number])
  const m = umeyama(src, dst)
  // A similarity [[a, -b], [b, a]] has determinant a² + b² > 0: orientation kept.
  assert.ok(m.a * m.a + m.b * m.b > 0)
  const mapped = src.map((p) => applySimilarity(m, p))
  assert.ok(mapped.some((p, i) => Math.hypot(p[0] - dst[i][0], p[1] - dst[i][1]) > 1), 'a proper similarity cannot reproduce a mirror image')
})

Align('rejects degenerate or mismatched point sets', () => {
  assert.throws(() => umeyama([[1, 1], [1, 1]], [[0, 0], [1, 1]]), RangeError)
  assert.throws(() => umeyama([[1, 1], [2, 2]], [[0, 0]]), /dst must have 2 points/)
  assert.throws(() => umeyama([[1, Number.NaN], [2, 2]], [[0, 0], [1, 1]]), /src\[0\]/)
})

function gradient (w: number, h: number): { width: number, height: number, data: Uint8Array } {
  const data = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { const i = (y * w + x) * 3; data[i] = x; data[i + 1] = y; data[i + 2] = (x + y) % 256 }
  return { width: w, height: h, data }
}

Align('the identity warp copies the image', () => {
  const img = gradient(112, 112)
  assert.equal(warpSimilarity(img, { a: 1, b: 0, tx: 0, ty: 0 }, 112), img.data)
})

Align('a half-pixel shift interpolates bilinearly and pads with zeros', () => {
  const img = gradient(8, 8)
  const out = warpSimilarity(img, { a: 1, b: 0, tx: -0.5, ty: 0 }, 8)
  // Output x samples source x + 0.5: red channel = x + 0.5, rounded half away from zero by Math.round.
  assert.is(out[0], 1) // 0.5 → 1 (Math.round)
  assert.is(out[3 * 3], 4) // 3.5 → 4
  // Last column samples x = 7.5: half of pixel 7 and half of the zero border.
  assert.is(out[7 * 3], Math.round(7 * 0.5))
  // Shifting the image fully out leaves black.
  assert.ok(warpSimilarity(img, { a: 1, b: 0, tx: 100, ty: 0 }, 8).every((v) => v === 0))
})

Align('the coverage mask marks where the warp samples inside the photo', () => {
  const m = { a: 1, b: 0, tx: 2, ty: 0 }
  const mask = coverageMask(m, 8, 8, 8)
  assert.equal([...mask.slice(0, 8)], [0, 0, 1, 1, 1, 1, 1, 1])
})

Align.run()
