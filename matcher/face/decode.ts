/**
 * Photo decoding with sharp: JPEG, PNG, WebP (and whatever else libvips
 * reads) into interleaved 8-bit RGB, EXIF orientation applied, greyscale
 * expanded to three channels and alpha dropped, so everything downstream sees
 * one pixel layout. Also the letterbox scaling that fits a photo into the
 * detector's square input.
 *
 * @module
 */
import sharp from 'sharp'
import { abytes } from '../../crypto/bytes.ts'
import { DecodeError, TooLargeError } from '../../crypto/errors.ts'
import { resizeBilinear } from './resize.ts'

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number
  height: number
  /** `width·height·3` bytes: R, G, B per pixel. A face photo: wipe after use. */
  data: Uint8Array
}

/**
 * Decode an encoded photo into RGB.
 *
 * @param bytes - the encoded image (JPEG, PNG, WebP, …)
 * @param limits - refuse more encoded bytes or decoded pixels than these
 * @returns the upright RGB image
 * @throws {TypeError} when `bytes` is not a Uint8Array
 * @throws {TooLargeError} ERR_TOO_LARGE when `bytes` exceeds `limits.maxBytes`
 * @throws {DecodeError} ERR_DECODE when the bytes are not a readable image or exceed `limits.maxPixels`
 * @example const img = await decodeImage(await readFile('me.jpg'), { maxBytes: 20e6, maxPixels: 40e6 })
 */
export async function decodeImage (bytes: Uint8Array, limits: { maxBytes: number, maxPixels: number }): Promise<RgbImage> {
  abytes(bytes, undefined, 'imageBytes')
  if (bytes.length > limits.maxBytes) throw new TooLargeError('image', bytes.length, limits.maxBytes)
  if (bytes.length === 0) throw new DecodeError('image is empty')
  let out: { data: Buffer, info: { width: number, height: number, channels: number } }
  try {
    out = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .rotate() // apply EXIF orientation, then forget it
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
  } catch (e) {
    throw new DecodeError(`image could not be decoded: ${(e as Error).message}`)
  }
  const { width, height, channels } = out.info
  const src = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength)
  if (channels === 3) return { width, height, data: src }
  // Greyscale (1) or grey+alpha (2, when removeAlpha left it): replicate the grey channel.
  if (channels !== 1 && channels !== 2) throw new DecodeError(`image has ${channels} channels after decoding`)
  const n = width * height
  const data = new Uint8Array(n * 3)
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const g = src[i * channels]
    data[j] = g
    data[j + 1] = g
    data[j + 2] = g
  }
  src.fill(0)
  return { width, height, data }
}

/**
 * Letterbox scaling for the detector: scale the image so its longer side is
 * `size` (aspect kept). With `upscale` false, images that already fit are
 * left as they are. Upscaling is the default because it is what the shared
 * reference crops were made with: YuNet's landmarks on a 150-px photo placed
 * unscaled in a 640 canvas differ enough to change the embedding (cosine to
 * the reference 0.2–0.97 unscaled, ≥ 0.95 for almost all faces scaled).
 *
 * @param img - the full-resolution image
 * @param size - the detector's input side
 * @param upscale - also enlarge images smaller than `size`
 * @returns the image to detect on and its scale per axis (detector px per source px)
 * @example const { image, sx, sy } = fitForDetector(img, 640, true)
 */
export function fitForDetector (img: RgbImage, size: number, upscale: boolean): { image: RgbImage, sx: number, sy: number } {
  const long = Math.max(img.width, img.height)
  if (long === size || (long < size && !upscale)) return { image: img, sx: 1, sy: 1 }
  const width = Math.min(size, Math.max(1, Math.round(img.width * size / long)))
  const height = Math.min(size, Math.max(1, Math.round(img.height * size / long)))
  return { image: resizeBilinear(img, width, height), sx: width / img.width, sy: height / img.height }
}
