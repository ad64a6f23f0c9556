/**
 * Remembers request nonces for as long as a request carrying them could still
 * pass the freshness check, so a captured request cannot be replayed. Entries
 * older than the freshness window are useless to an attacker (the timestamp
 * check refuses them) and are pruned. When full, it refuses new requests
 * rather than forgetting nonces early: forgetting would re-open replays.
 *
 * @module
 */
import { BioshardError } from '../../errors.ts'
import { toHex } from '../../crypto/bytes.ts'

export class ReplayCache {
  private readonly seen = new Map<string, number>()
  private readonly windowMs: number
  private readonly maxEntries: number

  /**
   * @param windowMs how long a nonce must be remembered (2× the freshness window covers skew both ways)
   * @param maxEntries memory bound
   */
  constructor (windowMs: number, maxEntries = 1_000_000) {
    this.windowMs = windowMs
    this.maxEntries = maxEntries
  }

  /**
   * Record `nonce` from `signer`; throws if it was seen within the window.
   *
   * @throws {BioshardError} ERR_REPLAY for a repeated nonce, ERR_BUSY when full
   */
  check (signer: Uint8Array, nonce: Uint8Array, now = Date.now()): void {
    const key = toHex(signer) + toHex(nonce)
    const at = this.seen.get(key)
    if (at !== undefined && now - at <= this.windowMs) throw new BioshardError('ERR_REPLAY', 'request nonce was already used')
    if (this.seen.size >= this.maxEntries) this.prune(now)
    if (this.seen.size >= this.maxEntries) throw new BioshardError('ERR_BUSY', 'replay cache is full; retry shortly')
    // Map keeps insertion order; re-inserting keeps prune() able to stop at the first fresh entry.
    this.seen.delete(key)
    this.seen.set(key, now)
  }

  /**
   * Refuse `nonce` from `signer` if it was recorded within the window,
   * recording nothing. Cheap enough to run before the request's signature is
   * verified, so a replay is refused without verifying it again; only
   * {@link check}, after the signature, records a nonce, so a forged request
   * cannot fill the cache or burn another signer's nonce.
   *
   * @throws {BioshardError} ERR_REPLAY for a nonce already used
   */
  refuseSeen (signer: Uint8Array, nonce: Uint8Array, now = Date.now()): void {
    const at = this.seen.get(toHex(signer) + toHex(nonce))
    if (at !== undefined && now - at <= this.windowMs) throw new BioshardError('ERR_REPLAY', 'request nonce was already used')
  }

  /** Drop nonces older than the window. */
  prune (now = Date.now()): void {
    for (const [k, at] of this.seen) {
      if (now - at <= this.windowMs) break
      this.seen.delete(k)
    }
  }

  get size (): number { return this.seen.size }
}
