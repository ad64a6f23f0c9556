/**
 * One node's side of one maintenance round: its role, the share-sized state
 * crypto/refresh.ts or crypto/repair.ts keeps for it, and who may send it
 * parts. A refreshing holder keeps its old share until the commit swaps it
 * for the new one; a helper keeps only masks and its masked sum; the new
 * holder keeps the sums it received and, once they are all in, its new share.
 * {@link MaintainSession.end} wipes whatever is left, so an abort, a timeout
 * or a failed commit leaves nothing pending behind.
 *
 * @module
 */
import { ShareRefresh } from '../../crypto/refresh.ts'
import { RepairHelper, RepairRecipient } from '../../crypto/repair.ts'
import { commitShare, type Share } from '../../crypto/shares.ts'
import { auditCommitment } from '../../crypto/possession.ts'
import { wipe } from '../../crypto/bytes.ts'
import { refuse } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { BioshardError } from '../../errors.ts'

/** What a node does in a round: refresh its share, help a repair, receive the repaired share, or only take the new manifest. */
export type MaintainRole = 'holder' | 'helper' | 'new' | 'observer'

/** What a round is, as the node accepted it at `open`. */
export interface SessionInit {
  round: Uint8Array
  slot: Uint8Array
  op: 'refresh' | 'repair'
  role: MaintainRole
  /** The coordinator's peer and the key its messages are signed with. */
  coordinator: { peer: string, key: Uint8Array }
  /** The manifest the round started from. */
  manifest: Manifest
  /** This node's x in the round (the new x for the new holder). */
  x: number
  /** Refresh: every holder's x. Repair: the t helpers' x. */
  helpers: number[]
  /** Repair: the new share's x and holder. */
  newX?: number
  newHolder?: string
  /** This node's current share (holder and helper roles); owned by the session from here on. */
  share?: Share
}

/** Commitments to a new share, for the next manifest. */
export interface NewCommitments { commitment: Uint8Array, audit: Uint8Array }

/**
 * One round at one node. Parts arrive through {@link accept}; {@link whenComplete}
 * resolves once every expected part is in; {@link end} wipes all state.
 */
export class MaintainSession {
  readonly init: SessionInit
  started = false
  ended = false
  /** Bytes of parts this node sent to other parties in the round. */
  sent = 0
  private readonly refresh?: ShareRefresh
  private readonly helper?: RepairHelper
  private outbox?: Map<number, Uint8Array>
  private recipient?: RepairRecipient
  private fresh?: Share
  private pending?: NewCommitments
  private readonly waiters: Array<{ resolve: () => void, reject: (e: Error) => void }> = []
  /** Parts added so far (helper and new holder; a refreshing holder's ShareRefresh counts its own). */
  private received = 0

  /** @throws {BioshardError} ERR_BAD_REQUEST when the share does not fit the round */
  constructor (init: SessionInit) {
    this.init = init
    try {
      if (init.role === 'holder') this.refresh = new ShareRefresh(init.share as Share, init.helpers, init.manifest.body.t)
      if (init.role === 'helper') {
        this.helper = new RepairHelper(init.share as Share, { helpers: init.helpers, newX: init.newX as number })
        this.outbox = this.helper.masks()
      }
    } catch (e) {
      this.end()
      refuse('ERR_BAD_REQUEST', `the round does not fit the share held here: ${(e as Error).message}`)
    }
  }

  /** The x-coordinates this node takes parts from: every other holder (refresh), the other helpers, or every helper (new holder). */
  get dealers (): number[] {
    if (this.init.role === 'new') return this.init.helpers
    if (this.init.role === 'observer') return []
    return this.init.helpers.filter((x) => x !== this.init.x)
  }

  /** Whether every expected part is in. */
  get complete (): boolean {
    if (this.refresh !== undefined) return this.refresh.complete
    return this.received === this.dealers.length
  }

  /**
   * Take this node's outgoing parts (once): refresh sub-shares to every other
   * holder, or masks to every other helper. The caller sends and wipes them.
   */
  outgoing (): Map<number, Uint8Array> {
    if (this.refresh !== undefined) return this.refresh.contribute()
    const out = this.outbox ?? new Map<number, Uint8Array>()
    this.outbox = undefined
    return out
  }

  /**
   * Add one part (a copy is added; the caller wipes `part`).
   *
   * @param kind - `deal` (sub-share or mask) or `sum` (masked sum, new holder only)
   * @throws {BioshardError} ERR_BAD_REQUEST for a part this role does not take or of the wrong length; ERR_REPLAY for a second part from one dealer
   */
  accept (kind: 'deal' | 'sum', fromX: number, part: Uint8Array): void {
    if (this.ended) refuse('ERR_NOT_FOUND', 'the round has ended')
    if ((kind === 'sum') !== (this.init.role === 'new')) refuse('ERR_BAD_REQUEST', `a ${this.init.role} does not take a ${kind}`)
    if (!this.dealers.includes(fromX)) refuse('ERR_BAD_REQUEST', `x ${fromX} does not send parts to this node in the round`)
    try {
      if (this.refresh !== undefined) this.refresh.receive(fromX, part)
      else if (this.helper !== undefined) this.helper.receive(fromX, part)
      else this.addSum(fromX, part)
    } catch (e) {
      if (e instanceof BioshardError) throw e
      const msg = (e as Error).message
      refuse(msg.includes('already') ? 'ERR_REPLAY' : 'ERR_BAD_REQUEST', `part from x ${fromX}: ${msg}`)
    }
    if (this.refresh === undefined) this.received++
    if (this.complete) this.wake()
  }

  private addSum (fromX: number, part: Uint8Array): void {
    this.recipient ??= new RepairRecipient({ helpers: this.init.helpers, newX: this.init.x }, part.length)
    this.recipient.receive(fromX, part)
  }

  /** Resolves once every expected part is in; rejects when the round ends first. */
  async whenComplete (): Promise<void> {
    if (this.complete) return
    if (this.ended) throw new BioshardError('ERR_ABORTED', 'the round ended before every part arrived')
    await new Promise<void>((resolve, reject) => { this.waiters.push({ resolve, reject }) })
  }

  private wake (): void {
    for (const w of this.waiters.splice(0)) w.resolve()
  }

  /** A helper's masked sum for the new holder, once every mask is in (the caller sends and wipes it). */
  maskedSum (): Uint8Array {
    if (this.helper === undefined) refuse('ERR_BAD_REQUEST', 'only a helper has a masked sum')
    return this.helper.maskedSum()
  }

  /**
   * Commitments to this node's new share (refreshing holder or new holder), once complete.
   * The new holder's share is finished here and kept until the commit.
   */
  commitments (): NewCommitments {
    if (this.pending !== undefined) return this.pending
    const templateId = this.init.manifest.body.templateId
    if (this.refresh !== undefined) this.pending = this.refresh.commitments(templateId)
    else if (this.recipient !== undefined) {
      this.fresh = this.recipient.finish()
      this.pending = { commitment: commitShare(templateId, this.fresh), audit: auditCommitment(templateId, this.fresh) }
    } else refuse('ERR_BAD_REQUEST', `a ${this.init.role} has no new share`)
    return this.pending
  }

  /** The commitments reported in `ready`, if any. */
  get reported (): NewCommitments | undefined { return this.pending }

  /**
   * Hand out the new share at commit: for a refreshing holder the old share is
   * wiped in the same call. The caller stores the returned bytes and wipes them.
   */
  takeNewShare (): Share {
    if (this.pending === undefined) refuse('ERR_BAD_REQUEST', 'the new share was never reported ready')
    if (this.refresh !== undefined) return this.refresh.commit()
    const fresh = this.fresh as Share
    this.fresh = undefined
    return fresh
  }

  /** End the round: wipe every share-sized buffer left and fail anyone waiting. Idempotent. */
  end (reason = 'the round ended'): void {
    if (this.ended) return
    this.ended = true
    this.refresh?.abort()
    if (this.init.share !== undefined) wipe(this.init.share.bytes)
    for (const part of this.outbox?.values() ?? []) wipe(part)
    this.outbox = undefined
    if (this.helper !== undefined) {
      try { wipe(this.helper.maskedSum()) } catch { /* not complete or already taken: nothing left to wipe */ }
    }
    if (this.recipient !== undefined && this.fresh === undefined) {
      try { wipe(this.recipient.finish().bytes) } catch { /* not complete: its partial sum is dropped with it */ }
    }
    if (this.fresh !== undefined) wipe(this.fresh.bytes)
    this.fresh = undefined
    for (const w of this.waiters.splice(0)) w.reject(new BioshardError('ERR_ABORTED', reason))
  }
}
