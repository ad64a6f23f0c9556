/**
 * Face quality: how many source pixels the aligned face spans, and how sharp
 * the aligned crop is (variance of its Laplacian on grey values, over the
 * face's central region and only where the crop samples the photo, so that
 * the zero border's edge does not count as detail).
 * Both are mapped to 0..1 and combined by geometric mean, so a face that is
 * either tiny or blurred scores low.
 *
 * @module
 */
import type { QualityConfig } from './config.ts'

/** Quality of one aligned face. */
export interface FaceQuality {
  /** Combined score in [0, 1]. */
  score: number
  /** Source pixels spanned by the crop's side (crop side / transform scale). */
  faceSize: number
  /** Variance of the 4-neighbour Laplacian of the grey crop's central region. */
  sharpness: number
}

/**
 * Variance of the 4-neighbour Laplacian over the central region of an RGB
 * crop (the middle half horizontally, rows from 25 % to 90 %: eyes to
 * chin), skipping pixels whose neighbourhood leaves the photo.
 *
 * @param rgb - `size·size·3` bytes
 * @param size - the crop side
 * @param mask - optional `size·size` coverage (1 = sampled from the photo), see `coverageMask`
 * @returns the variance (grey levels squared); 0 when no pixel qualifies
 * @throws {RangeError} when `rgb` or `mask` has the wrong length
 * @example laplacianVariance(crop, 112, mask)
 */
export function laplacianVariance (rgb: Uint8Array, size: number, mask?: Uint8Array): number {
  if (!(rgb instanceof Uint8Array) || rgb.length !== size * size * 3) throw new RangeError(`rgb must be ${size * size * 3} bytes`)
  if (mask !== undefined && (!(mask instanceof Uint8Array) || mask.length !== size * size)) throw new RangeError(`mask must be ${size * size} bytes`)
  const grey = new Float32Array(size * size)
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]
  const x0 = Math.max(1, Math.floor(size * 0.25)); const x1 = Math.min(size - 1, Math.ceil(size * 0.75))
  const y0 = Math.max(1, Math.floor(size * 0.25)); const y1 = Math.min(size - 1, Math.ceil(size * 0.9))
  let sum = 0; let sum2 = 0; let n = 0
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * size + x
      if (mask !== undefined && (mask[i] & mask[i - 1] & mask[i + 1] & mask[i - size] & mask[i + size]) === 0) continue
      const l = grey[i - 1] + grey[i + 1] + grey[i - size] + grey[i + size] - 4 * grey[i]
      sum += l; sum2 += l * l; n++
    }
  }
  grey.fill(0)
  if (n === 0) return 0
  const mean = sum / n
  return Math.max(0, sum2 / n - mean * mean)
}

const clamp01 = (v: number): number => v < 0 ? 0 : v > 1 ? 1 : v

/**
 * Combine face size and sharpness into one score: size maps linearly from
 * `minFaceSize` (0) to `goodFaceSize` (1); sharpness maps logarithmically
 * from `minSharpness` (0) to `goodSharpness` (1), since blur lowers the
 * Laplacian variance by orders of magnitude; the score is their geometric mean.
 *
 * @param faceSize - source pixels spanned by the crop side
 * @param sharpness - {@link laplacianVariance} of the crop
 * @param cfg - the quality limits
 * @returns the quality report
 * @example faceQuality(140, 230, resolveFaceConfig().quality).score // 1
 */
export function faceQuality (faceSize: number, sharpness: number, cfg: QualityConfig): FaceQuality {
  const size = clamp01((faceSize - cfg.minFaceSize) / (cfg.goodFaceSize - cfg.minFaceSize))
  const sharp = sharpness <= cfg.minSharpness ? 0 : clamp01(Math.log(sharpness / cfg.minSharpness) / Math.log(cfg.goodSharpness / cfg.minSharpness))
  return { score: Math.sqrt(size * sharp), faceSize, sharpness }
}
