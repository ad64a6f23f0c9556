/**
 * Test helper: read a stopped node's database from outside (the process is
 * down, so LevelDB's lock is free): verify its audit chain, and take the
 * at-rest form of every share it holds (the sealed record and the wrapped
 * key of each slot). A share the node later replaces or destroys must leave
 * its files in that form too, which a scan for these bytes checks.
 */
import { toHex } from '../../crypto/bytes.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'

/** A share as it lies on disk: its sealed record and its own key wrapped under the storage key. */
export interface Sealed { record: Uint8Array, wrappedKey: Uint8Array }

/** What a stopped node's database held. */
export interface StoppedNode {
  chain: Awaited<ReturnType<typeof verifyAuditLog>>
  /** Slot (hex) → the share held there, at rest. */
  sealed: Map<string, Sealed>
}

/**
 * Open the stopped node's database, verify the chain and read every sealed share; the database is closed again.
 *
 * @example const { chain, sealed } = await inspectStopped(dir)
 */
export async function inspectStopped (dir: string): Promise<StoppedNode> {
  const db = await openNodeDb(dir, { createIfMissing: false })
  try {
    const chain = await verifyAuditLog(db)
    const keys = new Map<string, Uint8Array>()
    for await (const [slot, key] of db.shareKeys.iterator()) keys.set(toHex(slot), key.slice())
    const sealed = new Map<string, Sealed>()
    for await (const [slot, record] of db.shares.iterator()) {
      const wrappedKey = keys.get(toHex(slot))
      if (wrappedKey !== undefined) sealed.set(toHex(slot), { record: record.slice(), wrappedKey })
    }
    return { chain, sealed }
  } finally {
    await db.close()
  }
}
