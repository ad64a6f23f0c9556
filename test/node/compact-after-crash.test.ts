/**
 * A share the store overwrote (refresh) or deleted (erase) leaves the files
 * through a compaction that runs after the synced batch; a process that dies
 * between the two leaves the old sealed record and its wrapped key in the
 * files. The store marks the slot in that same batch and compacts every
 * marked slot when it opens, so the next start removes them. The death is
 * the compaction never coming: a real database whose compaction fails, then
 * closed and opened again as a restarted node opens it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeDb, type NodeDb } from '../../node/store/db.ts'
import { ShareStore, SLOT_BYTES, STORAGE_KEY_BYTES } from '../../node/store/share-store.ts'
import { plain, randomBytes, utf8 } from '../../crypto/bytes.ts'
import { LeakPatterns } from '../helpers/leak-scan.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const dirs: string[] = []
const key = randomBytes(STORAGE_KEY_BYTES)

/** The sealed record and wrapped key held for `slot` now. */
async function atRest (db: NodeDb, slot: Uint8Array): Promise<Uint8Array[]> {
  return [plain(await db.shares.get(slot) as Uint8Array), plain(await db.shareKeys.get(slot) as Uint8Array)]
}

/** A database whose compactions never happen: the process died right after the batch. */
function dying (db: NodeDb): NodeDb {
  const killed = async (): Promise<void> => { throw new Error('the process died before the compaction') }
  return { ...db, compactAway: killed, compactOverwritten: killed }
}

/** A stored share at a fresh slot; returns the slot, its at-rest bytes and the directory. */
async function stored (): Promise<{ dir: string, slot: Uint8Array, db: NodeDb, old: Uint8Array[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bioshard-compact-'))
  dirs.push(dir)
  const db = await openNodeDb(dir)
  const slot = randomBytes(SLOT_BYTES)
  await new ShareStore(db, key).put(slot, 1, randomBytes(33), utf8('manifest seq 1'))
  return { dir, slot, db, old: await atRest(db, slot) }
}

/** Close `db`, check the old bytes are still in the files, open the store again and wait for it. */
async function restart (dir: string, db: NodeDb, old: Uint8Array[]): Promise<NodeDb> {
  await db.close()
  assert.ok(new LeakPatterns(old).findInTree(dir) !== undefined, 'the old bytes are in the files before the restart (the check below means something)')
  const reopened = await openNodeDb(dir)
  await new ShareStore(reopened, key).ready()
  return reopened
}

const crash = suite('a crash between a share leaving and its compaction')

crash('a refreshed share\'s old record and key leave the files at the next open', async () => {
  const { dir, slot, db, old } = await stored()
  assert.is(await codeOfAsync(new ShareStore(dying(db), key).replace(slot, 1, randomBytes(33), utf8('manifest seq 2'))), 'ERR_INTERNAL')
  const reopened = await restart(dir, db, old)
  const held = await new ShareStore(reopened, key).get(slot)
  assert.is(held?.x, 1, 'the new share is kept')
  await reopened.close()
  assert.is(new LeakPatterns(old).findInTree(dir), undefined, 'no file holds the replaced share\'s sealed record or wrapped key')
})

crash('an erased share\'s record and key leave the files at the next open; the tombstone stays', async () => {
  const { dir, slot, db, old } = await stored()
  assert.is(await codeOfAsync(new ShareStore(dying(db), key).erase(slot, utf8('erased seq 2'))), 'ERR_INTERNAL')
  const reopened = await restart(dir, db, old)
  assert.ok(await new ShareStore(reopened, key).isErased(slot))
  await reopened.close()
  assert.is(new LeakPatterns(old).findInTree(dir), undefined, 'no file holds the erased share\'s sealed record or wrapped key')
})

crash.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

crash.run()
