/**
 * Manifests as DHT records under `/bioshard/<tenantTag>/<templateId>`
 * (protocol/ownership.ts). The validator accepts only a record whose key
 * names the manifest's own tenant and template id, that fits the size bound,
 * and whose tenant signature chains to the authority; so every record under
 * one key is signed by one tenant. The selector prefers an erased manifest
 * over any active one (erasure must never be rolled back by an old record),
 * then the highest `seq`.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { decodeManifest, checkManifest, type Manifest } from './manifest.ts'
import type { SignatureChecker, TrustAnchor } from './certs.ts'
import { MAX_MANIFEST_BYTES } from './constants.ts'
import { isManifestKeyOf, parseManifestKey } from './ownership.ts'

/**
 * Validate a manifest record for `key`. Expiry of the enrolment is not a
 * reason to refuse the record (an expired or erased manifest still tells
 * verifiers the truth); certificate validity is checked at `now`.
 *
 * @throws {BioshardError} ERR_TOO_LARGE, ERR_DECODE, ERR_BAD_SIGNATURE, ERR_NOT_ADMITTED, ERR_NOT_AUTHORISED
 */
export function validateManifestRecord (
  key: Uint8Array, value: Uint8Array, anchor: TrustAnchor, options: { now?: number, signatures?: SignatureChecker } = {}
): Manifest {
  const { now = Date.now(), signatures } = options
  parseManifestKey(key)
  if (value.length > MAX_MANIFEST_BYTES) throw new BioshardError('ERR_TOO_LARGE', 'manifest record exceeds its size limit')
  const m = decodeManifest(value)
  // Ownership from the key alone: the key names the signing tenant and the id.
  if (!isManifestKeyOf(key, m.body.tenant, m.body.templateId)) {
    throw new BioshardError('ERR_NOT_AUTHORISED', 'record key does not name the manifest\'s tenant and template id')
  }
  checkManifest(m, anchor, now, { ignoreExpiry: true, ...(signatures !== undefined ? { signatures } : {}) })
  return m
}

/** Index of the record to keep: erased beats active, then highest seq, then the first seen. */
export function selectManifestRecord (records: readonly Uint8Array[]): number {
  let best = -1
  let bestBody: Manifest['body'] | undefined
  records.forEach((r, i) => {
    let m: Manifest
    try { m = decodeManifest(r) } catch { return }
    if (bestBody === undefined || prefers(m.body, bestBody)) { best = i; bestBody = m.body }
  })
  return Math.max(best, 0)
}

/**
 * True when manifest body `a` should replace `b` (both under one key, so of
 * one tenant): an erased manifest beats an active one, then the higher `seq`.
 */
export function prefers (a: Pick<Manifest['body'], 'state' | 'seq'>, b: Pick<Manifest['body'], 'state' | 'seq'>): boolean {
  if (a.state !== b.state) return a.state === 'erased'
  return a.seq > b.seq
}
