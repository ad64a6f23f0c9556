/**
 * What a sealed share is bound to: its `info` names the share (template id
 * and x), its associated data the fetch request's hash and time and the
 * digest of the manifest the holder stored. The enclave recomputes both from
 * what the host hands it, so a share opens only as itself, for the request
 * it was fetched with, while that request is fresh, under the holder's
 * manifest. Pure (imports only crypto/), so the enclave child loads it.
 *
 * @module
 */
import { abytes, aint, concat, utf8 } from '../crypto/bytes.ts'
import { taggedHash } from '../crypto/hash.ts'
import { AEAD, HASH } from '../crypto/tags.ts'
import { TEMPLATE_ID_BYTES } from '../crypto/constants.ts'

const SHARE_SEAL_PREFIX = utf8(AEAD.HPKE_SHARE_SEAL)

/** Bytes of a SHA-256 digest (request hash, manifest digest, binding). */
const DIGEST_BYTES = 32

/** 8-byte big-endian encoding of a non-negative safe integer (a time in ms). */
function u64be (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`time must be a non-negative safe integer (ms), got ${n}`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

/**
 * Digest of one exact manifest: its canonical bytes, as `encodeManifest`
 * produces them and holders store them.
 *
 * @param manifestBytes - canonical manifest bytes
 * @returns 32-byte digest
 * @throws {TypeError} when `manifestBytes` is not a Uint8Array
 * @example const digest = manifestDigest(encodeManifest(manifest))
 */
export function manifestDigest (manifestBytes: Uint8Array): Uint8Array {
  abytes(manifestBytes, undefined, 'manifestBytes')
  return taggedHash(HASH.MANIFEST_DIGEST, manifestBytes)
}

/**
 * The HPKE AAD of a share sealed for one fetch request under one manifest.
 *
 * @param request - 32-byte fetch request hash (`fetchRequestHash`)
 * @param time - the request's own time (ms since the epoch, `req.body.time`)
 * @param manifest - 32-byte {@link manifestDigest} of the manifest the holder stores
 * @returns 32-byte binding
 * @throws {TypeError|RangeError} naming a malformed argument
 * @example const aad = sealBinding(requestHash, req.body.time, manifestDigest(storedManifestBytes))
 */
export function sealBinding (request: Uint8Array, time: number, manifest: Uint8Array): Uint8Array {
  abytes(request, DIGEST_BYTES, 'request')
  abytes(manifest, DIGEST_BYTES, 'manifest')
  return taggedHash(HASH.SEAL_BINDING, request, u64be(time), manifest)
}

/**
 * The `info` a holder seals share `x` of `templateId` under: the share's
 * message key depends on it, so a sealed share cannot be presented as another
 * template's or another x's.
 *
 * @param templateId - 32-byte template id
 * @param x - the share's x-coordinate, 1 to 255
 * @returns `"bioshard/v1/hpke/share-seal" || templateId || x`
 * @throws {TypeError|RangeError} naming a malformed argument
 * @example const info = shareSealInfo(templateId, 2)
 */
export function shareSealInfo (templateId: Uint8Array, x: number): Uint8Array {
  return concat(SHARE_SEAL_PREFIX, abytes(templateId, TEMPLATE_ID_BYTES, 'templateId'), Uint8Array.of(aint(x, 1, 255, 'x')))
}
