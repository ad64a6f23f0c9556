/**
 * The photo decoder (matcher/face/decode.ts) reads JPEG, PNG and WebP only:
 * every other format libvips knows — SVG, TIFF, GIF, HEIF — is refused by
 * its magic bytes with ERR_DECODE, even when it is a perfectly readable image.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import sharp, { type Sharp } from 'sharp'
import { decodeImage, imageFormat } from '../../matcher/face/decode.ts'
import { utf8, concat } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const Decode = suite('photo formats')
const LIMITS = { maxBytes: 1 << 20, maxPixels: 1 << 20 }
const pixels = sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 200, g: 30, b: 90 } } })
const bytesOf = async (s: Sharp): Promise<Uint8Array> => new Uint8Array(await s.toBuffer())

Decode('JPEG, PNG and WebP decode to RGB', async () => {
  const encoded = [
    ['jpeg', await bytesOf(pixels.clone().jpeg())],
    ['png', await bytesOf(pixels.clone().png())],
    ['webp', await bytesOf(pixels.clone().webp())]
  ] as const
  for (const [format, bytes] of encoded) {
    assert.is(imageFormat(bytes), format)
    const img = await decodeImage(bytes, LIMITS)
    assert.is(img.width, 8, format)
    assert.is(img.data.length, 8 * 6 * 3)
  }
})

Decode('readable SVG, TIFF and GIF images are refused by their magic bytes (ERR_DECODE)', async () => {
  const svg = utf8('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="6"><rect width="8" height="6" fill="red"/></svg>')
  const tiff = await bytesOf(pixels.clone().tiff())
  const gif = await bytesOf(pixels.clone().gif())
  for (const [name, bytes] of [['svg', svg], ['tiff', tiff], ['gif', gif]] as const) {
    // sharp itself would read each of these.
    assert.ok((await sharp(bytes).metadata()).width === 8, `${name} is a readable image`)
    assert.is(imageFormat(bytes), undefined, name)
    let err: unknown
    try { await decodeImage(bytes, LIMITS) } catch (e) { err = e }
    assert.is((err as { code?: string }).code, 'ERR_DECODE', name)
    assert.match((err as Error).message, /not JPEG, PNG or WebP/, name)
  }
})

Decode('HEIF/AVIF (ISO BMFF ftyp boxes), big-endian TIFF and near-misses are refused too', async () => {
  const ftyp = (brand: string): Uint8Array => concat(Uint8Array.of(0, 0, 0, 24), utf8(`ftyp${brand}`), new Uint8Array(64))
  const cases = [
    ftyp('heic'), ftyp('mif1'), ftyp('avif'),
    concat(utf8('MM'), Uint8Array.of(0, 42), new Uint8Array(64)),
    concat(utf8('RIFF'), new Uint8Array(4), utf8('WAVE'), new Uint8Array(64)),
    Uint8Array.of(0xff, 0xd8), Uint8Array.of(0x89, 0x50, 0x4e, 0x47)
  ]
  for (const bytes of cases) assert.is(await codeOfAsync(decodeImage(bytes, LIMITS)), 'ERR_DECODE')
})

Decode.run()
