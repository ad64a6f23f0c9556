/**
 * Offline verification of a node's audit log: walks every record in key
 * order, recomputes each hash and checks each link, and names the first
 * record where the chain breaks and why.
 *
 * What it proves: the records present form one unbroken chain from seq 1 to
 * the head it reports. What it cannot prove on its own: that no records were
 * cut from the end — compare the reported head with one recorded earlier
 * (an external anchor) to detect truncation.
 *
 * @module
 */
import { equalBytes, toHex } from '../../crypto/bytes.ts'
import type { NodeDb } from '../store/db.ts'
import { AUDIT_HASH_BYTES, auditHash, decodeAuditRecord, seqOfKey } from './audit-log.ts'

/** The verdict of {@link verifyAuditLog}. */
export type AuditVerdict =
  | { ok: true, count: number, head: string }
  /** `count` is the number of records verified intact before `brokenAt`. */
  | { ok: false, count: number, brokenAt: number, reason: string }

/**
 * Verify the whole audit chain stored in `db`.
 *
 * @param db an open node database (the node must not be running: LevelDB is single-process)
 * @returns `{ ok: true, count, head }` (head = hex hash of the last record, zeros when empty) or
 *   `{ ok: false, count, brokenAt, reason }` naming the first broken seq: a hash mismatch
 *   (the record was altered), a broken link (a record before it was replaced), a gap in seq
 *   (records were deleted; `brokenAt` is the first missing seq) or an undecodable record
 * @example
 * const v = await verifyAuditLog(ndb)
 * if (!v.ok) console.error(`broken at ${v.brokenAt}: ${v.reason}`)
 */
export async function verifyAuditLog (db: NodeDb): Promise<AuditVerdict> {
  let count = 0
  let expected = 1
  let prevHash: Uint8Array = new Uint8Array(AUDIT_HASH_BYTES)
  for await (const [key, value] of db.audit.iterator()) {
    let keySeq: number
    try {
      keySeq = seqOfKey(key)
    } catch (e) {
      return { ok: false, count, brokenAt: expected, reason: `undecodable key after entry ${expected - 1}: ${(e as Error).message}` }
    }
    if (keySeq !== expected) {
      const reason = keySeq > expected
        ? `gap in seq: ${keySeq === expected + 1 ? `entry ${expected} is` : `entries ${expected}..${keySeq - 1} are`} missing (next present is ${keySeq})`
        : `gap in seq: unexpected entry ${keySeq} after ${expected - 1}`
      return { ok: false, count, brokenAt: expected, reason }
    }
    let rec
    try {
      rec = decodeAuditRecord(value)
    } catch (e) {
      return { ok: false, count, brokenAt: keySeq, reason: `undecodable record: ${(e as Error).message}` }
    }
    if (rec.seq !== keySeq) {
      return { ok: false, count, brokenAt: keySeq, reason: `record stored at seq ${keySeq} claims seq ${rec.seq}` }
    }
    if (!equalBytes(auditHash(rec.seq, rec.prev, rec.entry), rec.hash)) {
      return { ok: false, count, brokenAt: keySeq, reason: 'hash mismatch: the record was altered after it was written' }
    }
    if (!equalBytes(rec.prev, prevHash)) {
      return {
        ok: false,
        count,
        brokenAt: keySeq,
        reason: keySeq === 1
          ? 'broken link: the first record does not start from the zero hash'
          : `broken link: prev does not match the hash of entry ${keySeq - 1}`
      }
    }
    prevHash = rec.hash
    count++
    expected++
  }
  return { ok: true, count, head: toHex(prevHash) }
}
