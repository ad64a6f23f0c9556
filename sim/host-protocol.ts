/**
 * The messages between the simulator's main thread and a node host thread
 * (sim/node-host.ts): requests that each get one answer, link state changes
 * that get none (applied in the order posted, before any later request),
 * and the answers. Share bytes travel as transferred Uint8Arrays only.
 *
 * @module
 */
import type { ReconcileSchedule } from '../node/reconcile.ts'
import type { LinkChange } from './link-state.ts'
import type { Behaviour } from './types.ts'

/** What a host thread starts with (its workerData). */
export interface HostInit {
  /** The thread's number (0-based), for messages. */
  thread: number
  /** When nodes reconcile on their own. */
  reconcile?: Partial<ReconcileSchedule>
}

/** A request to a host; each gets one {@link HostAnswer}. */
export type HostRequest =
  /** Open and start node `index` from its provisioned directory; answers its addresses. */
  | { op: 'open', index: number, dir: string }
  /** Stop node `index` if it runs and start it again on its former addresses; answers its addresses. */
  | { op: 'restart', index: number, behaviour?: Behaviour, bootstrap: string[] }
  | { op: 'stop', index: number }
  /** The slots node `index`'s store holds. */
  | { op: 'slots', index: number }
  /** Node `index`'s share for `slot` (transferred, the host's copy wiped). */
  | { op: 'share', index: number, slot: Uint8Array }
  | { op: 'reconcile', index: number }
  | { op: 'connections', index: number }
  /** Roster sizes of the host's running nodes. */
  | { op: 'rosters' }
  | { op: 'close-denied' }
  | { op: 'stop-all' }

/** What the main thread posts to a host. */
export type HostMessage =
  | { id: number, request: HostRequest }
  /** Install link shaping over every node (peers[i] is node i's peer id). */
  | { links: { seed: number, peers: string[] } }
  | { change: LinkChange }

/** A host's answer to request `id`: its value, or the failure's message and code. */
export type HostAnswer = { id: number, ok: true, value: unknown } | { id: number, ok: false, message: string, code?: string }
