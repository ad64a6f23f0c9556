/**
 * The node's one on-disk database: a single LevelDB (`level`, classic-level)
 * at `<dir>/db`, split into sublevels so that one atomic batch can span a
 * share, its manifest copy and a tombstone. A second process cannot open it
 * while a node runs (LevelDB's lock), which is reported as `ERR_BUSY`; erase
 * uses {@link NodeDb.compactAway} so deleted records leave the files, which
 * LevelDB would otherwise keep until a compaction happened to drop them.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import { BioshardError } from '../../errors.ts'
import { concat } from '../../crypto/bytes.ts'

/** The root database type: byte keys and byte values unless a sublevel says otherwise. */
export type RootDb = Level<Uint8Array, Uint8Array>

/** A sublevel whose keys are `K` and whose values are bytes. */
export type ByteSublevel<K> = AbstractSublevel<RootDb, string | Buffer | Uint8Array, K, Uint8Array>

/** The opened node database and its sublevels. */
export interface NodeDb {
  /** The node directory this database lives under (`<dir>/db`). */
  readonly dir: string
  /** The root database; use it for batches that span sublevels. */
  readonly db: RootDb
  /** slot (64 bytes, `tenantTag || templateId`) → encrypted share record (see `share-record.ts`). */
  readonly shares: ByteSublevel<Uint8Array>
  /** slot → the share's own key, wrapped under the storage key (see `share-record.ts`). */
  readonly shareKeys: ByteSublevel<Uint8Array>
  /** slot → encoded manifest (public). */
  readonly manifests: ByteSublevel<Uint8Array>
  /** slot → encoded erase record (public), kept forever. */
  readonly tombstones: ByteSublevel<Uint8Array>
  /** slot → when a store was taken (8-byte big-endian ms) whose manifest the node has not yet seen published. */
  readonly pending: ByteSublevel<Uint8Array>
  /** slot → empty: a share of it was overwritten or deleted and is not yet known compacted out of the files. */
  readonly compacting: ByteSublevel<Uint8Array>
  /** 8-byte big-endian seq → audit record (see `audit-log.ts`). */
  readonly audit: ByteSublevel<Uint8Array>
  /** Small named values (format version, counters) keyed by utf8 name. */
  readonly meta: ByteSublevel<string>
  /**
   * Compact a deleted `key` of `sublevel` out of the files. A LevelDB range
   * compaction first writes the memtable to a table file and starts a new
   * write-ahead log (deleting the old one), then merges the table files
   * holding the key level by level, dropping values a later deletion hides.
   * It never rewrites a file at the deepest level it reaches, so a value and
   * its deletion flushed into one such file would both stay: the key is
   * therefore deleted once more and compacted again, which merges that file
   * with the new deletion. Open iterators pin the values they can see, so
   * callers keep none open across it.
   */
  compactAway: (sublevel: ByteSublevel<Uint8Array>, key: Uint8Array) => Promise<void>
  /**
   * Compact one key's range without deleting it: versions the key's current
   * value overwrote (a refreshed share's old record and key) leave the files.
   */
  compactOverwritten: (sublevel: ByteSublevel<Uint8Array>, key: Uint8Array) => Promise<void>
  /** Close the database (and release its lock). */
  close: () => Promise<void>
  /** Every write of the node goes through it: after one fails, none is tried until a restart. */
  readonly writes: WriteGuard
}

/**
 * The write latch of one open database. When a write fails (disk full, file
 * size limit, read-only filesystem) LevelDB may have put part of it at the end
 * of its log; a record appended after that fragment can be misread, and the
 * rest of its log block dropped, at the next open, which would lose writes
 * that were acknowledged. So after the first failure every write, of shares
 * and audit records alike, is refused (ERR_STORAGE) without reaching the disk;
 * reads go on, and a restart reopens the log and starts a fresh one.
 *
 * @example await ndb.writes.run(async () => { await ndb.db.batch(ops, { sync: true }) })
 */
export class WriteGuard {
  #failure: Error | undefined

  /** Whether a write has failed since the database was opened. */
  get failed (): boolean {
    return this.#failure !== undefined
  }

  /**
   * Run one write, unless an earlier one failed.
   *
   * @throws {BioshardError} ERR_STORAGE when this write or an earlier one could not be written (the LevelDB error is the cause)
   */
  async run (write: () => Promise<void>): Promise<void> {
    if (this.#failure !== undefined) throw storageError(this.#failure)
    try {
      await write()
    } catch (e) {
      this.#failure = e as Error
      throw storageError(this.#failure)
    }
  }
}

/** The typed refusal of a write the disk did not take (the message names the system error, never data). */
function storageError (cause: Error): BioshardError {
  const why = (cause as { cause?: Error }).cause?.message ?? cause.message
  return new BioshardError('ERR_STORAGE', `the node cannot write to its storage (${why.slice(0, 120)}): nothing was stored or changed`, { cause })
}

/** The part of classic-level that `level`'s types do not show. */
interface Compactable {
  compactRange: (start: Uint8Array, end: Uint8Array, options: { keyEncoding: 'view' }) => Promise<void>
}

/** Options for {@link openNodeDb}. */
export interface OpenNodeDbOptions {
  /**
   * Create `<dir>/db` when missing. Read-side tools (audit verify) pass
   * `false` so that a mistyped directory is reported, not silently created.
   * @default true
   */
  createIfMissing?: boolean
}

/**
 * Open (creating if allowed) the node database at `<dir>/db`.
 *
 * @param dir the node directory
 * @param options see {@link OpenNodeDbOptions}
 * @returns the open database with its sublevels
 * @throws {BioshardError} ERR_BUSY when another process (a running node) holds the lock;
 *   ERR_NOT_FOUND when `createIfMissing` is false and there is no database;
 *   ERR_INTERNAL for any other open failure (the LevelDB error is the `cause`)
 * @example
 * const ndb = await openNodeDb('/var/lib/bioshard')
 * try { await ndb.meta.get('version') } finally { await ndb.close() }
 */
export async function openNodeDb (dir: string, options: OpenNodeDbOptions = {}): Promise<NodeDb> {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty string')
  const createIfMissing = options.createIfMissing ?? true
  const location = join(dir, 'db')
  if (!createIfMissing && !existsSync(join(location, 'CURRENT'))) {
    throw new BioshardError('ERR_NOT_FOUND', `no node database at ${dir}`)
  }
  if (createIfMissing) await mkdir(location, { recursive: true, mode: 0o700 })

  const db: RootDb = new Level<Uint8Array, Uint8Array>(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    createIfMissing
  })
  try {
    await db.open()
  } catch (e) {
    const cause = (e as { cause?: { code?: unknown } }).cause
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new BioshardError('ERR_BUSY', `the node at ${dir} is running (its database is locked); stop it first`, { cause: e })
    }
    throw new BioshardError('ERR_INTERNAL', `cannot open the node database at ${dir}: ${(e as Error).message}`, { cause: e })
  }

  const bytes = { keyEncoding: 'view', valueEncoding: 'view' } as const
  const writes = new WriteGuard()
  return {
    writes,
    dir,
    db,
    shares: db.sublevel<Uint8Array, Uint8Array>('shares', bytes),
    shareKeys: db.sublevel<Uint8Array, Uint8Array>('share-keys', bytes),
    manifests: db.sublevel<Uint8Array, Uint8Array>('manifests', bytes),
    tombstones: db.sublevel<Uint8Array, Uint8Array>('tombstones', bytes),
    pending: db.sublevel<Uint8Array, Uint8Array>('pending', bytes),
    compacting: db.sublevel<Uint8Array, Uint8Array>('compacting', bytes),
    audit: db.sublevel<Uint8Array, Uint8Array>('audit', bytes),
    meta: db.sublevel<string, Uint8Array>('meta', { keyEncoding: 'utf8', valueEncoding: 'view' }),
    compactAway: async (sublevel, key) => {
      const start = sublevel.prefixKey(key, 'view')
      // The range's end is exclusive: the key followed by a zero byte sorts right after it.
      const end = concat(start, Uint8Array.of(0))
      const compactable = db as unknown as Compactable
      await compactable.compactRange(start, end, { keyEncoding: 'view' })
      await writes.run(async () => { await sublevel.del(key) })
      await compactable.compactRange(start, end, { keyEncoding: 'view' })
    },
    compactOverwritten: async (sublevel, key) => {
      const start = sublevel.prefixKey(key, 'view')
      await (db as unknown as Compactable).compactRange(start, concat(start, Uint8Array.of(0)), { keyEncoding: 'view' })
    },
    close: async () => { await db.close() }
  }
}
