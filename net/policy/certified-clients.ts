/**
 * The clients that proved, on their current connection, that they hold a
 * certificate of this network (protocol/client-proof.ts): remembered until
 * the earliest expiry on their chain or until their last connection closes,
 * in a bounded map (the oldest proof is forgotten first; that client proves
 * again on its next admit exchange). A client whose connection closed is
 * still known to have proved, so the connection gater can let it back in
 * from an address banned for others' refusals.
 *
 * @module
 */
import { setBounded } from '../../crypto/bounded-map.ts'

/** Certified clients remembered at once: well above the clients one node serves. */
export const MAX_CERTIFIED_CLIENTS = 16_384

interface Proven { until: number, connected: boolean }

export class CertifiedClients {
  private readonly proven = new Map<string, Proven>()
  private readonly max: number

  constructor (max = MAX_CERTIFIED_CLIENTS) {
    this.max = max
  }

  /** Remember `peer` as certified until `until` (ms); true when it was not certified before. */
  add (peer: string, until: number, now = Date.now()): boolean {
    const fresh = !this.has(peer, now)
    this.proven.delete(peer)
    setBounded(this.proven, peer, { until, connected: true }, this.max)
    return fresh
  }

  /** Whether `peer` is a certified client now (proved on a connection that is still open). */
  has (peer: string, now = Date.now()): boolean {
    const p = this.get(peer, now)
    return p !== undefined && p.connected
  }

  /**
   * Whether `peer` has proved a certificate that is still valid, on this
   * connection or an earlier one: enough to let it connect again from an
   * address that unauthenticated traffic got banned, not to be served.
   */
  known (peer: string, now = Date.now()): boolean {
    return this.get(peer, now) !== undefined
  }

  /** `peer`'s last connection closed: it proves again on its next one. */
  disconnected (peer: string): void {
    const p = this.proven.get(peer)
    if (p !== undefined) p.connected = false
  }

  private get (peer: string, now: number): Proven | undefined {
    const p = this.proven.get(peer)
    if (p === undefined) return undefined
    if (now > p.until) { this.proven.delete(peer); return undefined }
    return p
  }
}
