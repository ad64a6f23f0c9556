/**
 * What a sealed share is bound to. A holder seals its share to the enclave
 * with, as HPKE associated data, the hash of the fetch request, the request's
 * time and the digest of the manifest the holder stored. The enclave
 * recomputes the same binding from what the host hands it, so a share opens
 * only for the request it was fetched with (which the enclave consumes once),
 * only while that request is fresh, and only under the manifest the holder
 * holds: a host that forges or alters the manifest (another threshold, other
 * commitments) opens nothing.
 *
 * Pure: imports only crypto/, so the enclave child can load it.
 *
 * @module
 */
import { abytes } from '../crypto/bytes.ts'
import { taggedHash } from '../crypto/hash.ts'
import { HASH } from '../crypto/tags.ts'

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
