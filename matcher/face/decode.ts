/**
 * Photo decoding with sharp: JPEG, PNG and WebP only, into interleaved 8-bit
 * RGB with one pixel layout for everything downstream, and the letterbox
 * scaling that fits a photo into the detector's square input. libvips reads
 * many more formats through native code that runs outside Node's permission
 * model, inside the enclave, so the format is checked by its magic bytes
 * before sharp sees a byte ({@link decodeImage}).
 *
 * @module
 */
import { abytes } from '../../crypto/bytes.ts'
import { DecodeError, TooLargeError } from '../../errors.ts'
import { resizeBilinear } from './resize.ts'
import { sharpFactory } from '../optional-deps.ts'

/** Magic bytes of the accepted formats (JPEG: SOI and a marker, ITU T.81 B.1.1.2; PNG: RFC 2083 3.1; WebP: RIFF container with form type WEBP). */
const JPEG_MAGIC = [0xff, 0xd8, 0xff]
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const RIFF_MAGIC = [0x52, 0x49, 0x46, 0x46] // 'RIFF', then a 4-byte length
const WEBP_FORM = [0x57, 0x45, 0x42, 0x50] // 'WEBP' at offset 8

/** The accepted photo formats. */
export type ImageFormat = 'jpeg' | 'png' | 'webp'

function startsWith (bytes: Uint8Array, magic: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + magic.length) return false
  for (let i = 0; i < magic.length; i++) if (bytes[offset + i] !== magic[i]) return false
  return true
}

/**
 * The format of an encoded photo from its magic bytes, or undefined when it
 * is none of JPEG, PNG and WebP.
 *
 * @param bytes - the encoded image
 * @returns 'jpeg', 'png', 'webp' or undefined
 * @example imageFormat(await readFile('me.jpg')) // 'jpeg'
 */
export function imageFormat (bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, JPEG_MAGIC)) return 'jpeg'
  if (startsWith(bytes, PNG_MAGIC)) return 'png'
  if (startsWith(bytes, RIFF_MAGIC) && startsWith(bytes, WEBP_FORM, 8)) return 'webp'
  return undefined
}

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number
  height: number
  /** `width·height·3` bytes: R, G, B per pixel. A face photo: wipe after use. */
  data: Uint8Array
}

/**
 * Decode an encoded photo into RGB: EXIF orientation applied, greyscale
 * expanded to three channels and alpha dropped. libvips reads SVG, TIFF, GIF,
 * HEIF, PDF and more, so anything but the three photo formats is refused by
 * its magic bytes before sharp sees it.
 *
 * @param bytes - the encoded image: JPEG, PNG or WebP
 * @param limits - refuse more encoded bytes or decoded pixels than these
 * @returns the upright RGB image
 * @throws {TypeError} when `bytes` is not a Uint8Array
 * @throws {TooLargeError} ERR_TOO_LARGE when `bytes` exceeds `limits.maxBytes`
 * @throws {DecodeError} ERR_DECODE when the bytes are not JPEG, PNG or WebP by their magic bytes (checked before decoding),
 *   are not a readable image, or exceed `limits.maxPixels`
 * @example const img = await decodeImage(await readFile('me.jpg'), { maxBytes: 20e6, maxPixels: 40e6 })
 */
export async function decodeImage (bytes: Uint8Array, limits: { maxBytes: number, maxPixels: number }): Promise<RgbImage> {
  abytes(bytes, undefined, 'imageBytes')
  if (bytes.length > limits.maxBytes) throw new TooLargeError('image', bytes.length, limits.maxBytes)
  if (bytes.length === 0) throw new DecodeError('image is empty')
  // Before sharp: libvips would otherwise pick a loader for whatever the bytes claim to be.
  if (imageFormat(bytes) === undefined) throw new DecodeError('image is not JPEG, PNG or WebP')
  const sharp = await sharpFactory()
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
