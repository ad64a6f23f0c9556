/**
 * Face alignment: the similarity transform that best maps the five detected
 * landmarks onto the embedder's template (Umeyama 1991, no reflection), and a
 * bilinear warp with a zero border into the N×N crop the embedder expects
 * (the same sampling as OpenCV `warpAffine(..., INTER_LINEAR, BORDER_CONSTANT)`:
 * pixel centres at integer coordinates).
 *
 * @module
 */
import type { RgbImage } from './decode.ts'

/** A 2×3 similarity `[[a, -b, tx], [b, a, ty]]`: dst = s·R·src + t with a = s·cos θ, b = s·sin θ. */
export interface Similarity {
  a: number
  b: number
  tx: number
  ty: number
}

/**
 * Least-squares similarity (rotation, uniform scale, translation; never a
 * reflection) mapping `src` points onto `dst` points: Umeyama's estimator.
 *
 * Umeyama takes the SVD A = U·S·Vᵀ of the cross-covariance
 * A = (1/n)·Σ (dᵢ − μd)(sᵢ − μs)ᵀ, sets D = diag(1, sign det A) to exclude a
 * reflection, R = U·D·Vᵀ and scale c = tr(S·D)/σ²s. For 2×2 matrices that
 * solution has a closed form: R is the rotation by
 * θ = atan2(A₁₀ − A₀₁, A₀₀ + A₁₁) and tr(S·D) = √((A₀₀ + A₁₁)² + (A₁₀ − A₀₁)²),
 * whatever the sign of det A, so no iterative SVD is needed.
 *
 * @param src - n ≥ 2 source points
 * @param dst - n destination points
 * @returns the transform mapping src onto dst
 * @throws {TypeError} when the point lists are malformed
 * @throws {RangeError} when their lengths differ, n < 2, or the points are degenerate
 * @example umeyama(landmarks, ARCFACE_TEMPLATE_112)
 */
export function umeyama (src: ReadonlyArray<readonly [number, number]>, dst: ReadonlyArray<readonly [number, number]>): Similarity {
  if (!Array.isArray(src)) throw new TypeError('src must be an array of [x, y] points')
  if (!Array.isArray(dst)) throw new TypeError('dst must be an array of [x, y] points')
  if (src.length !== dst.length) throw new RangeError(`dst must have ${src.length} points, got ${dst.length}`)
  const n = src.length
  if (n < 2) throw new RangeError('src must have at least 2 points')
  let msx = 0; let msy = 0; let mdx = 0; let mdy = 0
  for (let i = 0; i < n; i++) {
    const s = src[i]; const d = dst[i]
    if (!Array.isArray(s) || s.length !== 2 || !Number.isFinite(s[0]) || !Number.isFinite(s[1])) throw new TypeError(`src[${i}] must be a finite [x, y]`)
    if (!Array.isArray(d) || d.length !== 2 || !Number.isFinite(d[0]) || !Number.isFinite(d[1])) throw new TypeError(`dst[${i}] must be a finite [x, y]`)
    msx += s[0]; msy += s[1]; mdx += d[0]; mdy += d[1]
  }
  msx /= n; msy /= n; mdx /= n; mdy /= n
  let a00 = 0; let a01 = 0; let a10 = 0; let a11 = 0; let varS = 0
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - msx; const sy = src[i][1] - msy
    const dx = dst[i][0] - mdx; const dy = dst[i][1] - mdy
    a00 += dx * sx; a01 += dx * sy; a10 += dy * sx; a11 += dy * sy
    varS += sx * sx + sy * sy
  }
  a00 /= n; a01 /= n; a10 /= n; a11 /= n; varS /= n
  const p = a00 + a11
  const q = a10 - a01
  const trace = Math.hypot(p, q)
  if (!(varS > 0) || !(trace > 0)) throw new RangeError('src and dst must not be degenerate (all points equal)')
  const scale = trace / varS
  const a = scale * p / trace // scale·cos θ
  const b = scale * q / trace // scale·sin θ
  return { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) }
}

/**
 * Apply a similarity to a point.
 *
 * @example applySimilarity(m, [10, 20])
 */
export function applySimilarity (m: Similarity, p: readonly [number, number]): [number, number] {
  return [m.a * p[0] - m.b * p[1] + m.tx, m.b * p[0] + m.a * p[1] + m.ty]
}

/** The scale factor of a similarity (destination px per source px). */
export function similarityScale (m: Similarity): number {
  return Math.hypot(m.a, m.b)
}

/**
 * Which crop pixels sample the source inside its bounds (all four bilinear
 * neighbours in the image): 1 inside, 0 where the zero border shows. Lets
 * quality measures ignore the border's artificial edges.
 *
 * @param m - similarity mapping source to crop coordinates
 * @param width - source width
 * @param height - source height
 * @param size - the crop side
 * @returns `size·size` bytes
 * @example const mask = coverageMask(m, img.width, img.height, 112)
 */
export function coverageMask (m: Similarity, width: number, height: number, size: number): Uint8Array {
  const det = m.a * m.a + m.b * m.b
  if (!(det > 0) || !Number.isFinite(det)) throw new RangeError('m must be invertible')
  const ia = m.a / det
  const ib = m.b / det
  const out = new Uint8Array(size * size)
  for (let y = 0; y < size; y++) {
    const ry = y - m.ty
    for (let x = 0; x < size; x++) {
      const rx = x - m.tx
      const sx = ia * rx + ib * ry
      const sy = -ib * rx + ia * ry
      out[y * size + x] = sx >= 0 && sy >= 0 && sx <= width - 1 && sy <= height - 1 ? 1 : 0
    }
  }
  return out
}

/**
 * Warp `img` into a `size`×`size` RGB crop: each output pixel (x, y) samples
 * the source at M⁻¹·(x, y) bilinearly; source pixels outside the image count
 * as black (zero border).
 *
 * @param img - the source image
 * @param m - similarity mapping source to crop coordinates
 * @param size - the crop side
 * @returns `size·size·3` RGB bytes
 * @throws {RangeError} when `m` is singular or `size` is not a positive integer
 * @example const crop = warpSimilarity(img, umeyama(landmarks, template), 112)
 */
export function warpSimilarity (img: RgbImage, m: Similarity, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer')
  const det = m.a * m.a + m.b * m.b
  if (!(det > 0) || !Number.isFinite(det)) throw new RangeError('m must be invertible')
  // Inverse of [[a, -b], [b, a]] is [[a, b], [-b, a]] / det.
  const ia = m.a / det
  const ib = m.b / det
  const { width, height, data } = img
  const out = new Uint8Array(size * size * 3)
  const px = [0, 0, 0, 0]
  for (let y = 0; y < size; y++) {
    const ry = y - m.ty
    for (let x = 0; x < size; x++) {
      const rx = x - m.tx
      const sx = ia * rx + ib * ry
      const sy = -ib * rx + ia * ry
      const x0 = Math.floor(sx)
      const y0 = Math.floor(sy)
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) continue // all four neighbours outside: stays 0
      const fx = sx - x0
      const fy = sy - y0
      const w00 = (1 - fx) * (1 - fy); const w01 = fx * (1 - fy); const w10 = (1 - fx) * fy; const w11 = fx * fy
      const inX0 = x0 >= 0; const inX1 = x0 + 1 < width; const inY0 = y0 >= 0; const inY1 = y0 + 1 < height
      px[0] = inY0 && inX0 ? (y0 * width + x0) * 3 : -1
      px[1] = inY0 && inX1 ? (y0 * width + x0 + 1) * 3 : -1
      px[2] = inY1 && inX0 ? ((y0 + 1) * width + x0) * 3 : -1
      px[3] = inY1 && inX1 ? ((y0 + 1) * width + x0 + 1) * 3 : -1
      const o = (y * size + x) * 3
      for (let c = 0; c < 3; c++) {
        const v = (px[0] >= 0 ? w00 * data[px[0] + c] : 0) + (px[1] >= 0 ? w01 * data[px[1] + c] : 0) +
          (px[2] >= 0 ? w10 * data[px[2] + c] : 0) + (px[3] >= 0 ? w11 * data[px[3] + c] : 0)
        out[o + c] = Math.round(v) // a convex combination of bytes stays in [0, 255]
      }
    }
  }
  return out
}
