/**
 * The maintenance rounds a node has joined, bounded: at most one per
 * template, {@link MAX_ROUNDS_PER_PEER} per coordinator peer and
 * {@link MAX_ROUNDS} in all, each ended (its pending share wiped) when it
 * commits, aborts or outlives its deadline. A part for a round the node did
 * not join finds nothing here and is refused. Each end is reported once, with
 * how the round ended, to the table's `onEnd` (the node's metrics and audit log).
 *
 * @module
 */
import { toHex } from '../../crypto/bytes.ts'
import { refuse } from '../../protocol/errors.ts'
import { MaintainSession, type SessionInit } from './session.ts'
import type { RoundEnd } from './events.ts'
import { MAX_ROUNDS, MAX_ROUNDS_PER_PEER, ROUND_TTL_MS } from './limits.ts'

/** Bounds of a {@link MaintainSessions} table (defaults from ./limits.ts). */
export interface SessionBounds { ttlMs?: number, perPeer?: number, total?: number }

/** How a round left the table. */
export type SessionEnd = RoundEnd['outcome']

/** Told once per round that leaves the table: the round, how it ended and why. */
export type OnSessionEnd = (session: MaintainSession, outcome: SessionEnd, reason: string | undefined) => void

/**
 * A node's open rounds, by round id.
 *
 * @example
 * const s = sessions.open(init) // ERR_BUSY / ERR_CONFLICT when over a bound
 * sessions.get(round)?.accept('deal', fromX, part)
 * sessions.close(round)
 */
export class MaintainSessions {
  private readonly byRound = new Map<string, { session: MaintainSession, timer: NodeJS.Timeout }>()
  private readonly bySlot = new Set<string>()
  private readonly ttlMs: number
  private readonly perPeer: number
  private readonly total: number
  private readonly onEnd: OnSessionEnd | undefined

  /**
   * @param bounds - the table's bounds (defaults from ./limits.ts)
   * @param onEnd - told of every round that ends (its errors are not the table's: they are dropped)
   */
  constructor (bounds: SessionBounds = {}, onEnd?: OnSessionEnd) {
    this.ttlMs = bounds.ttlMs ?? ROUND_TTL_MS
    this.perPeer = bounds.perPeer ?? MAX_ROUNDS_PER_PEER
    this.total = bounds.total ?? MAX_ROUNDS
    this.onEnd = onEnd
  }

  /** Rounds open now. */
  get size (): number { return this.byRound.size }

  /**
   * Join a round.
   *
   * @throws {BioshardError} ERR_REPLAY for a round id already open; ERR_CONFLICT when the template is in another round;
   *   ERR_BUSY over the per-peer or total bound; ERR_BAD_REQUEST when the share does not fit the round
   */
  open (init: SessionInit): MaintainSession {
    const id = toHex(init.round)
    const slot = toHex(init.slot)
    const release = (): void => { if (init.share !== undefined) init.share.bytes.fill(0) }
    if (this.byRound.has(id)) { release(); refuse('ERR_REPLAY', 'that round is already open') }
    if (this.bySlot.has(slot)) { release(); refuse('ERR_CONFLICT', 'the template is already in a maintenance round here') }
    if (this.byRound.size >= this.total) { release(); refuse('ERR_BUSY', 'this node has as many maintenance rounds open as it takes') }
    const mine = [...this.byRound.values()].filter((r) => r.session.init.coordinator.peer === init.coordinator.peer).length
    if (mine >= this.perPeer) { release(); refuse('ERR_BUSY', `this coordinator has ${mine} maintenance rounds open here already`) }
    const session = new MaintainSession(init)
    const timer = setTimeout(() => { this.close(init.round, 'the round timed out', 'timed-out') }, this.ttlMs)
    timer.unref()
    this.byRound.set(id, { session, timer })
    this.bySlot.add(slot)
    return session
  }

  /** The open round with this id, if any. */
  get (round: Uint8Array): MaintainSession | undefined {
    return this.byRound.get(toHex(round))?.session
  }

  /**
   * End a round and forget it (its state is wiped). Idempotent: only the first close of a round is reported.
   *
   * @param reason - why, for anyone still waiting on the round
   * @param outcome - how it ended: `committed` after the commit, else `aborted` (the default) or `timed-out`
   */
  close (round: Uint8Array, reason?: string, outcome: SessionEnd = 'aborted'): void {
    const id = toHex(round)
    const r = this.byRound.get(id)
    if (r === undefined) return
    clearTimeout(r.timer)
    this.byRound.delete(id)
    this.bySlot.delete(toHex(r.session.init.slot))
    r.session.end(reason)
    try {
      this.onEnd?.(r.session, outcome, reason)
    } catch { /* a report that fails must not keep the round open or fail its commit */ }
  }
}
