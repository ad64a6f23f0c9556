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

/** What {@link LingeringStreams} needs of a stream: to be reset, and to say when it has closed. */
export interface Lingering {
  abort: (err: Error) => void
  addEventListener: (type: 'close', listener: () => void, options: { once: true }) => void
}

/**
 * Streams that have had this side's last frame and wait for the peer to
 * close its end, per peer over all its connections. Each is reset when the
 * peer has not closed it within `reapMs`: a stream the peer never closes
 * would otherwise stay half-closed for the life of the connection. And a
 * peer may have only `max` of them at once, its oldest reset beyond that: a
 * flood of unclosed streams would otherwise fill libp2p's per-connection
 * stream limit, whose resets come before any handler and so are never
 * charged to the peer.
 */
export class LingeringStreams<S extends Lingering = Lingering> {
  private readonly byPeer = new Map<string, Set<S>>()
  private readonly max: number
  private readonly reapMs: number

  /**
   * @param max lingering streams one peer may have at once
   * @param reapMs how long the peer has to close its end (ms)
   */
  constructor (max: number, reapMs: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`)
    this.max = max
    this.reapMs = reapMs
  }

  /** Track `stream` of `peer` until it closes or is reaped, resetting the peer's oldest lingering stream when it has too many. */
  add (peer: string, stream: S): void {
    let set = this.byPeer.get(peer)
    if (set === undefined) { set = new Set(); this.byPeer.set(peer, set) }
    set.add(stream)
    const reap = setTimeout(() => { stream.abort(new Error('the peer did not close its end of the stream')) }, this.reapMs)
    reap.unref()
    stream.addEventListener('close', () => { clearTimeout(reap); this.forget(peer, stream) }, { once: true })
    while (set.size > this.max) {
      const oldest = set.values().next().value as S
      this.forget(peer, oldest)
      oldest.abort(new Error(`more than ${this.max} streams left unclosed by the peer`))
    }
  }

  /** Streams of `peer` lingering now. */
  of (peer: string): number {
    return this.byPeer.get(peer)?.size ?? 0
  }

  private forget (peer: string, stream: S): void {
    const set = this.byPeer.get(peer)
    if (set === undefined) return
    set.delete(stream)
    if (set.size === 0) this.byPeer.delete(peer)
  }
}
