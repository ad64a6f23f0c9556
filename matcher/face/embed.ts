/**
 * Embedder preprocessing: an aligned RGB crop into the model's NCHW float
 * input, each channel `(v/255 − mean)/std`. The ONNX session lives in
 * `models.ts`.
 *
 * @module
 */

/**
 * Build the `[1, 3, size, size]` input of the embedder.
 *
 * @param rgb - `size·size·3` interleaved RGB bytes
 * @param size - the crop side
 * @param mean - per-channel (R, G, B) mean of v/255
 * @param std - per-channel (R, G, B) standard deviation of v/255
 * @returns planar float data (R plane, G plane, B plane)
 * @throws {TypeError} when `rgb` is not a Uint8Array
 * @throws {RangeError} when `rgb` has the wrong length
 * @example const x = embedderInput(crop, 112, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
 */
export function embedderInput (rgb: Uint8Array, size: number, mean: readonly number[], std: readonly number[]): Float32Array {
  if (!(rgb instanceof Uint8Array)) throw new TypeError('rgb must be a Uint8Array')
  const plane = size * size
  if (rgb.length !== plane * 3) throw new RangeError(`rgb must be ${plane * 3} bytes (${size}×${size} RGB), got ${rgb.length}`)
  const out = new Float32Array(plane * 3)
  for (let c = 0; c < 3; c++) {
    // v/255 − mean over std, folded into one multiply-add per value.
    const k = 1 / (255 * std[c])
    const off = -mean[c] / std[c]
    const base = c * plane
    for (let i = 0; i < plane; i++) out[base + i] = rgb[i * 3 + c] * k + off
  }
  return out
}
