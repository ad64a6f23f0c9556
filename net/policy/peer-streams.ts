/**
 * Inbound streams open per peer, over all its connections, for one
 * protocol. libp2p bounds streams per connection only, so a peer holding
 * several connections would get the bound once for each; counting by peer id
 * makes the bound the peer's, however many connections it opens.
 *
 * @module
 */

export class PeerStreams {
  private readonly open = new Map<string, number>()
  private readonly max: number

  /** @param max streams one peer may have open at once */
  constructor (max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`)
    this.max = max
  }

  /**
   * Count one more stream for `peer`, unless it already has `max` open.
   *
   * @returns false when the peer is at its bound (nothing is counted)
   */
  take (peer: string): boolean {
    const n = this.open.get(peer) ?? 0
    if (n >= this.max) return false
    this.open.set(peer, n + 1)
    return true
  }

  /** One of `peer`'s counted streams has ended. */
  release (peer: string): void {
    const n = this.open.get(peer) ?? 0
    if (n <= 1) this.open.delete(peer)
    else this.open.set(peer, n - 1)
  }

  /** Streams `peer` has open now. */
  of (peer: string): number {
    return this.open.get(peer) ?? 0
  }
}
