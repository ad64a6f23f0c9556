/**
 * The durable, encrypted share store of one node.
 *
 * Everything is keyed by the 64-byte storage slot `tenantTag || templateId`
 * (protocol/ownership.ts), so another tenant's record can never sit under the
 * same key. Each share is encrypted under a key of its own, wrapped under the
 * node's storage key, so erase can destroy both and compact them away; every
 * write is one synced LevelDB batch, so an acknowledged store survives kill -9
 * and power loss (docs/architecture.md, "Invariants", 6).
 *
 * @module
 */
import { createSecretKey, type KeyObject } from 'node:crypto'
import { abytes, aint, equalBytes, plain, toHex, wipe } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { SLOT_BYTES } from '../../protocol/ownership.ts'
import type { NodeDb, RootDb } from './db.ts'
import type { AbstractBatchOperation } from 'abstract-level'
import { SHARE_RECORD_VERSION, openShareRecord, sealShare, unwrapShareKey } from './share-record.ts'

export { SLOT_BYTES } from '../../protocol/ownership.ts'
/** Length of a format-1 key (a bare template id); such databases are refused at open. */
const V1_KEY_BYTES = 32
/** Length of the storage key (AES-256). */
export const STORAGE_KEY_BYTES = 32
export { SHARE_RECORD_VERSION } from './share-record.ts'
/** Slots read per page by {@link ShareStore.ids}: small enough to hold, large enough to be few reads. */
const IDS_PAGE = 256

/** One operation of a store write (a batch spanning sublevels). */
type WriteOp = AbstractBatchOperation<RootDb, Uint8Array, Uint8Array>

/** A decrypted share with its public manifest copy. The caller wipes `share`. */
export interface HeldShare {
  x: number
  share: Uint8Array
  manifest: Uint8Array
}

/** A decrypted share without its manifest copy. The caller wipes `share`. */
export interface ShareOnly {
  x: number
  share: Uint8Array
}

/** A share whose manifest the node has not yet seen published. */
export interface PendingShare {
  slot: Uint8Array
  /** When the store was taken (ms since the epoch). */
  since: number
}

/** Options of a {@link ShareStore}. */
export interface ShareStoreOptions {
  /** Clock for the pending marks. @default Date.now */
  now?: () => number
}

/** What {@link ShareStore.erase} found. */
export interface EraseOutcome {
  /** A tombstone already existed: nothing was changed. */
  alreadyErased: boolean
  /** A share was held and has now been deleted. */
  held: boolean
}

/** The arguments of a share write, checked (a share of 1..n bytes at x 1..255 in a 64-byte slot, with its manifest). */
function checkShareArgs (slot: Uint8Array, x: number, share: Uint8Array, manifest: Uint8Array): { slot: Uint8Array, share: Uint8Array, manifest: Uint8Array } {
  const checked = { slot: abytes(slot, SLOT_BYTES, 'slot'), share: abytes(share, undefined, 'share'), manifest: abytes(manifest, undefined, 'manifest') }
  aint(x, 1, 255, 'x')
  if (checked.share.length === 0) throw new RangeError('share must not be empty')
  return checked
}

/**
 * Encrypted, durable, per-id serialised share storage over a {@link NodeDb}.
 *
 * A share at rest is encrypted under a random key of its own, kept wrapped
 * under the node's storage key in a sublevel of its own (format 2). Erase
 * deletes the record and the wrapped key in one batch and then compacts both
 * away ({@link NodeDb.compactAway}), so no file of the node keeps the share's
 * ciphertext or its key (docs/storage.md says what a filesystem may still keep).
 *
 * Every write is one LevelDB batch with `{ sync: true }`: the share and its
 * manifest copy (or, on erase, the deletions and the tombstone) land together
 * and are on disk before the promise resolves. Writes (and reads, so a get
 * never sees a share without its manifest) are serialised per slot; different
 * slots proceed in parallel.
 *
 * A new share is *pending* until the node has seen its manifest published
 * ({@link ShareStore.confirm}); a pending share that never is gets dropped
 * ({@link ShareStore.drop}). The mark is written in the share's own batch, so
 * it survives a restart with it.
 *
 * Format 1 keyed records by the template id alone. A database holding such
 * records is refused at open (ERR_UNSUPPORTED_VERSION): they cannot be told
 * apart by owner without trusting the manifest copy beside them.
 *
 * @example
 * const store = new ShareStore(ndb, storageKey)
 * await store.put(slotKey(tenant, templateId), 2, share, manifestBytes)
 * const held = await store.get(slotKey(tenant, templateId)) // { x: 2, share, manifest }
 * wipe(held.share)
 */
export class ShareStore {
  readonly #db: NodeDb
  readonly #key: KeyObject
  readonly #locks = new Map<string, Promise<void>>()
  /** Erased slots (latin1 strings of the 64 slot bytes); mirrors the tombstones sublevel. */
  readonly #erased = new Set<string>()
  /** Erased slots whose compaction failed; a repeated erase retries it. */
  readonly #uncompacted = new Set<string>()
  #count = 0
  readonly #ready: Promise<void>
  readonly #now: () => number

  /**
   * @param db the open node database
   * @param storageKey 32-byte AES-256 key that wraps each share's own key. It is imported into a KeyObject
   *   (node:crypto keeps its own copy); no reference to these bytes is kept,
   *   so the caller may wipe them after construction.
   * @param options see {@link ShareStoreOptions}
   * @throws {TypeError|RangeError} when storageKey is not 32 bytes
   */
  constructor (db: NodeDb, storageKey: Uint8Array, options: ShareStoreOptions = {}) {
    abytes(storageKey, STORAGE_KEY_BYTES, 'storageKey')
    this.#db = db
    this.#now = options.now ?? Date.now
    this.#key = createSecretKey(storageKey)
    // Counting once at open keeps /metrics O(1), and loading the tombstones
    // once keeps isErased off the disk; every write and isErased await this
    // first, so no put or erase can be counted twice or missed, and no
    // erased id is ever reported as not erased.
    this.#ready = this.#load()
    this.#ready.catch(() => {}) // surfaced by the first operation that awaits it
  }

  async #load (): Promise<void> {
    let n = 0
    for await (const slot of this.#db.shares.keys()) {
      refuseV1(slot)
      n++
    }
    this.#count = n
    for await (const slot of this.#db.tombstones.keys()) {
      refuseV1(slot)
      this.#erased.add(mapKey(slot))
    }
    // A process that died between a share's overwrite or deletion and its compaction left its bytes in the files.
    const marked: Uint8Array[] = []
    for await (const slot of this.#db.compacting.keys()) marked.push(Uint8Array.from(slot))
    for (const slot of marked) {
      // A compaction that fails keeps its mark for the next open; the store still opens.
      await this.#compactMarked(slot).catch(() => {})
    }
  }

  /**
   * Wait for the store to be loaded. A node calls it before serving, so that
   * a database it cannot read stops the start with one clear message.
   *
   * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a database of share format 1
   * @example await store.ready()
   */
  async ready (): Promise<void> {
    await this.#ready
  }

  /**
   * Store a share durably, marked pending. Idempotent for an identical
   * (x, share) pair; the manifest copy and the mark are then left as they
   * are (use {@link putManifest} to replace the copy).
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @param x the share's x-coordinate (1..255)
   * @param share the share bytes (not retained; the caller wipes them)
   * @param manifest the encoded manifest (public)
   * @throws {BioshardError} ERR_ERASED when the id has a tombstone;
   *   ERR_CONFLICT when a different share (other x or other bytes) is held for the id;
   *   ERR_STORAGE when the disk did not take the write (nothing is stored)
   * @throws {DecryptError} when the held record for the id fails to authenticate
   */
  async put (slot: Uint8Array, x: number, share: Uint8Array, manifest: Uint8Array): Promise<void> {
    ;({ slot, share, manifest } = checkShareArgs(slot, x, share, manifest))
    await this.#ready
    await this.#exclusive(slot, async () => {
      if (this.#erased.has(mapKey(slot))) {
        throw new BioshardError('ERR_ERASED', `${name(slot)} has been erased`)
      }
      const existing = await this.#db.shares.get(slot)
      if (existing !== undefined) {
        const held = this.#open(slot, plain(existing), await this.#db.shareKeys.get(slot))
        try {
          if (held.x === x && equalBytes(held.share, share)) return
        } finally {
          wipe(held.share)
        }
        throw new BioshardError('ERR_CONFLICT', `a different share is already held for ${name(slot)}`)
      }
      const { record, wrappedKey } = sealShare(this.#key, slot, x, share)
      await this.#write([
        { type: 'put', sublevel: this.#db.shares, key: slot, value: record },
        { type: 'put', sublevel: this.#db.shareKeys, key: slot, value: wrappedKey },
        { type: 'put', sublevel: this.#db.pending, key: slot, value: timeBytes(this.#now()) },
        { type: 'put', sublevel: this.#db.manifests, key: slot, value: manifest }
      ])
      this.#count++
    })
  }

  /**
   * Read and decrypt the share held for an id.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns the share (caller wipes `share`) with its manifest copy, or undefined when none is held
   * @throws {DecryptError} ERR_DECRYPT when the record was tampered with or moved; never returns wrong bytes
   * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a record of an unknown format;
   *   ERR_INTERNAL when the manifest copy is missing
   */
  async get (slot: Uint8Array): Promise<HeldShare | undefined> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    return await this.#exclusive(slot, async () => {
      const [record, wrappedKey, manifest] = await Promise.all([
        this.#db.shares.get(slot),
        this.#db.shareKeys.get(slot),
        this.#db.manifests.get(slot)
      ])
      if (record === undefined) return undefined
      if (manifest === undefined) {
        throw new BioshardError('ERR_INTERNAL', `share for ${name(slot)} has no manifest copy`)
      }
      const { x, share } = this.#open(slot, plain(record), wrappedKey)
      return { x, share, manifest: plain(manifest) }
    })
  }

  /**
   * Read and decrypt only the share held for an id, without its manifest copy
   * (for callers that already hold the manifest, such as the fetch handler).
   *
   * It reads the record and its wrapped key without the per-slot lock: a put
   * writes both in one batch and an erase deletes both in one batch, so it
   * sees both, neither, or (racing an erase between its two reads) only the
   * record, which it then reports as not held.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns the x-coordinate and share (caller wipes `share`), or undefined when none is held
   * @throws {DecryptError} ERR_DECRYPT when the record was tampered with or moved; never returns wrong bytes
   * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a record of an unknown format
   * @example
   * const held = await store.getShare(slot)
   * if (held !== undefined) try { use(held.share) } finally { wipe(held.share) }
   */
  async getShare (slot: Uint8Array): Promise<ShareOnly | undefined> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    // Read synchronously: a share is a few hundred bytes that LevelDB serves
    // from its cache or the page cache in microseconds, while an async read
    // wakes a thread-pool thread and costs two context switches per fetch
    // (on a 2-core machine, a fifth of the holder's time under load).
    const record = this.#db.shares.getSync(slot)
    if (record === undefined) return undefined
    const wrappedKey = this.#db.shareKeys.getSync(slot)
    if (wrappedKey === undefined) return undefined
    return this.#open(slot, plain(record), wrappedKey)
  }

  /**
   * The manifest copy held beside a share.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns the encoded manifest, or undefined when none is held
   */
  async getManifest (slot: Uint8Array): Promise<Uint8Array | undefined> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    const m = await this.#db.manifests.get(slot)
    return m === undefined ? undefined : plain(m)
  }

  /**
   * Replace the manifest copy (a later seq, after refresh or repair). Durable on return.
   * The caller checks that the new manifest supersedes the old one.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @param manifest the encoded manifest (public)
   * @param replacing only when the copy held is still these bytes (the one a decision was made against): a maintenance
   *   round that swapped the share meanwhile also replaced the copy, and a newer copy is never overwritten by an older one
   * @returns false when `replacing` was given and the copy held had changed (nothing written)
   * @throws {BioshardError} ERR_ERASED when the id has a tombstone; ERR_NOT_FOUND when no share is held
   */
  async putManifest (slot: Uint8Array, manifest: Uint8Array, replacing?: Uint8Array): Promise<boolean> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    manifest = abytes(manifest, undefined, 'manifest')
    await this.#ready
    return await this.#exclusive(slot, async () => {
      if (this.#erased.has(mapKey(slot))) {
        throw new BioshardError('ERR_ERASED', `${name(slot)} has been erased`)
      }
      if (!(await this.#db.shares.has(slot))) {
        throw new BioshardError('ERR_NOT_FOUND', `no share is held for ${name(slot)}`)
      }
      if (replacing !== undefined) {
        const copy = await this.#db.manifests.get(slot)
        if (copy === undefined || !equalBytes(plain(copy), replacing)) return false
      }
      await this.#write([
        { type: 'put', sublevel: this.#db.manifests, key: slot, value: manifest }
      ])
      return true
    })
  }

  /**
   * Swap the held share for a refreshed one of the same x, with its new
   * manifest copy, in one durable batch: the new share is sealed under a
   * fresh key of its own, and the old record and its key, overwritten in that
   * batch, are then compacted out of the files (crypto-shredding, as erase
   * does). No moment exists at which both shares are on disk under live keys.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @param x the share's x-coordinate (must be the held share's)
   * @param share the new share bytes (not retained; the caller wipes them)
   * @param manifest the encoded new manifest (public)
   * @throws {BioshardError} ERR_ERASED when the id has a tombstone; ERR_NOT_FOUND when no share is held;
   *   ERR_CONFLICT when the held share has another x; ERR_INTERNAL when compacting the old record away failed
   */
  async replace (slot: Uint8Array, x: number, share: Uint8Array, manifest: Uint8Array): Promise<void> {
    ;({ slot, share, manifest } = checkShareArgs(slot, x, share, manifest))
    await this.#ready
    await this.#exclusive(slot, async () => {
      if (this.#erased.has(mapKey(slot))) throw new BioshardError('ERR_ERASED', `${name(slot)} has been erased`)
      const existing = await this.#db.shares.get(slot)
      if (existing === undefined) throw new BioshardError('ERR_NOT_FOUND', `no share is held for ${name(slot)}`)
      const held = this.#open(slot, plain(existing), await this.#db.shareKeys.get(slot))
      wipe(held.share)
      if (held.x !== x) throw new BioshardError('ERR_CONFLICT', `the share held for ${name(slot)} has another x`)
      const { record, wrappedKey } = sealShare(this.#key, slot, x, share)
      await this.#write([
        { type: 'put', sublevel: this.#db.shares, key: slot, value: record },
        { type: 'put', sublevel: this.#db.shareKeys, key: slot, value: wrappedKey },
        { type: 'put', sublevel: this.#db.manifests, key: slot, value: manifest },
        { type: 'del', sublevel: this.#db.pending, key: slot },
        this.#mark(slot)
      ])
      try {
        await this.#compactMarked(slot)
      } catch (e) {
        throw new BioshardError('ERR_INTERNAL', `${name(slot)} was refreshed, but compacting the old share out of the database failed`, { cause: e })
      }
    })
  }

  /**
   * Erase: delete the share, its wrapped key and the manifest copy and keep
   * a tombstone, in one durable batch; then compact the share and its key
   * out of the database files. Idempotent: a second erase changes nothing
   * and keeps the first tombstone (the evidence of the original erase); it
   * compacts again only when an earlier compaction of the slot failed.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @param tombstone the encoded erase record (public)
   * @returns whether the id was already erased and whether a share was held
   * @throws {BioshardError} ERR_INTERNAL when the erase is on disk but compacting it away failed (erase again to retry)
   */
  async erase (slot: Uint8Array, tombstone: Uint8Array): Promise<EraseOutcome> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    tombstone = abytes(tombstone, undefined, 'tombstone')
    await this.#ready
    const key = mapKey(slot)
    return await this.#exclusive(slot, async () => {
      // A tombstone and a share never coexist (put refuses after erase and
      // erase deletes in the same batch), so an erased id has nothing to delete.
      if (this.#erased.has(key)) {
        if (this.#uncompacted.has(key)) await this.#compactAway(slot)
        return { alreadyErased: true, held: false }
      }
      const held = await this.#db.shares.has(slot)
      await this.#write([
        { type: 'del', sublevel: this.#db.shares, key: slot },
        { type: 'del', sublevel: this.#db.shareKeys, key: slot },
        { type: 'del', sublevel: this.#db.manifests, key: slot },
        { type: 'del', sublevel: this.#db.pending, key: slot },
        { type: 'put', sublevel: this.#db.tombstones, key: slot, value: tombstone },
        ...(held ? [this.#mark(slot)] : [])
      ])
      // Only now that the tombstone is on disk: memory never runs ahead of it.
      this.#erased.add(key)
      if (held) this.#count--
      if (held) await this.#compactAway(slot)
      return { alreadyErased: false, held }
    })
  }

  /**
   * Shares still pending that were stored at or before `cutoff`, oldest
   * slots first in key order, at most `limit` of them.
   *
   * @param cutoff ms since the epoch
   * @param limit most entries returned
   * @returns the pending shares (slot and when it was stored)
   */
  async pendingBefore (cutoff: number, limit: number): Promise<PendingShare[]> {
    await this.#ready
    const out: PendingShare[] = []
    let after: Uint8Array | undefined
    while (out.length < limit) {
      const page = await this.#db.pending.iterator({ limit: IDS_PAGE, ...(after !== undefined ? { gt: after } : {}) }).all()
      for (const [slot, value] of page) {
        const since = readTime(value)
        if (since <= cutoff && out.length < limit) out.push({ slot: Uint8Array.from(slot), since })
      }
      if (page.length < IDS_PAGE) break
      after = Uint8Array.from(page[page.length - 1][0])
    }
    return out
  }

  /**
   * Whether the share in a slot is still pending (its manifest not yet seen published).
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   */
  async isPending (slot: Uint8Array): Promise<boolean> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    return await this.#db.pending.has(slot)
  }

  /**
   * The share's manifest was seen published: it is no longer pending. Durable on return.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   */
  async confirm (slot: Uint8Array): Promise<void> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    await this.#exclusive(slot, async () => {
      await this.#write([{ type: 'del', sublevel: this.#db.pending, key: slot }])
    })
  }

  /**
   * Drop a share that is still pending, as erase would destroy it (share,
   * key, manifest copy and mark deleted in one batch, then compacted away)
   * but leaving no tombstone: there is no signed erase to keep, and the
   * tenant may store the id again with a fresh request.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns true when a pending share was dropped; false when the slot is no longer pending
   * @throws {BioshardError} ERR_INTERNAL when the drop is on disk but compacting it away failed
   */
  async drop (slot: Uint8Array): Promise<boolean> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    await this.#ready
    return await this.#exclusive(slot, async () => {
      if (!(await this.#db.pending.has(slot))) return false
      await this.#destroy(slot)
      return true
    })
  }

  /** Delete a slot's share, key, manifest copy and mark in one batch, then compact them away (the caller holds the slot's lock). */
  async #destroy (slot: Uint8Array): Promise<void> {
    const held = await this.#db.shares.has(slot)
    await this.#write([
      { type: 'del', sublevel: this.#db.shares, key: slot },
      { type: 'del', sublevel: this.#db.shareKeys, key: slot },
      { type: 'del', sublevel: this.#db.manifests, key: slot },
      { type: 'del', sublevel: this.#db.pending, key: slot },
      ...(held ? [this.#mark(slot)] : [])
    ])
    if (held) {
      this.#count--
      await this.#compactAway(slot)
    }
  }

  /**
   * Destroy a share that a newer tenant-signed manifest no longer lists (a
   * repair replaced this holder while it was away), as {@link drop} does and
   * without a tombstone: the template lives on at other holders, and this
   * node may be given a new share of it later. Only when the manifest copy
   * held is still `judged`, the one the decision was made against: a
   * maintenance round that swapped the share meanwhile also replaced the
   * copy, and then nothing is destroyed.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @param judged the manifest copy the caller read and found superseded
   * @returns true when the share was destroyed
   * @throws {BioshardError} ERR_STORAGE when the disk did not take the write; ERR_INTERNAL when compacting it away failed
   */
  async supersede (slot: Uint8Array, judged: Uint8Array): Promise<boolean> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    judged = abytes(judged, undefined, 'judged')
    await this.#ready
    return await this.#exclusive(slot, async () => {
      const copy = await this.#db.manifests.get(slot)
      if (copy === undefined || !equalBytes(plain(copy), judged) || !(await this.#db.shares.has(slot))) return false
      await this.#destroy(slot)
      return true
    })
  }

  /**
   * The tombstone kept for an erased id.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns the encoded erase record, or undefined when the id was never erased
   */
  async tombstone (slot: Uint8Array): Promise<Uint8Array | undefined> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    const t = await this.#db.tombstones.get(slot)
    return t === undefined ? undefined : plain(t)
  }

  /**
   * Whether the id has a tombstone here, answered from memory; waits only for
   * the load at open. The set of erased slots is loaded from the tombstones at
   * open and added to only after an erase batch is on disk, so this (asked on
   * every fetch and store) reads no disk and can never report an erase that a
   * crash would undo. Tombstones are kept forever, so the set grows by one
   * short string per erased id.
   *
   * @param slot 64-byte storage slot (tenant tag, template id)
   * @returns true when the id has been erased here
   */
  async isErased (slot: Uint8Array): Promise<boolean> {
    slot = abytes(slot, SLOT_BYTES, 'slot')
    await this.#ready
    return this.#erased.has(mapKey(slot))
  }

  /** @returns the number of shares held (kept in memory; no disk read after open) */
  async count (): Promise<number> {
    await this.#ready
    return this.#count
  }

  /**
   * The number of shares held, synchronously, for metrics gauges. It reads 0
   * until the count at open has finished (milliseconds after construction).
   */
  countNow (): number {
    return this.#count
  }

  /**
   * Every slot with a share held, in key order. Read a page at a time, so
   * that no database iterator (which pins a snapshot, keeping deleted
   * records from being compacted away) stays open while the caller works.
   *
   * @returns the slots
   */
  async * ids (): AsyncIterable<Uint8Array> {
    let after: Uint8Array | undefined
    for (;;) {
      const page = await this.#db.shares.keys({ limit: IDS_PAGE, ...(after !== undefined ? { gt: after } : {}) }).all()
      for (const k of page) yield Uint8Array.from(k)
      if (page.length < IDS_PAGE) return
      after = Uint8Array.from(page[page.length - 1])
    }
  }

  /** Unwrap the share's key, open its record, wipe the key. */
  #open (slot: Uint8Array, record: Uint8Array, wrappedKey: Uint8Array | undefined): { x: number, share: Uint8Array } {
    const what = `share record for ${name(slot)}`
    if (wrappedKey === undefined) throw new BioshardError('ERR_INTERNAL', `${what} has no key`)
    const key = unwrapShareKey(this.#key, slot, wrappedKey, `share key for ${name(slot)}`)
    try {
      return openShareRecord(key, slot, record, what)
    } finally {
      wipe(key)
    }
  }

  /** Compact an erased slot's record and key out of the files; remember a failure so a repeated erase retries. */
  async #compactAway (slot: Uint8Array): Promise<void> {
    const key = mapKey(slot)
    this.#uncompacted.add(key)
    try {
      await this.#compactMarked(slot)
    } catch (e) {
      throw new BioshardError('ERR_INTERNAL', `${name(slot)} is erased, but compacting it out of the database failed: erase again to retry`, { cause: e })
    }
    this.#uncompacted.delete(key)
  }

  /** The batch entry that marks `slot` as holding share bytes to compact out of the files (written with what leaves them). */
  #mark (slot: Uint8Array): WriteOp {
    return { type: 'put', sublevel: this.#db.compacting, key: slot, value: new Uint8Array(0) }
  }

  /**
   * Compact the overwritten or deleted share versions of a marked slot out of the files, then clear its mark: a live share
   * is compacted in place (its earlier versions leave), a deleted one away. The mark outlives a crash before the compaction
   * ends, and the store compacts every marked slot when it opens.
   */
  async #compactMarked (slot: Uint8Array): Promise<void> {
    const live = await this.#db.shares.has(slot)
    for (const sublevel of [this.#db.shares, this.#db.shareKeys]) {
      if (live) await this.#db.compactOverwritten(sublevel, slot)
      else await this.#db.compactAway(sublevel, slot)
    }
    await this.#write([{ type: 'del', sublevel: this.#db.compacting, key: slot }])
  }

  /**
   * One synced batch, through the database's write latch ({@link NodeDb.writes}).
   *
   * @throws {BioshardError} ERR_STORAGE when the batch, or an earlier write, could not be written
   */
  async #write (ops: WriteOp[]): Promise<void> {
    await this.#db.writes.run(async () => { await this.#db.db.batch(ops, { sync: true }) })
  }

  async #exclusive<T> (slot: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const id = toHex(slot)
    const prev = this.#locks.get(id) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => { release = resolve })
    const tail = prev.then(() => mine)
    this.#locks.set(id, tail)
    await prev
    try {
      return await fn()
    } finally {
      release()
      if (this.#locks.get(id) === tail) this.#locks.delete(id)
    }
  }
}

/** A compact, exact Map/Set key for a 32-byte id (one byte per character). */
function mapKey (slot: Uint8Array): string {
  return Buffer.from(slot.buffer, slot.byteOffset, slot.byteLength).toString('latin1')
}

/** A time as 8 bytes, big-endian. */
function timeBytes (ms: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(Math.max(0, Math.trunc(ms))))
  return b
}

/** The time in a pending mark; a malformed one reads as 0 (the oldest: looked at first). */
function readTime (b: Uint8Array): number {
  if (b.length !== 8) return 0
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0))
}

/** Refuse a database written by format 1, whose keys were bare template ids. */
function refuseV1 (key: Uint8Array): void {
  if (key.length === V1_KEY_BYTES) {
    throw new BioshardError('ERR_UNSUPPORTED_VERSION',
      'the node database holds share records of format 1 (keyed by template id alone); ' +
      `this node reads format ${SHARE_RECORD_VERSION}: erase them with the earlier version, or start on a new directory`)
  }
}

/** How messages name a slot: by its template id (the tenant tag is not meaningful to a reader). */
function name (slot: Uint8Array): string {
  return `template ${toHex(slot.subarray(SLOT_BYTES - V1_KEY_BYTES))}`
}
