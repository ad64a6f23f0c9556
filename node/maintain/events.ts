/**
 * What a node's maintenance rounds report as they happen: each round's end
 * (committed, aborted, timed out) or its refusal at `open`, and the bytes of
 * maintenance traffic. The handler and the steps call these; the node turns
 * them into metrics and audit-log entries (./record.ts), so the protocol
 * code knows nothing of either. Labels are bounded sets: never a template,
 * round or peer id.
 *
 * @module
 */
import type { OpenBody } from '../../protocol/maintain.ts'
import { toHex } from '../../crypto/bytes.ts'
import type { MaintainRole, MaintainSession } from './session.ts'

/** A node's part in a round, as metrics count it. */
export type RoundKind = 'refresh' | 'repair-helper' | 'repair-new-holder' | 'repair-observer'

/** How a round ended at a node: it took the commit, the coordinator aborted it, it outlived its deadline, or the node refused to join. */
export type RoundOutcome = 'committed' | 'aborted' | 'timed-out' | 'refused'

/** Which way maintenance bytes went. */
export type TrafficDirection = 'sent' | 'received'

/** Every {@link RoundKind}, in order (for docs and tests). */
export const ROUND_KINDS: readonly RoundKind[] = ['refresh', 'repair-helper', 'repair-new-holder', 'repair-observer']

/** Every {@link RoundOutcome}, in order. */
export const ROUND_OUTCOMES: readonly RoundOutcome[] = ['committed', 'aborted', 'timed-out', 'refused']

/** The kind of a round this node joined, from its role. */
export function kindOfRole (role: MaintainRole): RoundKind {
  if (role === 'holder') return 'refresh'
  if (role === 'helper') return 'repair-helper'
  if (role === 'new') return 'repair-new-holder'
  return 'repair-observer'
}

/**
 * The kind of a round an `open` asks this node to join (also for an open it
 * refuses, so the count says what was refused): the manifest and helpers it
 * names decide this node's part.
 */
export function kindOfOpen (open: Pick<OpenBody, 'op' | 'manifest' | 'helpers' | 'newHolder'>, self: string): RoundKind {
  if (open.op === 'refresh') return 'refresh'
  if (open.newHolder === self) return 'repair-new-holder'
  const mine = open.manifest.body.shares.find((s) => s.holder === self)
  return mine !== undefined && open.helpers.includes(mine.x) ? 'repair-helper' : 'repair-observer'
}

/** A round that ended at this node (never a refused one: that one is a request, audited as such). */
export interface RoundEnd {
  outcome: Exclude<RoundOutcome, 'refused'>
  op: 'refresh' | 'repair'
  role: MaintainRole
  /** The round id in hex. */
  round: string
  /** The template id in hex. */
  templateId: string
  /** The coordinator's peer id. */
  coordinator: string
  /** This node's x in the round. */
  x: number
  /** The seq of the manifest the round started from. */
  seq: number
  /** Why it ended, when it did not commit (the coordinator's abort reason, or the deadline). */
  reason?: string
}

/**
 * The {@link RoundEnd} of a round that left the node's table.
 *
 * @example sessions = new MaintainSessions({}, (s, outcome, reason) => { events.ended(roundEndOf(s, outcome, reason)) })
 */
export function roundEndOf (session: MaintainSession, outcome: RoundEnd['outcome'], reason?: string): RoundEnd {
  const { init } = session
  const m = init.manifest.body
  return {
    outcome,
    op: init.op,
    role: init.role,
    round: toHex(init.round),
    templateId: toHex(m.templateId),
    coordinator: init.coordinator.peer,
    x: init.x,
    seq: m.seq,
    ...(reason !== undefined ? { reason } : {})
  }
}

/** Where a node's maintenance code reports. */
export interface MaintainEvents {
  /** A round this node had joined ended. */
  ended: (end: RoundEnd) => void
  /** The node refused to join a round it was asked to take this part in (the request's audit entry has the code). */
  refused: (kind: RoundKind) => void
  /** Bytes of maintenance traffic this node sent or received. */
  traffic: (direction: TrafficDirection, bytes: number) => void
}

/** Reports that go nowhere: a handler built without a node (tests, tools). */
export const NO_EVENTS: MaintainEvents = { ended: () => {}, refused: () => {}, traffic: () => {} }
