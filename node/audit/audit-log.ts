/**
 * The node's append-only, hash-chained audit log (docs/architecture.md, "Data":
 * every store, fetch, erase and refusal with who, what, why and when), kept in
 * the `audit` sublevel so an operator can hand it to a regulator and anyone can
 * check it offline with `bioshard audit verify`.
 *
 * Each record's hash covers the previous record's hash ({@link auditHash}), so
 * changing, removing or reordering any record breaks the chain from there on.
 * Entries carry only strings, numbers and booleans, never share or template bytes.
 *
 * @module
 */
import { toHex } from '../../crypto/bytes.ts'
import {
  asMap, bytesField, decodeMap, encodeCanonical, intField, strField,
  type CborMap
} from '../../crypto/canonical.ts'
import { DecodeError, TooLargeError } from '../../errors.ts'
import { taggedHash } from '../../crypto/hash.ts'
import { HASH } from '../../crypto/tags.ts'
import type { NodeDb } from '../store/db.ts'

/** One audited event: who did what to which template, and how it ended. */
export interface AuditEntry {
  /** Milliseconds since the Unix epoch (integer). */
  time: number
  /** 'store' | 'fetch' | 'erase' | 'admit' | … */
  protocol: string
  /** The remote peer id, as text. */
  peer: string
  /** The templateId in hex, when the event concerns one. */
  subject?: string
  action: string
  /** 'ok' or the error code of the refusal. */
  outcome: 'ok' | string
  /** Why it was refused (human-readable). */
  reason?: string
  /** Small public facts (purpose, verifier id, x …); never bytes. */
  detail?: Record<string, string | number | boolean>
}

/** The chain head: the last seq (0 for an empty log) and its hash (zeros when empty). */
export interface AuditHead {
  seq: number
  hash: Uint8Array
}

/** A decoded audit record. */
export interface AuditRecord {
  seq: number
  prev: Uint8Array
  entry: AuditEntry
  hash: Uint8Array
}

/** Hash length (SHA-256). */
export const AUDIT_HASH_BYTES = 32
/** Upper bound on one encoded record; appends beyond it are refused. */
export const AUDIT_RECORD_MAX_BYTES = 16_384
/** Limits on entry fields, so a hostile peer id or reason cannot bloat the log. */
export const AUDIT_LIMITS = {
  SHORT_TEXT: 256, // protocol, peer, action, outcome, subject, detail keys
  LONG_TEXT: 2_048, // reason, detail string values
  DETAIL_KEYS: 32
} as const

const ENTRY_REQUIRED = ['time', 'protocol', 'peer', 'action', 'outcome'] as const
const ENTRY_OPTIONAL = ['subject', 'reason', 'detail'] as const
const ZERO_HASH = new Uint8Array(AUDIT_HASH_BYTES)

/**
 * The 8-byte big-endian key of a seq.
 *
 * @example auditKey(1) // 00 00 00 00 00 00 00 01
 */
export function auditKey (seq: number): Uint8Array {
  const k = new Uint8Array(8)
  new DataView(k.buffer).setBigUint64(0, BigInt(seq))
  return k
}

/**
 * The seq a key encodes.
 *
 * @throws {DecodeError} when the key is not 8 bytes or exceeds the safe-integer range
 */
export function seqOfKey (key: Uint8Array): number {
  if (key.length !== 8) throw new DecodeError(`audit key must be 8 bytes, got ${key.length}`)
  const n = new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('audit key is out of range')
  return Number(n)
}

/**
 * The chain hash of a record. Record `seq` (1, 2, …) is stored as the
 * canonical CBOR of `{ seq, prev, entry, hash }`, where `prev` is the hash of
 * record `seq − 1` (32 zero bytes for seq 1) and
 *
 *   hash = taggedHash(HASH.AUDIT_ENTRY, prev, encodeCanonical({ seq, prev, entry }))
 *
 * Its key is `seq` as 8-byte big-endian ({@link auditKey}), so key order is chain order.
 *
 * @example auditHash(1, new Uint8Array(32), entry)
 */
export function auditHash (seq: number, prev: Uint8Array, entry: AuditEntry): Uint8Array {
  return taggedHash(HASH.AUDIT_ENTRY, prev, encodeCanonical({ seq, prev, entry }))
}

/**
 * Validate an entry and return a copy without undefined fields (CBOR has no
 * `undefined` that decodes canonically). Byte arrays are rejected at run time
 * in case a caller's types lie, so share or template bytes never reach the log.
 *
 * @throws {TypeError|RangeError} naming the offending field; a Uint8Array in `detail` is a TypeError
 */
export function normaliseAuditEntry (entry: AuditEntry): AuditEntry {
  if (entry === null || typeof entry !== 'object') throw new TypeError('entry must be an object')
  for (const k of Object.keys(entry)) {
    if (!(ENTRY_REQUIRED as readonly string[]).includes(k) && !(ENTRY_OPTIONAL as readonly string[]).includes(k)) {
      throw new TypeError(`entry.${k} is not an audit entry field`)
    }
  }
  const { time } = entry
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) throw new TypeError('entry.time must be a non-negative integer (ms since epoch)')
  const out: AuditEntry = {
    time,
    protocol: text(entry.protocol, 'entry.protocol', AUDIT_LIMITS.SHORT_TEXT),
    peer: text(entry.peer, 'entry.peer', AUDIT_LIMITS.SHORT_TEXT),
    action: text(entry.action, 'entry.action', AUDIT_LIMITS.SHORT_TEXT),
    outcome: text(entry.outcome, 'entry.outcome', AUDIT_LIMITS.SHORT_TEXT)
  }
  if (entry.subject !== undefined) out.subject = text(entry.subject, 'entry.subject', AUDIT_LIMITS.SHORT_TEXT)
  if (entry.reason !== undefined) out.reason = text(entry.reason, 'entry.reason', AUDIT_LIMITS.LONG_TEXT)
  if (entry.detail !== undefined) {
    const d: unknown = entry.detail
    if (d === null || typeof d !== 'object' || Array.isArray(d) || ArrayBuffer.isView(d)) throw new TypeError('entry.detail must be a plain object')
    const keys = Object.keys(d)
    if (keys.length > AUDIT_LIMITS.DETAIL_KEYS) throw new RangeError(`entry.detail has more than ${AUDIT_LIMITS.DETAIL_KEYS} keys`)
    const detail: Record<string, string | number | boolean> = {}
    for (const k of keys) {
      text(k, 'entry.detail key', AUDIT_LIMITS.SHORT_TEXT)
      const v: unknown = (d as Record<string, unknown>)[k]
      // The guard that keeps shares and templates out of the log even when a
      // caller's types were bypassed: bytes are never an audit value.
      if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) throw new TypeError(`entry.detail.${k} must not be bytes`)
      if (typeof v === 'string') detail[k] = text(v, `entry.detail.${k}`, AUDIT_LIMITS.LONG_TEXT)
      else if (typeof v === 'boolean') detail[k] = v
      else if (typeof v === 'number' && Number.isFinite(v)) detail[k] = v
      else throw new TypeError(`entry.detail.${k} must be a string, a finite number or a boolean`)
    }
    out.detail = detail
  }
  return out
}

function text (v: unknown, name: string, max: number): string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`)
  if (v.length > max) throw new RangeError(`${name} exceeds ${max} characters`)
  return v
}

/**
 * Encode one record.
 *
 * @example encodeAuditRecord({ seq, prev, entry, hash: auditHash(seq, prev, entry) })
 */
export function encodeAuditRecord (record: AuditRecord): Uint8Array {
  return encodeCanonical({ seq: record.seq, prev: record.prev, entry: record.entry, hash: record.hash })
}

/**
 * Decode and validate one stored record (shape only; {@link verifyAuditLog}
 * checks the hashes and links).
 *
 * @throws {DecodeError|TooLargeError} when the bytes are not a well-formed record
 */
export function decodeAuditRecord (bytes: Uint8Array): AuditRecord {
  const what = 'audit record'
  const m = decodeMap(bytes, what, { maxBytes: AUDIT_RECORD_MAX_BYTES, required: ['seq', 'prev', 'entry', 'hash'] })
  const seq = intField(m, 'seq', what, { min: 1, max: Number.MAX_SAFE_INTEGER })
  const prev = bytesField(m, 'prev', what, { exact: AUDIT_HASH_BYTES })
  const hash = bytesField(m, 'hash', what, { exact: AUDIT_HASH_BYTES })
  return { seq, prev, hash, entry: decodeEntry(m.entry) }
}

function decodeEntry (value: unknown): AuditEntry {
  const what = 'audit entry'
  const m: CborMap = asMap(value, what, ENTRY_REQUIRED, ENTRY_OPTIONAL)
  const S = AUDIT_LIMITS.SHORT_TEXT
  const entry: AuditEntry = {
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    protocol: strField(m, 'protocol', what, { max: S }),
    peer: strField(m, 'peer', what, { max: S }),
    action: strField(m, 'action', what, { max: S }),
    outcome: strField(m, 'outcome', what, { max: S })
  }
  if ('subject' in m) entry.subject = strField(m, 'subject', what, { max: S })
  if ('reason' in m) entry.reason = strField(m, 'reason', what, { max: AUDIT_LIMITS.LONG_TEXT })
  if ('detail' in m) {
    const d = m.detail
    if (d === null || typeof d !== 'object' || Array.isArray(d) || d instanceof Uint8Array) throw new DecodeError(`${what}.detail must be a map`)
    const detail: Record<string, string | number | boolean> = {}
    const keys = Object.keys(d)
    if (keys.length > AUDIT_LIMITS.DETAIL_KEYS) throw new DecodeError(`${what}.detail has too many keys`)
    for (const k of keys) {
      const v = (d as CborMap)[k]
      if (k.length > S) throw new DecodeError(`${what}.detail key is too long`)
      if (typeof v === 'string' && v.length <= AUDIT_LIMITS.LONG_TEXT) detail[k] = v
      else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) detail[k] = v
      else throw new DecodeError(`${what}.detail.${k} must be a string, number or boolean`)
    }
    entry.detail = detail
  }
  return entry
}

/** Most records written in one batch. */
const MAX_BATCH = 256

interface Pending { entry: AuditEntry, at: number, resolve: (head: AuditHead) => void, reject: (e: Error) => void }

/** How an {@link AuditLog} writes. */
export interface AuditLogOptions {
  /**
   * Longest an appended entry waits in memory for others to share its
   * write (ms); 0 writes as soon as no write is under way. A full batch
   * (256 records) is written at once.
   * @default 0
   */
  flushMs?: number
}

/**
 * Append-only audit log of one node. Appends are group-committed: records
 * queued while a write is in flight, or within `flushMs` of the oldest
 * unwritten one, are chained and written together, so the chain never forks
 * and a busy node writes once per batch rather than once per request. Each
 * LevelDB write is a trip through the thread pool and back, which on a
 * loaded two-core machine costs more than the request it records; a site
 * node waits 20 ms by default (`limits.auditFlushMs`).
 *
 * Durability: appends are not fsync'd one by one. A crash can therefore lose
 * the newest entries (those still waiting, and those written since the last
 * synced write); the chain cannot tell a lost tail from a shorter log, so such
 * a loss shows only as a lower entry count in verify (anchor the head hash
 * elsewhere to detect it). Every synced store or erase makes all records
 * written before it durable with it, since LevelDB has a single write-ahead
 * log; a clean stop writes everything ({@link AuditLog.flush}).
 *
 * @example
 * const log = await AuditLog.open(ndb, { flushMs: 20 })
 * await log.append({ time: Date.now(), protocol: 'fetch', peer: peerId, subject: idHex, action: 'fetch', outcome: 'ERR_REPLAY', reason: 'nonce seen' })
 */
export class AuditLog {
  readonly #db: NodeDb
  readonly #flushMs: number
  #head: AuditHead
  readonly #queue: Pending[] = []
  #writing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  private constructor (db: NodeDb, head: AuditHead, flushMs: number) {
    this.#db = db
    this.#head = head
    this.#flushMs = flushMs
  }

  /**
   * Open the log, resuming after its last record.
   *
   * @param db the open node database
   * @param options how appends are written
   * @returns the log, positioned at its head
   * @throws {DecodeError} when the last record cannot be decoded (run `bioshard audit verify`)
   * @throws {RangeError} when `flushMs` is not a non-negative integer
   */
  static async open (db: NodeDb, options: AuditLogOptions = {}): Promise<AuditLog> {
    const flushMs = options.flushMs ?? 0
    if (!Number.isInteger(flushMs) || flushMs < 0) throw new RangeError(`flushMs must be a non-negative integer, got ${flushMs}`)
    let head: AuditHead = { seq: 0, hash: ZERO_HASH }
    for await (const [key, value] of db.audit.iterator({ reverse: true, limit: 1 })) {
      const rec = decodeAuditRecord(value)
      if (rec.seq !== seqOfKey(key)) throw new DecodeError(`audit record ${seqOfKey(key)} claims seq ${rec.seq}`)
      head = { seq: rec.seq, hash: Uint8Array.from(rec.hash) }
    }
    return new AuditLog(db, head, flushMs)
  }

  /**
   * Append one entry. Not fsync'd on its own (see the module note).
   *
   * @param entry the event; validated and copied before it is queued
   * @returns the new record's seq and hash, once its batch is written
   * @throws {TypeError|RangeError} for an invalid entry (including bytes in `detail`); nothing is written
   * @throws {TooLargeError} ERR_TOO_LARGE when the encoded record exceeds {@link AUDIT_RECORD_MAX_BYTES}
   */
  async append (entry: AuditEntry): Promise<AuditHead> {
    const clean = normaliseAuditEntry(entry)
    return await new Promise<AuditHead>((resolve, reject) => {
      this.#queue.push({ entry: clean, at: performance.now(), resolve, reject })
      this.#schedule()
    })
  }

  /** Write what is queued now, or once the oldest entry has waited `flushMs`; never while a write is under way. */
  #schedule (): void {
    if (this.#writing !== undefined || this.#queue.length === 0) return
    const wait = this.#queue.length >= MAX_BATCH ? 0 : this.#queue[0].at + this.#flushMs - performance.now()
    if (wait <= 0) {
      this.#write()
    } else {
      this.#timer ??= setTimeout(() => { this.#timer = undefined; this.#schedule() }, wait)
    }
  }

  #write (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#writing = this.#writeBatch().finally(() => {
      this.#writing = undefined
      this.#schedule()
    })
  }

  /** Chain and write up to {@link MAX_BATCH} queued records in one batch. */
  async #writeBatch (): Promise<void> {
    const batch = this.#queue.splice(0, MAX_BATCH)
    let { seq, hash } = this.#head
    const ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }> = []
    const written: Array<{ pending: Pending, seq: number, hash: Uint8Array }> = []
    for (const pending of batch) {
      const next = seq + 1
      const nextHash = auditHash(next, hash, pending.entry)
      const bytes = encodeAuditRecord({ seq: next, prev: hash, entry: pending.entry, hash: nextHash })
      if (bytes.length > AUDIT_RECORD_MAX_BYTES) {
        pending.reject(new TooLargeError('audit record', bytes.length, AUDIT_RECORD_MAX_BYTES))
        continue
      }
      ops.push({ type: 'put', key: auditKey(next), value: bytes })
      written.push({ pending, seq: next, hash: nextHash })
      seq = next
      hash = nextHash
    }
    if (ops.length === 0) return
    try {
      await this.#db.writes.run(async () => { await this.#db.audit.batch(ops) })
    } catch (e) {
      // Nothing of this batch is in the chain: the head stays where it was.
      for (const w of written) w.pending.reject(e as Error)
      return
    }
    this.#head = { seq, hash }
    for (const w of written) w.pending.resolve({ seq: w.seq, hash: Uint8Array.from(w.hash) })
  }

  /** @returns the last appended seq (0 when empty) and its hash (a copy) */
  head (): AuditHead {
    return { seq: this.#head.seq, hash: Uint8Array.from(this.#head.hash) }
  }

  /** Write everything queued now, and wait for every append to settle (before closing the database). */
  async flush (): Promise<void> {
    while (this.#writing !== undefined || this.#queue.length > 0) {
      if (this.#writing === undefined) this.#write()
      await this.#writing
    }
  }

  /** @returns the head hash in hex (for logs and anchoring) */
  headHex (): string {
    return toHex(this.#head.hash)
  }
}
