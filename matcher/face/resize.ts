/**
 * Bilinear resize of an RGB image, bit-compatible in intent with OpenCV
 * `resize(..., INTER_LINEAR)` on 8-bit images: output pixel x samples the
 * source at (x + 0.5)·(srcW/dstW) − 0.5, clamped to the edge, with weights
 * quantised to 11 bits and OpenCV's integer rounding. No antialiasing
 * prefilter when shrinking. Why this exactness: the shared reference crops
 * were made this way, and YuNet's landmarks on an upscaled photo move with
 * one-grey-level differences in its input (a float resize left one reference
 * face at cosine 0.97 that this one reproduces at 0.998).
 *
 * @module
 */
import type { RgbImage } from './decode.ts'

const COEF_ONE = 2048 // 1 << 11, OpenCV INTER_RESIZE_COEF_BITS

/** Per-axis source index pairs and 11-bit weights of the second one. */
function axis (src: number, dst: number): { i0: Int32Array, i1: Int32Array, w: Int32Array } {
  const i0 = new Int32Array(dst)
  const i1 = new Int32Array(dst)
  const w = new Int32Array(dst)
  const scale = src / dst
  for (let d = 0; d < dst; d++) {
    let f = (d + 0.5) * scale - 0.5
    let s = Math.floor(f)
    f -= s
    if (s < 0) { s = 0; f = 0 }
    if (s >= src - 1) { s = src - 1; f = 0 }
    i0[d] = s
    i1[d] = Math.min(s + 1, src - 1)
    w[d] = Math.round(f * COEF_ONE)
  }
  return { i0, i1, w }
}

/**
 * Resize `img` to `width`×`height`.
 *
 * @param img - source image
 * @param width - output width (≥ 1)
 * @param height - output height (≥ 1)
 * @returns a new image
 * @throws {RangeError} for a non-positive size
 * @example const small = resizeBilinear(img, 640, 480)
 */
export function resizeBilinear (img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || width < 1) throw new RangeError('width must be a positive integer')
  if (!Number.isInteger(height) || height < 1) throw new RangeError('height must be a positive integer')
  const xs = axis(img.width, width)
  const ys = axis(img.height, height)
  const src = img.data
  const sw = img.width * 3
  const out = new Uint8Array(width * height * 3)
  let o = 0
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y] * sw
    const r1 = ys.i1[y] * sw
    const fy = ys.w[y]
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x] * 3
      const c1 = xs.i1[x] * 3
      const fx = xs.w[x]
      for (let c = 0; c < 3; c++) {
        // Horizontal pass in 11-bit fixed point, then OpenCV's vertical
        // combine: ((b0·(S0 >> 4)) >> 16) + ((b1·(S1 >> 4)) >> 16), rounded >> 2.
        const s0 = src[r0 + c0 + c] * (COEF_ONE - fx) + src[r0 + c1 + c] * fx
        const s1 = src[r1 + c0 + c] * (COEF_ONE - fx) + src[r1 + c1 + c] * fx
        out[o++] = ((((COEF_ONE - fy) * (s0 >> 4)) >> 16) + ((fy * (s1 >> 4)) >> 16) + 2) >> 2
      }
    }
  }
  return { width, height, data: out }
}
