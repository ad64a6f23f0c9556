/**
 * A node's record of its maintenance rounds: each round it joined leaves one
 * audit-log entry when it ends (committed, aborted, timed out), saying what
 * happened to the share held here, and every round and byte is counted in
 * the node's metrics when it serves them. The requests of a round (open,
 * deal, sum, start, commit, abort) are audited as every request is; this
 * entry adds what no request shows — a deadline passing, a share swapped.
 * A refused open writes nothing here: its request entry says so, and goes
 * through the refusal aggregation, so a peer sending opens that are refused
 * cannot grow the log faster than any other refusals.
 *
 * @module
 */
import type { AuditEntry } from '../audit/audit-log.ts'
import type { NodeMetrics } from '../metrics/metrics.ts'
import { kindOfRole, type MaintainEvents, type RoundEnd } from './events.ts'

/** The action of a round's end entry, by outcome. */
export const ROUND_END_ACTION: Readonly<Record<RoundEnd['outcome'], string>> = {
  committed: 'maintain round committed',
  aborted: 'maintain round aborted',
  'timed-out': 'maintain round timed out'
}

/** The outcome field of the entry: `ok` for a commit, else the code a party waiting on the round is failed with. */
const ENTRY_OUTCOME: Readonly<Record<RoundEnd['outcome'], string>> = { committed: 'ok', aborted: 'ERR_ABORTED', 'timed-out': 'ERR_TIMEOUT' }

/**
 * What a round did to this node's share: a refreshing holder's was replaced
 * (the old one destroyed), the new holder stored one, any other party's is
 * unchanged; a round that did not commit changes nothing (the new holder
 * then holds none).
 */
export type ShareEffect = 'replaced' | 'stored' | 'unchanged' | 'none'

/** The {@link ShareEffect} of a round's end. */
export function shareEffect (end: Pick<RoundEnd, 'outcome' | 'role'>): ShareEffect {
  if (end.role === 'new') return end.outcome === 'committed' ? 'stored' : 'none'
  return end.role === 'holder' && end.outcome === 'committed' ? 'replaced' : 'unchanged'
}

/**
 * The audit entry of a round's end: the coordinator as peer, the template as
 * subject, and in `detail` the round id, op, this node's role and x, the
 * manifest seq it holds now and what became of its share. Never bytes.
 *
 * @example roundEndEntry({ outcome: 'committed', op: 'refresh', role: 'holder', round, templateId, coordinator, x: 2, seq: 4 }, Date.now())
 */
export function roundEndEntry (end: RoundEnd, time: number): AuditEntry {
  const seq = end.outcome === 'committed' ? end.seq + 1 : end.seq
  return {
    time,
    protocol: 'maintain',
    peer: end.coordinator,
    subject: end.templateId,
    action: ROUND_END_ACTION[end.outcome],
    outcome: ENTRY_OUTCOME[end.outcome],
    ...(end.reason !== undefined && end.outcome !== 'committed' ? { reason: end.reason } : {}),
    detail: { round: end.round, op: end.op, role: end.role, x: end.x, seq, share: shareEffect(end) }
  }
}

/** Where a {@link maintainRecorder} writes. */
export interface RecorderInit {
  /** The node's metrics, when it serves them. */
  metrics?: Pick<NodeMetrics, 'countRound' | 'countMaintainBytes'> | undefined
  /** Appends one entry to the node's audit log (not through the refusal aggregation: these are not refusals). */
  audit: (entry: AuditEntry) => void
  /** @default Date.now */
  now?: () => number
}

/**
 * The node's {@link MaintainEvents}: an audit entry per ended round, and the
 * metrics counts.
 *
 * @example const events = maintainRecorder({ metrics, audit: (e) => { void log.append(e) } })
 */
export function maintainRecorder (init: RecorderInit): MaintainEvents {
  const now = init.now ?? Date.now
  return {
    ended: (end) => {
      init.metrics?.countRound(kindOfRole(end.role), end.outcome)
      init.audit(roundEndEntry(end, now()))
    },
    refused: (kind) => { init.metrics?.countRound(kind, 'refused') },
    traffic: (direction, bytes) => { init.metrics?.countMaintainBytes(direction, bytes) }
  }
}
