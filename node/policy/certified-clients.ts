/**
 * The clients that proved, on their current connection, that they hold a
 * certificate of this network (protocol/client-proof.ts): remembered until
 * the earliest expiry on their chain or until their last connection closes,
 * in a bounded map (the oldest proof is forgotten first; that client proves
 * again on its next admit exchange).
 *
 * @module
 */
import { setBounded } from '../../crypto/bounded-map.ts'

/** Certified clients remembered at once: well above the clients one node serves. */
export const MAX_CERTIFIED_CLIENTS = 16_384

export class CertifiedClients {
  private readonly until = new Map<string, number>()
  private readonly max: number

  constructor (max = MAX_CERTIFIED_CLIENTS) {
    this.max = max
  }

  /** Remember `peer` as certified until `until` (ms); true when it was not certified before. */
  add (peer: string, until: number, now = Date.now()): boolean {
    const fresh = !this.has(peer, now)
    this.until.delete(peer)
    setBounded(this.until, peer, until, this.max)
    return fresh
  }

  /** Whether `peer` is a certified client now. */
  has (peer: string, now = Date.now()): boolean {
    const until = this.until.get(peer)
    if (until === undefined) return false
    if (now > until) { this.until.delete(peer); return false }
    return true
  }

  /** Forget `peer` (its connection closed). */
  delete (peer: string): void {
    this.until.delete(peer)
  }
}
