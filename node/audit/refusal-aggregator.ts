/**
 * Repeated refusals, aggregated (docs/architecture.md, "Trust rules": "repeats
 * are aggregated in the audit log"). Without it a peer that sends refused
 * requests as fast as it can writes one audit record per request, and the log
 * grows without bound. Within a window the first refusal of each (peer, code)
 * is written in full and the rest only counted, so a window writes a bounded
 * number of entries whatever the load ({@link RefusalAggregator}).
 *
 * @module
 */
import type { AuditEntry } from './audit-log.ts'

/** Peer named by the overflow entry: refusals of (peer, code) pairs beyond the bound. */
export const OVERFLOW_PEER = '*'
/** Outcome of the overflow entry. */
export const OVERFLOW_OUTCOME = 'ERR_MANY'
/** Action of an entry that counts repeated refusals. */
export const REPEATED_ACTION = 'repeated refusals'

/** How a {@link RefusalAggregator} is bounded. */
export interface RefusalAggregatorInit {
  /** Length of a window (ms). */
  windowMs: number
  /** Most (peer, code) pairs tracked per window. */
  maxKeys: number
  /** Where entries go (the audit log's append). */
  write: (entry: AuditEntry) => void
  /** @default Date.now */
  now?: () => number
}

interface Tally { protocol: string, peer: string, outcome: string, count: number, first: number, last: number }

/**
 * Aggregates refusal entries per (peer, code) and window.
 *
 * Within a window, the first refusal of each (peer, code) is written at once,
 * in full; the later ones are only counted, and written as one entry
 * `{ peer, outcome: code, detail: { count, first, last } }` when the window
 * closes (or the node stops). At most `maxKeys` (peer, code) pairs are
 * tracked per window; refusals beyond them are counted in one overflow entry
 * (peer `*`, outcome `ERR_MANY`), itself written once per window. So a
 * window writes at most 2 · maxKeys + 1 refusal entries.
 *
 * @example
 * const agg = new RefusalAggregator({ windowMs: 300_000, maxKeys: 256, write: (e) => { void log.append(e) } })
 * agg.refused(entry) // for every refusal; ok entries go to the log directly
 * agg.close()        // on stop: writes what is counted
 */
export class RefusalAggregator {
  readonly #init: RefusalAggregatorInit
  readonly #now: () => number
  readonly #tallies = new Map<string, Tally>()
  #overflow: Tally | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (init: RefusalAggregatorInit) {
    if (!Number.isInteger(init.windowMs) || init.windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${init.windowMs}`)
    if (!Number.isInteger(init.maxKeys) || init.maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${init.maxKeys}`)
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  /**
   * Record one refusal: written now if it is the first of its (peer, code) in
   * this window, else counted.
   *
   * @param entry the refusal's audit entry (outcome is its code)
   */
  refused (entry: AuditEntry): void {
    this.#timer ??= setTimeout(() => { this.flush() }, this.#init.windowMs).unref()
    const key = `${entry.peer}\u0000${entry.outcome}`
    const tally = this.#tallies.get(key)
    if (tally !== undefined) {
      tally.count++
      tally.last = entry.time
      return
    }
    if (this.#tallies.size < this.#init.maxKeys) {
      // A zero count: the first is written in full now, the tally holds only the repeats.
      this.#tallies.set(key, { protocol: entry.protocol, peer: entry.peer, outcome: entry.outcome, count: 0, first: entry.time, last: entry.time })
      this.#init.write(entry)
      return
    }
    this.#overflow ??= { protocol: 'any', peer: OVERFLOW_PEER, outcome: OVERFLOW_OUTCOME, count: 0, first: entry.time, last: entry.time }
    this.#overflow.count++
    this.#overflow.last = entry.time
  }

  /** Close the window: write one entry per (peer, code) that repeated, and the overflow entry. */
  flush (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const time = this.#now()
    for (const t of this.#tallies.values()) if (t.count > 0) this.#init.write(aggregate(t, time))
    if (this.#overflow !== undefined) this.#init.write(aggregate(this.#overflow, time))
    this.#tallies.clear()
    this.#overflow = undefined
  }

  /** Write what is counted and stop the window timer (when the node stops). */
  close (): void {
    this.flush()
  }
}

function aggregate (t: Tally, time: number): AuditEntry {
  return { time, protocol: t.protocol, peer: t.peer, action: REPEATED_ACTION, outcome: t.outcome, detail: { count: t.count, first: t.first, last: t.last } }
}
