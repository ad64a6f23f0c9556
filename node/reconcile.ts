/**
 * Holder reconciliation: a node compares every share it holds with the
 * newest manifest the network has for it, and acts on what the tenant has
 * signed since the node last heard. A holder that was away (crashed,
 * partitioned, restarted) can have missed three things:
 *
 * - an erase: the tenant's erased manifest is in the DHT, so the holder
 *   erases its share now, under that manifest as its tombstone: opt-out
 *   reaches holders that were down when it was asked;
 * - a repair that replaced it: the newer manifest no longer lists this node
 *   at the x it holds, so the share is destroyed (crypto-shredded as erase
 *   does, without a tombstone). A share a repair gave up on is still a valid
 *   share of the same sharing; kept, it would add to what its site holds;
 * - a newer manifest that still lists it with the share it holds (a repair of
 *   another holder): the copy is replaced, so it serves the current one.
 *
 * Nothing is taken on a peer's word: only records that validate (signed by
 * the slot's own tenant, chaining to the authority, under the key that names
 * them) count, and only one the selector prefers over the held copy (erased,
 * or a higher seq) changes anything. When nothing newer is found the held
 * copy is put back into the DHT, whose records live in memory at the peers
 * (this was the node's republish). A pass runs after start-up and then on a
 * schedule, one share at a time with a pause, so it never competes with
 * requests; a failed lookup changes nothing.
 *
 * @module
 */
import { equalBytes, toHex, wipe } from '../crypto/bytes.ts'
import { shareMatches } from '../crypto/shares.ts'
import { decodeManifest, entryFor, type ManifestBody } from '../protocol/manifest.ts'
import { manifestKey, slotTenantTag, tenantTag } from '../protocol/ownership.ts'
import { prefers, validateManifestRecord } from '../protocol/records.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { logger } from '../net/log.ts'
import type { RecordReplicas } from '../net/record-replicas.ts'
import type { ShareStore } from './store/share-store.ts'
import { RECONCILE_TIMEOUT_MS } from './constants.ts'

const log = logger('node:reconcile')

/**
 * Valid records after which a lookup stops: the tenant's client puts a
 * manifest to the closest peers, so a newer one is among the first few
 * answers; a hostile peer answering first with an old record only delays a
 * decision to the next pass, never makes a wrong one.
 */
const LOOKUP_RECORDS = 3

/** What a pass found a held share to be, against the newest valid manifest. */
export type Verdict =
  /** Nothing newer: put the held copy back into the DHT. */
  | { kind: 'current' }
  /** The tenant erased the template: erase it here, keeping `manifest` as the tombstone. */
  | { kind: 'erased', manifest: Uint8Array }
  /** A newer manifest lists this node with the share it holds: keep it, with `manifest` as the copy. */
  | { kind: 'adopt', manifest: Uint8Array }
  /** A newer manifest lists this node at its x with another share (a refresh it missed): leave it to the tenant's repair. */
  | { kind: 'stale' }
  /** A newer manifest no longer lists this node at its x: destroy the share. */
  | { kind: 'superseded', seq: number }

/** The newest valid record a lookup found. */
export interface Found { body: ManifestBody, bytes: Uint8Array }

/**
 * Judge a held share against the newest record found.
 *
 * @param held - the held manifest copy's body
 * @param share - the share held (x and bytes; only compared, not kept)
 * @param self - this node's peer id as manifests list holders
 * @param found - the preferred valid record under the held copy's key, if any
 * @returns what to do with the share
 */
export function judge (held: ManifestBody, share: { x: number, bytes: Uint8Array }, self: string, found: Found | undefined): Verdict {
  if (found === undefined || !prefers(found.body, held)) return { kind: 'current' }
  if (found.body.state === 'erased') return { kind: 'erased', manifest: found.bytes }
  const entry = entryFor(found.body, self)
  if (entry === undefined || entry.x !== share.x) return { kind: 'superseded', seq: found.body.seq }
  return shareMatches(held.templateId, share, entry.commitment) ? { kind: 'adopt', manifest: found.bytes } : { kind: 'stale' }
}

/** How many shares a pass left as they were, and how many it changed. */
export interface ReconcileTally {
  /** Held copies put back into the DHT (nothing newer found, too few peers holding it). */
  republished: number
  /** Held copies found current at enough peers: nothing to do. */
  present: number
  /** Copies replaced by a newer manifest that still lists the share. */
  adopted: number
  /** Shares erased because the tenant had erased the template. */
  erased: number
  /** Shares destroyed because a newer manifest no longer lists them. */
  superseded: number
  /** Shares listed with other bytes by a newer manifest, left in place. */
  stale: number
  /** Pending shares with nothing newer found: left to the pending sweeper, never republished. */
  pending: number
  /** Lookups or writes that failed (nothing was changed for them). */
  failed: number
}

/** One change a pass made, for the node's audit log (and its decoded manifests, which must not keep the old copy). */
export interface ReconcileChange {
  kind: 'erased' | 'superseded' | 'adopted'
  /** The storage slot (tenant tag, template id). */
  slot: Uint8Array
  /** The template id, hex. */
  subject: string
  /** The seq of the manifest that decided it. */
  seq: number
}

/** What reconciliation reads, looks up and writes. */
export interface ReconcileInit {
  store: Pick<ShareStore, 'ids' | 'isPending' | 'confirm' | 'getManifest' | 'getShare' | 'putManifest' | 'erase' | 'supersede'>
  /** Where manifest records are looked up and put back: the roster's closest nodes to each key (net/record-replicas.ts). */
  replicas: Pick<RecordReplicas, 'lookup' | 'put'>
  anchor: TrustAnchor
  /** This node's peer id, as manifests list their holders. */
  self: string
  /** @default Date.now */
  now?: () => number
  /** Told of every share erased or destroyed and every newer copy adopted (the node audits it and forgets its cached manifest). */
  onChange?: (change: ReconcileChange) => void
  /** Peers in the DHT's routing table: a pass asked for at once waits (bounded) for one, as a scheduled pass waits its delay. */
  peers?: () => number
}

/** Options of one pass. */
export interface PassOptions {
  /** Stops the pass between shares (the node is stopping). */
  signal: AbortSignal
  /** Pause before each share, ms: a background pass yields to requests. @default 0 */
  pauseMs?: number
}

/** Wait `ms`, or less when `signal` aborts first. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    t.unref()
    signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })
}

function emptyTally (): ReconcileTally {
  return { republished: 0, present: 0, adopted: 0, erased: 0, superseded: 0, stale: 0, pending: 0, failed: 0 }
}

/** What one lookup found. */
interface Lookup {
  /** The preferred valid record, if any. */
  best?: Found
  /** Peers that answered the lookup. */
  answered: number
  /** Valid records found of the same seq and state as `held`. */
  sameAsHeld: number
}

/**
 * Look `key` up until {@link LOOKUP_RECORDS} valid records are in (the
 * record sits at every one of its replicas, so a newer one shows among the
 * first few) or every replica asked has answered. Invalid records are skipped; a lookup
 * that fails part-way keeps what it found.
 */
async function newest (init: ReconcileInit, key: Uint8Array, held: ManifestBody, signal: AbortSignal): Promise<Lookup> {
  const out: Lookup = { answered: 0, sameAsHeld: 0 }
  let valid = 0
  const stop = new AbortController()
  try {
    for await (const answer of init.replicas.lookup(key, { signal: AbortSignal.any([signal, stop.signal]) })) {
      out.answered++
      if (answer.value === undefined) continue
      try {
        const m = validateManifestRecord(key, answer.value, init.anchor, { now: (init.now ?? Date.now)() })
        valid++
        if (!prefers(m.body, held) && !prefers(held, m.body)) out.sameAsHeld++
        if (out.best === undefined || prefers(m.body, out.best.body)) out.best = { body: m.body, bytes: answer.value }
      } catch {
        // An invalid record decides nothing.
      }
      if (valid >= LOOKUP_RECORDS) { stop.abort(); break }
    }
  } catch (e) {
    if (!stop.signal.aborted) log('manifest lookup ended early: %s', (e as Error).message)
  }
  return out
}

/** Reconcile one slot; returns the tally key to count it under. */
async function reconcileSlot (init: ReconcileInit, slot: Uint8Array, stop: AbortSignal): Promise<keyof ReconcileTally> {
  const { store } = init
  const pending = await store.isPending(slot)
  const copy = await store.getManifest(slot)
  if (copy === undefined) return 'failed'
  const held = decodeManifest(copy).body
  // The copy was checked when stored; its tenant must be the slot's owner.
  if (!equalBytes(tenantTag(held.tenant), slotTenantTag(slot))) return 'failed'
  const key = manifestKey(held.tenant, held.templateId)
  const { best: found, answered, sameAsHeld } = await newest(init, key, held, AbortSignal.any([stop, AbortSignal.timeout(RECONCILE_TIMEOUT_MS)]))
  // A lookup nobody answered says nothing about what is newer.
  if (found === undefined && answered === 0) return 'failed'
  const share = await store.getShare(slot)
  if (share === undefined) return 'failed'
  let verdict: Verdict
  try {
    verdict = judge(held, { x: share.x, bytes: share.share }, init.self, found)
  } finally {
    wipe(share.share)
  }
  const subject = toHex(held.templateId)
  switch (verdict.kind) {
    case 'current':
      // A pending store's enrolment may have failed: its holders never publish it.
      if (pending) return 'pending'
      // Enough peers hold it already: putting it again would only cost them a validation each.
      if (sameAsHeld >= LOOKUP_RECORDS) return 'present'
      await init.replicas.put(key, copy, { signal: AbortSignal.any([stop, AbortSignal.timeout(RECONCILE_TIMEOUT_MS)]) })
      return 'republished'
    case 'adopt':
      // Only over the copy judged: a round that swapped the share meanwhile left a newer copy, kept as it is.
      if (!(await store.putManifest(slot, verdict.manifest, copy))) return 'failed'
      // A newer manifest listing the share proves the enrolment was published.
      if (pending) await store.confirm(slot)
      init.onChange?.({ kind: 'adopted', slot, subject, seq: decodeManifest(verdict.manifest).body.seq })
      return 'adopted'
    case 'stale':
      log('template %s: a newer manifest lists this node with another share; left for the tenant\'s repair', subject)
      return 'stale'
    case 'erased':
      if (!(await store.erase(slot, verdict.manifest)).held) return 'failed'
      init.onChange?.({ kind: 'erased', slot, subject, seq: decodeManifest(verdict.manifest).body.seq })
      return 'erased'
    case 'superseded':
      if (!(await store.supersede(slot, copy))) return 'failed'
      init.onChange?.({ kind: 'superseded', slot, subject, seq: verdict.seq })
      return 'superseded'
  }
}

/**
 * One pass over every share held; never throws. A pending share (its
 * manifest not yet seen published) is acted on only when a newer manifest
 * decides it, and is never republished.
 *
 * @returns what the pass did, by kind
 * @example const tally = await reconcileShares({ store, replicas, anchor, self }, { signal, pauseMs: 100 })
 */
export async function reconcileShares (init: ReconcileInit, options: PassOptions): Promise<ReconcileTally> {
  const tally = emptyTally()
  const { signal } = options
  try {
    for await (const slot of init.store.ids()) {
      await pause(options.pauseMs ?? 0, signal)
      if (signal.aborted) break
      try {
        tally[await reconcileSlot(init, slot, signal)]++
      } catch (e) {
        tally.failed++
        log('reconciling a share failed: %s', (e as Error).message)
      }
    }
  } catch (e) {
    log('reconciliation stopped: %s', (e as Error).message)
  }
  log('reconciled: %o', tally)
  return tally
}

/** The longest delay a Node.js timer takes (a longer one fires at once): a schedule this long never runs on its own. */
export const RECONCILE_OFF_MS = 2 ** 31 - 1

/** When a {@link Reconciler} runs its passes. */
export interface ReconcileSchedule {
  /** The first pass starts this long after {@link Reconciler.start}, ms. */
  delayMs: number
  /** Then a pass every this many ms. */
  everyMs: number
  /** Pause before each share in a scheduled pass, ms. */
  pauseMs: number
}

/**
 * Runs {@link reconcileShares} on a schedule, one pass at a time; a pass
 * asked for with {@link Reconciler.now} waits for one under way, then runs
 * without pauses.
 *
 * @example
 * const r = new Reconciler(init, { delayMs: 2_000, everyMs: 3_600_000, pauseMs: 100 })
 * r.start(); … ; await r.stop()
 */
export class Reconciler {
  readonly #init: ReconcileInit
  readonly #schedule: ReconcileSchedule
  readonly #stop = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #last: Promise<ReconcileTally> = Promise.resolve(emptyTally())

  constructor (init: ReconcileInit, schedule: ReconcileSchedule) {
    this.#init = init
    this.#schedule = schedule
  }

  /** Schedule the first pass and every one after it. */
  start (): void {
    const tick = (delay: number): void => {
      this.#timer = setTimeout(() => {
        void this.#run(this.#schedule.pauseMs).finally(() => { if (!this.#stop.signal.aborted) tick(this.#schedule.everyMs) })
      }, Math.min(delay, RECONCILE_OFF_MS))
      this.#timer.unref()
    }
    tick(this.#schedule.delayMs)
  }

  /** Run a pass now, after any under way, without pauses, once the DHT knows a peer (or its lookup deadline passed). */
  async now (): Promise<ReconcileTally> {
    const deadline = Date.now() + RECONCILE_TIMEOUT_MS
    while ((this.#init.peers?.() ?? 1) === 0 && Date.now() < deadline && !this.#stop.signal.aborted) await pause(50, this.#stop.signal)
    return await this.#run(0)
  }

  /** Stop scheduling and wait for a pass under way (it stops between shares). */
  async stop (): Promise<void> {
    this.#stop.abort()
    clearTimeout(this.#timer)
    await this.#last
  }

  #run (pauseMs: number): Promise<ReconcileTally> {
    const next = this.#last.then(async () => await reconcileShares(this.#init, { signal: this.#stop.signal, pauseMs }))
    this.#last = next
    return next
  }
}
