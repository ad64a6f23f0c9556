/**
 * A bounded memory of Ed25519 signatures this node has already verified.
 *
 * A verifier sends the same certificate and enclave attestation, byte for
 * byte, with every fetch, and peers gossip the same certificates again and
 * again; verifying them each time proves nothing new. Only the signature
 * check is remembered: everything that depends on the request or on the clock
 * is checked on every call, and failures are never remembered.
 *
 * @module
 */
import { aint, equalBytes, utf8 } from '../../crypto/bytes.ts'
import { setBounded } from '../../crypto/bounded-map.ts'
import { BioshardError } from '../../errors.ts'
import { taggedHash } from '../../crypto/hash.ts'
import { HASH, SIG, type SigTag } from '../../crypto/tags.ts'
import { checkSigned, type Signed } from '../../protocol/signed.ts'
import type { VerifierCert } from '../../protocol/certs.ts'
import { processAttestation, type Attestation, type AttestationVerifier } from '../../protocol/attestation.ts'

/**
 * Default number of remembered signatures. Each entry is one short string;
 * a holder sees one certificate and a
 * few attestations per verifier instance, so this covers thousands of them.
 */
export const VERIFIED_CACHE_MAX = 4_096

/**
 * Ed25519 checks with successful verifications remembered.
 *
 * An entry is keyed by a tagged SHA-256 of (signature tag, public key,
 * signature, signed bytes): a hit means this exact verification succeeded
 * before, and verification is a pure function of those inputs. Which tenant,
 * which verifier and validity windows are checked again on every call, so a
 * certificate that has expired since it was cached is refused exactly as
 * before. Failures are never remembered, so a tampered or forged signature
 * always reaches the real verify. A request's own signature must not go
 * through the cache (its bytes are new every time; caching it would only evict
 * useful entries). Only successful checks insert, and the cache is bounded
 * (least recently used out first), so a peer that sends many valid, distinct
 * objects can cost others a cache miss, never memory.
 *
 * @example
 * const verified = new VerifiedCache()
 * verified.checkSigned(SIG.VERIFIER_CERT, cert, tenantKey, 'verifier certificate') // verifies
 * verified.checkSigned(SIG.VERIFIER_CERT, cert, tenantKey, 'verifier certificate') // remembered
 */
export class VerifiedCache {
  readonly #seen = new Map<string, true>()
  readonly #max: number
  #hits = 0
  #misses = 0

  /**
   * @param max how many verified signatures to remember; 0 remembers none
   *   (every check verifies), which is what callers without a cache get
   * @throws {TypeError|RangeError} when max is not an integer in [0, 2^31)
   */
  constructor (max = VERIFIED_CACHE_MAX) {
    this.#max = aint(max, 0, 2 ** 31 - 1, 'max')
  }

  /**
   * Same contract as `checkSigned` in `protocol/signed.ts`: returns when the
   * signature over `signed.bytes` verifies under `tag` and `publicKey`.
   *
   * @param tag the domain-separation tag the object is signed under
   * @param signed the decoded object (its canonical body bytes and signature)
   * @param publicKey the Ed25519 key that must have signed it
   * @param what names the object in the error
   * @throws {SignatureError} ERR_BAD_SIGNATURE when it does not verify (never remembered)
   */
  checkSigned (tag: SigTag, signed: Signed<unknown>, publicKey: Uint8Array, what: string): void {
    if (this.#max === 0) {
      this.#misses++
      checkSigned(tag, signed, publicKey, what)
      return
    }
    const key = cacheKey(tag, signed, publicKey)
    if (this.#seen.delete(key)) {
      this.#seen.set(key, true) // most recently used goes last
      this.#hits++
      return
    }
    this.#misses++
    checkSigned(tag, signed, publicKey, what)
    setBounded(this.#seen, key, true, this.#max)
  }

  /** Number of signatures remembered now. */
  get size (): number { return this.#seen.size }

  /** Checks answered from memory and checks that ran the real verify, since construction. */
  get stats (): { hits: number, misses: number } { return { hits: this.#hits, misses: this.#misses } }

  /** Forget every remembered signature. */
  clear (): void { this.#seen.clear() }
}

function cacheKey (tag: SigTag, signed: Signed<unknown>, publicKey: Uint8Array): string {
  // Length-prefixed parts (taggedHash), so no two inputs share a key.
  const h = taggedHash(HASH.VERIFIED_SIGNATURE, utf8(tag), publicKey, signed.sig, signed.bytes)
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1')
}

/**
 * `checkVerifierCert` from `protocol/certs.ts`, with the signature check
 * remembered in `cache`. The issuing tenant and the validity window at `now`
 * are checked on every call, in the same order and with the same codes.
 *
 * @param cache remembered signatures
 * @param cert the verifier certificate from the request
 * @param tenantKey the tenant that must have issued it (the manifest's)
 * @param now the time to check the validity window at (ms)
 * @throws {BioshardError} ERR_NOT_AUTHORISED (another tenant's), ERR_BAD_SIGNATURE or ERR_EXPIRED
 * @example checkVerifierCertWith(verified, req.body.cert, manifest.body.tenant, Date.now())
 */
export function checkVerifierCertWith (cache: VerifiedCache, cert: VerifierCert, tenantKey: Uint8Array, now: number): void {
  if (!equalBytes(cert.body.tenant, tenantKey)) throw new BioshardError('ERR_NOT_AUTHORISED', 'verifier certificate is from another tenant')
  cache.checkSigned(SIG.VERIFIER_CERT, cert, tenantKey, 'verifier certificate')
  const { nb, na, name } = cert.body
  const what = `verifier certificate of ${name}`
  if (now < nb) throw new BioshardError('ERR_EXPIRED', `${what} is not valid until ${new Date(nb).toISOString()}`)
  if (now > na) throw new BioshardError('ERR_EXPIRED', `${what} expired at ${new Date(na).toISOString()}`)
}

/**
 * Verify an enclave attestation with `attester`. The built-in `process`
 * verifier is a pure signature check, so its signature is remembered in
 * `cache` (the binding to `verifierKey` is checked every call); any other
 * verifier (a TEE quote, whose verdict may depend on the time or on
 * revocation) runs in full every time.
 *
 * @param cache remembered signatures
 * @param attester the verifier configured for the attestation's kind
 * @param a the attestation from the request
 * @param verifierKey the certified verifier key that must have attested it
 * @returns the attested enclave key and measurement
 * @throws {BioshardError} ERR_NOT_AUTHORISED or ERR_BAD_SIGNATURE, as `attester.verify`
 * @example const { key, measurement } = verifyAttestationWith(verified, processAttestation, att, verifierKey)
 */
export function verifyAttestationWith (
  cache: VerifiedCache, attester: AttestationVerifier, a: Attestation, verifierKey: Uint8Array
): { key: Uint8Array, measurement: Uint8Array } {
  if (attester !== processAttestation) return attester.verify(a, verifierKey)
  if (!equalBytes(a.body.verifier, verifierKey)) throw new BioshardError('ERR_NOT_AUTHORISED', 'attestation is signed for another verifier')
  cache.checkSigned(SIG.ATTESTATION, a, verifierKey, 'attestation')
  return { key: a.body.key, measurement: a.body.measurement }
}
