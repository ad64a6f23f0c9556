/**
 * Finishing the retirement of a node that is not running: open its store
 * with its own storage key and destroy every share it holds (each share's
 * key destroyed and its record compacted away, as erase does), under a
 * tombstone naming the retirement. A running node does the same itself when
 * asked (node/standing.ts), since only one process may hold the database.
 *
 * @module
 */
import { openNodeDb } from './store/db.ts'
import { ShareStore } from './store/share-store.ts'
import { loadKeys } from './keys.ts'
import { wipe } from '../crypto/bytes.ts'
import { encodeSigned, toWire } from '../protocol/signed.ts'
import type { Retirement } from '../protocol/revocation.ts'

/**
 * Destroy every share of the stopped node at `dir`.
 *
 * @returns the number of shares destroyed
 * @throws {BioshardError} ERR_BUSY when the node is running (then ask it to finish instead)
 */
export async function shredStoppedNode (dir: string, notice: Retirement): Promise<number> {
  const db = await openNodeDb(dir)
  try {
    const keys = await loadKeys(dir)
    const store = new ShareStore(db, keys.storageKey)
    wipe(keys.storageKey)
    await store.ready()
    const tombstone = encodeSigned(toWire(notice))
    const slots: Uint8Array[] = []
    for await (const slot of store.ids()) slots.push(slot)
    let shredded = 0
    for (const slot of slots) if ((await store.erase(slot, tombstone)).held) shredded++
    return shredded
  } finally {
    await db.close()
  }
}
