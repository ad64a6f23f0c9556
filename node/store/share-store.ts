/**
 * The durable, encrypted share store of one node.
 *
 * A share at rest is AES-256-GCM encrypted under the node's storage key, with
 * AAD = utf8(AEAD.SHARE_AT_REST) || templateId || [x], so a record moved to
 * another id or relabelled with another x fails to decrypt instead of being
 * served as the wrong share. Record layout (version 1):
 *
 *   version(1) || x(1) || nonce(12) || ciphertext || tag(16)
 *
 * Every write is one LevelDB batch with `{ sync: true }`: the share and its
 * manifest copy (or, on erase, the deletions and the tombstone) land together
 * and are on disk before the promise resolves, so an acknowledged store
 * survives kill -9 and power loss (DESIGN invariant 6).
 *
 * Writes (and reads, so a get never sees a share without its manifest) are
 * serialised per templateId; different ids proceed in parallel.
 *
 * The set of erased ids is also kept in memory, loaded from the tombstones at
 * open and added to only after an erase batch is on disk, so `isErased` (asked
 * on every fetch and store) reads no disk and can never report an erase that
 * a crash would undo. Tombstones are kept forever, so this set grows by one
 * short string (≈80 bytes) per erased id.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { abytes, aint, concat, equalBytes, plain, randomBytes, toHex, utf8, wipe } from '../../crypto/bytes.ts'
import { BioshardError, DecryptError } from '../../crypto/errors.ts'
import { AEAD } from '../../crypto/tags.ts'
import type { NodeDb } from './db.ts'

/** Length of a templateId. */
export const TEMPLATE_ID_BYTES = 32
/** Length of the storage key (AES-256). */
export const STORAGE_KEY_BYTES = 32
/** The share record format written by this version. */
export const SHARE_RECORD_VERSION = 1
// GCM: a 96-bit nonce is the size the spec optimises for (NIST SP 800-38D
// §8.2); random nonces are safe far beyond any one node's share count.
const NONCE_BYTES = 12
const TAG_BYTES = 16
const HEADER_BYTES = 2
const AAD_PREFIX = utf8(AEAD.SHARE_AT_REST)

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

/** What {@link ShareStore.erase} found. */
export interface EraseOutcome {
  /** A tombstone already existed: nothing was changed. */
  alreadyErased: boolean
  /** A share was held and has now been deleted. */
  held: boolean
}

/**
 * Encrypted, durable, per-id serialised share storage over a {@link NodeDb}.
 *
 * @example
 * const store = new ShareStore(ndb, storageKey)
 * await store.put(templateId, 2, share, manifestBytes)
 * const held = await store.get(templateId) // { x: 2, share, manifest }
 * wipe(held.share)
 */
export class ShareStore {
  readonly #db: NodeDb
  readonly #key: KeyObject
  readonly #locks = new Map<string, Promise<void>>()
  /** Erased ids (latin1 strings of the 32 id bytes); mirrors the tombstones sublevel. */
  readonly #erased = new Set<string>()
  #count = 0
  readonly #ready: Promise<void>

  /**
   * @param db the open node database
   * @param storageKey 32-byte AES-256 key. It is imported into a KeyObject
   *   (node:crypto keeps its own copy); no reference to these bytes is kept,
   *   so the caller may wipe them after construction.
   * @throws {TypeError|RangeError} when storageKey is not 32 bytes
   */
  constructor (db: NodeDb, storageKey: Uint8Array) {
    abytes(storageKey, STORAGE_KEY_BYTES, 'storageKey')
    this.#db = db
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
    for await (const _ of this.#db.shares.keys()) n++
    this.#count = n
    for await (const id of this.#db.tombstones.keys()) this.#erased.add(idKey(id))
  }

  /**
   * Store a share durably. Idempotent for an identical (x, share) pair; the
   * manifest copy is then left as it is (use {@link putManifest} to replace it).
   *
   * @param templateId 32-byte template id
   * @param x the share's x-coordinate (1..255)
   * @param share the share bytes (not retained; the caller wipes them)
   * @param manifest the encoded manifest (public)
   * @throws {BioshardError} ERR_ERASED when the id has a tombstone;
   *   ERR_CONFLICT when a different share (other x or other bytes) is held for the id
   * @throws {DecryptError} when the held record for the id fails to authenticate
   */
  async put (templateId: Uint8Array, x: number, share: Uint8Array, manifest: Uint8Array): Promise<void> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    aint(x, 1, 255, 'x')
    share = abytes(share, undefined, 'share')
    manifest = abytes(manifest, undefined, 'manifest')
    if (share.length === 0) throw new RangeError('share must not be empty')
    await this.#ready
    await this.#exclusive(templateId, async () => {
      if (this.#erased.has(idKey(templateId))) {
        throw new BioshardError('ERR_ERASED', `template ${toHex(templateId)} has been erased`)
      }
      const existing = await this.#db.shares.get(templateId)
      if (existing !== undefined) {
        const held = this.#open(templateId, plain(existing))
        try {
          if (held.x === x && equalBytes(held.share, share)) return
        } finally {
          wipe(held.share)
        }
        throw new BioshardError('ERR_CONFLICT', `a different share is already held for template ${toHex(templateId)}`)
      }
      const record = this.#seal(templateId, x, share)
      await this.#db.db.batch([
        { type: 'put', sublevel: this.#db.shares, key: templateId, value: record },
        { type: 'put', sublevel: this.#db.manifests, key: templateId, value: manifest }
      ], { sync: true })
      this.#count++
    })
  }

  /**
   * Read and decrypt the share held for an id.
   *
   * @param templateId 32-byte template id
   * @returns the share (caller wipes `share`) with its manifest copy, or undefined when none is held
   * @throws {DecryptError} ERR_DECRYPT when the record was tampered with or moved; never returns wrong bytes
   * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a record of an unknown format;
   *   ERR_INTERNAL when the manifest copy is missing
   */
  async get (templateId: Uint8Array): Promise<HeldShare | undefined> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    return await this.#exclusive(templateId, async () => {
      const [record, manifest] = await Promise.all([
        this.#db.shares.get(templateId),
        this.#db.manifests.get(templateId)
      ])
      if (record === undefined) return undefined
      if (manifest === undefined) {
        throw new BioshardError('ERR_INTERNAL', `share for template ${toHex(templateId)} has no manifest copy`)
      }
      const { x, share } = this.#open(templateId, plain(record))
      return { x, share, manifest: plain(manifest) }
    })
  }

  /**
   * Read and decrypt only the share held for an id, without its manifest copy
   * (for callers that already hold the manifest, such as the fetch handler).
   *
   * It reads one key, which LevelDB reads atomically and every write replaces
   * in one batch, so it needs no per-id lock: it sees the share as it was
   * before or after any concurrent put or erase, never a part of one.
   *
   * @param templateId 32-byte template id
   * @returns the x-coordinate and share (caller wipes `share`), or undefined when none is held
   * @throws {DecryptError} ERR_DECRYPT when the record was tampered with or moved; never returns wrong bytes
   * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a record of an unknown format
   * @example
   * const held = await store.getShare(templateId)
   * if (held !== undefined) try { use(held.share) } finally { wipe(held.share) }
   */
  async getShare (templateId: Uint8Array): Promise<ShareOnly | undefined> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    // Read synchronously: a share is a few hundred bytes that LevelDB serves
    // from its cache or the page cache in microseconds, while an async read
    // wakes a thread-pool thread and costs two context switches per fetch
    // (on a 2-core machine, a fifth of the holder's time under load).
    const record = this.#db.shares.getSync(templateId)
    if (record === undefined) return undefined
    return this.#open(templateId, plain(record))
  }

  /**
   * The manifest copy held beside a share.
   *
   * @param templateId 32-byte template id
   * @returns the encoded manifest, or undefined when none is held
   */
  async getManifest (templateId: Uint8Array): Promise<Uint8Array | undefined> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    const m = await this.#db.manifests.get(templateId)
    return m === undefined ? undefined : plain(m)
  }

  /**
   * Replace the manifest copy (a later seq, after refresh or repair). Durable on return.
   * The caller checks that the new manifest supersedes the old one.
   *
   * @param templateId 32-byte template id
   * @param manifest the encoded manifest (public)
   * @throws {BioshardError} ERR_ERASED when the id has a tombstone; ERR_NOT_FOUND when no share is held
   */
  async putManifest (templateId: Uint8Array, manifest: Uint8Array): Promise<void> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    manifest = abytes(manifest, undefined, 'manifest')
    await this.#ready
    await this.#exclusive(templateId, async () => {
      if (this.#erased.has(idKey(templateId))) {
        throw new BioshardError('ERR_ERASED', `template ${toHex(templateId)} has been erased`)
      }
      if (!(await this.#db.shares.has(templateId))) {
        throw new BioshardError('ERR_NOT_FOUND', `no share is held for template ${toHex(templateId)}`)
      }
      await this.#db.db.batch([
        { type: 'put', sublevel: this.#db.manifests, key: templateId, value: manifest }
      ], { sync: true })
    })
  }

  /**
   * Erase: delete the share and manifest copy and keep a tombstone, in one
   * durable batch. Idempotent: a second erase changes nothing and keeps the
   * first tombstone (the evidence of the original erase).
   *
   * @param templateId 32-byte template id
   * @param tombstone the encoded erase record (public)
   * @returns whether the id was already erased and whether a share was held
   */
  async erase (templateId: Uint8Array, tombstone: Uint8Array): Promise<EraseOutcome> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    tombstone = abytes(tombstone, undefined, 'tombstone')
    await this.#ready
    const key = idKey(templateId)
    return await this.#exclusive(templateId, async () => {
      // A tombstone and a share never coexist (put refuses after erase and
      // erase deletes in the same batch), so an erased id has nothing to delete.
      if (this.#erased.has(key)) return { alreadyErased: true, held: false }
      const held = await this.#db.shares.has(templateId)
      await this.#db.db.batch([
        { type: 'del', sublevel: this.#db.shares, key: templateId },
        { type: 'del', sublevel: this.#db.manifests, key: templateId },
        { type: 'put', sublevel: this.#db.tombstones, key: templateId, value: tombstone }
      ], { sync: true })
      // Only now that the tombstone is on disk: memory never runs ahead of it.
      this.#erased.add(key)
      if (held) this.#count--
      return { alreadyErased: false, held }
    })
  }

  /**
   * The tombstone kept for an erased id.
   *
   * @param templateId 32-byte template id
   * @returns the encoded erase record, or undefined when the id was never erased
   */
  async tombstone (templateId: Uint8Array): Promise<Uint8Array | undefined> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    const t = await this.#db.tombstones.get(templateId)
    return t === undefined ? undefined : plain(t)
  }

  /**
   * Whether the id has a tombstone here, answered from memory (see the module
   * comment); waits only for the load at open.
   *
   * @param templateId 32-byte template id
   * @returns true when the id has been erased here
   */
  async isErased (templateId: Uint8Array): Promise<boolean> {
    templateId = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
    await this.#ready
    return this.#erased.has(idKey(templateId))
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

  /** @returns every templateId with a share held, in key order */
  async * ids (): AsyncIterable<Uint8Array> {
    for await (const k of this.#db.shares.keys()) yield Uint8Array.from(k)
  }

  #seal (templateId: Uint8Array, x: number, share: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(concat(AAD_PREFIX, templateId, Uint8Array.of(x)))
    const ct = concat(cipher.update(share), cipher.final())
    return concat(Uint8Array.of(SHARE_RECORD_VERSION, x), nonce, ct, cipher.getAuthTag())
  }

  #open (templateId: Uint8Array, record: Uint8Array): { x: number, share: Uint8Array } {
    const what = `share record for template ${toHex(templateId)}`
    if (record.length < HEADER_BYTES + NONCE_BYTES + 1 + TAG_BYTES) throw new DecryptError(what)
    if (record[0] !== SHARE_RECORD_VERSION) {
      throw new BioshardError('ERR_UNSUPPORTED_VERSION', `${what} has format version ${record[0]}, this node reads ${SHARE_RECORD_VERSION}`)
    }
    const x = record[1]
    const nonce = record.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
    const ct = record.subarray(HEADER_BYTES + NONCE_BYTES, record.length - TAG_BYTES)
    const tag = record.subarray(record.length - TAG_BYTES)
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(concat(AAD_PREFIX, templateId, Uint8Array.of(x)))
    decipher.setAuthTag(tag)
    // GCM releases plaintext before the tag is checked; it is wiped unless final() authenticates.
    const head = decipher.update(ct)
    let tail: Buffer | undefined
    try {
      tail = decipher.final()
    } catch {
      wipe(head)
      throw new DecryptError(what)
    }
    const share = tail.length === 0 ? plain(head) : concat(head, tail)
    if (tail.length !== 0) wipe(head, tail)
    return { x, share }
  }

  async #exclusive<T> (templateId: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const id = toHex(templateId)
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
function idKey (templateId: Uint8Array): string {
  return Buffer.from(templateId.buffer, templateId.byteOffset, templateId.byteLength).toString('latin1')
}
