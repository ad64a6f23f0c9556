/**
 * Drops stores that were never followed by a published manifest.
 *
 * A client stores n shares and only then publishes the manifest; when the
 * publish fails (or the client dies first) the holders would otherwise keep
 * shares nobody can find or erase, and republish them on every restart. So a
 * store stays *pending* at its holder until the holder has seen the manifest
 * in the DHT, and is dropped only on repeated clear evidence it never will be.
 *
 * @module
 */
import { equalBytes, toHex } from '../../crypto/bytes.ts'
import { decodeManifest, entryFor } from '../../protocol/manifest.ts'
import { manifestKey, tenantTag, slotTenantTag } from '../../protocol/ownership.ts'
import { validateManifestRecord } from '../../protocol/records.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { logger } from '../../net/log.ts'
import type { RecordReplicas, ReplicaAnswer } from '../../net/record-replicas.ts'
import type { ShareStore } from './share-store.ts'

const log = logger('node:pending')

/** Pending stores looked up per sweep, so one sweep stays short however many piled up. */
const SWEEP_BATCH = 64
/** Deadline of one manifest lookup. */
const LOOKUP_TIMEOUT_MS = 10_000
/** Distinct peers that must answer a lookup without the record before it counts as absent. */
const ABSENT_RESPONDERS = 3
/** Lookups in a row, one per sweep, that must find the record absent before the share is dropped. */
const ABSENT_SWEEPS = 2
/** Sweeps run this often at most (ms), and never less often than once a minute. */
const MIN_SWEEP_MS = 250
const MAX_SWEEP_MS = 60_000

/** What one lookup found. */
export type LookupOutcome = 'confirmed' | 'absent' | 'failed'

/** What a {@link PendingSweeper} works with. */
export interface PendingSweeperInit {
  store: ShareStore
  /** Where manifest records are looked up: the roster's closest nodes to the key, then a DHT walk (net/record-replicas.ts). */
  replicas: Pick<RecordReplicas, 'lookup' | 'walk'>
  anchor: TrustAnchor
  /** This node's peer id (as the manifest lists its holders). */
  self: string
  /** How long a store may stay pending before its manifest is looked up (ms). */
  graceMs: number
  /** How many other admitted nodes there are (a lookup in a smaller network needs fewer answers). @default Infinity */
  peers?: () => number
  /** @default Date.now */
  now?: () => number
}

/**
 * Periodically confirms or drops pending stores. Once a pending store is
 * older than the grace period the sweeper looks the manifest up under
 * `manifestKey(tenant, templateId)`:
 *
 * - a valid record that lists this node at the x it holds → confirmed;
 * - a lookup that completes with no such record, after enough peers answered
 *   it (three, or every other admitted node of a smaller network), at two
 *   sweeps in a row → the share is dropped (destroyed like an erase, but
 *   without a tombstone: there is no signed erase to keep as evidence);
 * - a lookup that fails (too few answers, a timeout) → tried again at the
 *   next sweep. A network failure, or one slow sweep on a loaded machine
 *   whose record holders did not answer in time, never drops a share.
 *
 * @example
 * const sweeper = new PendingSweeper({ store, replicas, anchor, self, graceMs: 600_000 })
 * sweeper.start(); … ; await sweeper.stop()
 */
export class PendingSweeper {
  readonly #init: PendingSweeperInit
  readonly #now: () => number
  readonly #stop = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  /** Pending slots (hex) whose last lookups in a row found no record, and how many. */
  readonly #absent = new Map<string, number>()

  constructor (init: PendingSweeperInit) {
    if (!Number.isInteger(init.graceMs) || init.graceMs < 1) throw new RangeError(`graceMs must be a positive integer, got ${init.graceMs}`)
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  /** Sweep every quarter of the grace period (bounded), in the background. */
  start (): void {
    const every = Math.min(Math.max(Math.floor(this.#init.graceMs / 4), MIN_SWEEP_MS), MAX_SWEEP_MS)
    const tick = (): void => {
      this.#sweeping = this.sweep().then(() => {}, (e: Error) => { log('sweep failed: %s', e.message) }).finally(() => {
        this.#sweeping = undefined
        if (!this.#stop.signal.aborted) this.#timer = setTimeout(tick, every).unref()
      })
    }
    this.#timer = setTimeout(tick, every).unref()
  }

  /** Stop sweeping and wait for a sweep under way (its lookups are aborted). */
  async stop (): Promise<void> {
    this.#stop.abort()
    clearTimeout(this.#timer)
    await this.#sweeping
  }

  /**
   * One sweep: look up the manifest of each store pending longer than the grace period.
   *
   * @returns how many were confirmed, dropped, and left for later
   */
  async sweep (): Promise<{ confirmed: number, dropped: number, failed: number }> {
    const { store, graceMs } = this.#init
    const due = await store.pendingBefore(this.#now() - graceMs, SWEEP_BATCH)
    const tally = { confirmed: 0, dropped: 0, failed: 0 }
    for (const { slot } of due) {
      if (this.#stop.signal.aborted) break
      const outcome = await this.lookup(slot)
      const id = toHex(slot)
      const absences = outcome === 'absent' ? (this.#absent.get(id) ?? 0) + 1 : 0
      if (absences === 0) this.#absent.delete(id)
      else if (absences < ABSENT_SWEEPS) this.#absent.set(id, absences)
      if (outcome === 'confirmed') await store.confirm(slot)
      if (absences >= ABSENT_SWEEPS) {
        this.#absent.delete(id)
        if (await store.drop(slot)) log('dropped the share of template %s: its manifest was never published', toHex(slot.subarray(32)))
        tally.dropped++
      } else if (outcome !== 'confirmed') tally.failed++
      else tally.confirmed++
    }
    // Forget slots no longer pending (confirmed or dropped elsewhere).
    if (this.#absent.size > SWEEP_BATCH * 4) this.#absent.clear()
    return tally
  }

  /**
   * Look up the published manifest of the share in `slot`.
   *
   * @returns 'confirmed' when a valid record lists this node at the x held here; 'absent' when
   *   the lookup completed and enough distinct peers answered it without one; 'failed' otherwise
   */
  async lookup (slot: Uint8Array): Promise<LookupOutcome> {
    const { store, replicas, anchor, self } = this.#init
    const copy = await store.getManifest(slot)
    const held = await store.getShare(slot)
    if (copy === undefined || held === undefined) return 'failed'
    const x = held.x
    held.share.fill(0)
    const { tenant, templateId } = decodeManifest(copy).body
    // The copy was checked when stored; its tenant must be the slot's owner.
    if (!equalBytes(tenantTag(tenant), slotTenantTag(slot))) return 'failed'
    const key = manifestKey(tenant, templateId)
    const answered = new Set<string>()
    let confirmed = false
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)])
    const confirms = async (answers: AsyncGenerator<ReplicaAnswer>): Promise<boolean> => {
      for await (const answer of answers) {
        answered.add(answer.from)
        if (answer.value === undefined) continue
        try {
          const m = validateManifestRecord(key, answer.value, anchor)
          if (m.body.state === 'active' && entryFor(m.body, self)?.x === x) return true
        } catch {
          // An invalid record confirms nothing.
        }
      }
      return false
    }
    try {
      // The record's replicas first; absence is decided only after a walk also found nothing.
      confirmed = await confirms(replicas.lookup(key, { signal })) || (!signal.aborted && await confirms(replicas.walk(key, { signal })))
    } catch (e) {
      log('manifest lookup for template %s failed: %s', toHex(templateId), (e as Error).message)
      return 'failed'
    }
    if (confirmed) return 'confirmed'
    const needed = Math.max(1, Math.min(ABSENT_RESPONDERS, this.#init.peers?.() ?? ABSENT_RESPONDERS))
    // A lookup cut short (its deadline, the node stopping) says nothing about absence.
    return answered.size >= needed && !signal.aborted ? 'absent' : 'failed'
  }
}
