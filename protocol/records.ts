/**
 * Manifests as DHT records under the `/bioshard/` namespace. The validator
 * accepts only a record whose key names the manifest's own template id, that
 * fits the size bound, and whose tenant signature chains to the authority;
 * the selector prefers an erased manifest over any active one (erasure must
 * never be rolled back by an old record), then the highest `seq`.
 *
 * @module
 */
import { utf8, toHex, equalBytes } from '../crypto/bytes.ts'
import { BioshardError } from '../crypto/errors.ts'
import { decodeManifest, checkManifest, type Manifest } from './manifest.ts'
import type { TrustAnchor } from './certs.ts'
import { MAX_MANIFEST_BYTES, TEMPLATE_ID_BYTES } from './constants.ts'

/** The namespace kad-dht routes to our validator and selector. */
export const RECORD_NAMESPACE = 'bioshard'
const PREFIX = `/${RECORD_NAMESPACE}/`

/** DHT key of a template's manifest: `/bioshard/<hex templateId>`. */
export function manifestKey (templateId: Uint8Array): Uint8Array {
  if (templateId.length !== TEMPLATE_ID_BYTES) throw new RangeError(`templateId must be ${TEMPLATE_ID_BYTES} bytes`)
  return utf8(PREFIX + toHex(templateId))
}

/**
 * Validate a manifest record for `key`. Expiry of the enrolment is not a
 * reason to refuse the record (an expired or erased manifest still tells
 * verifiers the truth); certificate validity is checked at `now`.
 *
 * @throws {BioshardError} ERR_TOO_LARGE, ERR_DECODE, ERR_BAD_SIGNATURE, ERR_NOT_ADMITTED, ERR_BAD_REQUEST
 */
export function validateManifestRecord (key: Uint8Array, value: Uint8Array, anchor: TrustAnchor, now = Date.now()): Manifest {
  if (value.length > MAX_MANIFEST_BYTES) throw new BioshardError('ERR_TOO_LARGE', 'manifest record exceeds its size limit')
  const m = decodeManifest(value)
  if (!equalBytes(key, manifestKey(m.body.templateId))) throw new BioshardError('ERR_BAD_REQUEST', 'record key does not match the manifest template id')
  checkManifest(m, anchor, now, { ignoreExpiry: true })
  return m
}

/** Index of the record to keep: erased beats active, then highest seq, then the first seen. */
export function selectManifestRecord (records: readonly Uint8Array[]): number {
  let best = -1
  let bestRank = -Infinity
  records.forEach((r, i) => {
    let m: Manifest
    try { m = decodeManifest(r) } catch { return }
    const rank = (m.body.state === 'erased' ? 2 ** 52 : 0) + m.body.seq
    if (rank > bestRank) { best = i; bestRank = rank }
  })
  return Math.max(best, 0)
}
