/**
 * The share store (node/store/share-store.ts): shares encrypted at rest under
 * the node's storage key, bound to their slot and x, durable once acknowledged,
 * with tombstones that outlive an erase and pinned record formats. A real
 * database in a temporary directory, and a child process for kill -9.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeDb, type NodeDb } from '../../node/store/db.ts'
import { ShareStore, SLOT_BYTES, STORAGE_KEY_BYTES } from '../../node/store/share-store.ts'
import { equalBytes, fromHex, randomBytes, toHex, utf8 } from '../../crypto/bytes.ts'
import { BioshardError, DecryptError } from '../../errors.ts'

const Store = suite('share-store')

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname
const dirs: string[] = []
function tempDir (): string {
  const d = mkdtempSync(join(tmpdir(), 'bioshard-store-'))
  dirs.push(d)
  return d
}
async function openStore (dir = tempDir(), key = randomBytes(STORAGE_KEY_BYTES)): Promise<{ dir: string, key: Uint8Array, db: NodeDb, store: ShareStore }> {
  const db = await openNodeDb(dir)
  return { dir, key, db, store: new ShareStore(db, key) }
}
function manifestFor (id: Uint8Array, seq = 1): Uint8Array {
  return utf8(`manifest ${toHex(id)} seq ${seq}`)
}
async function expectCode (p: Promise<unknown>, code: string, cls?: Function): Promise<void> {
  try {
    await p
  } catch (e) {
    assert.instance(e, BioshardError, `expected ${code}, got ${String(e)}`)
    assert.is((e as BioshardError).code, code)
    if (cls !== undefined) assert.instance(e, cls)
    return
  }
  assert.unreachable(`expected ${code}`)
}
function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...filesUnder(p))
    else out.push(p)
  }
  return out
}

Store.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

Store('put then get returns the same x, share and manifest', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(300)
  await store.put(id, 4, share, manifestFor(id))
  const held = await store.get(id)
  assert.ok(held !== undefined)
  assert.is(held.x, 4)
  assert.ok(equalBytes(held.share, share))
  assert.equal(held.manifest, manifestFor(id))
  assert.equal(await store.getManifest(id), manifestFor(id))
  assert.is(await store.get(randomBytes(SLOT_BYTES)), undefined)
  await db.close()
})

Store('the share bytes never appear on disk, not even a 16-byte window of them', async () => {
  const { dir, db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(2048)
  const manifest = randomBytes(512)
  await store.put(id, 1, share, manifest)
  await db.close()
  const raw = filesUnder(join(dir, 'db')).map((f) => readFileSync(f))
  const found = (needle: Uint8Array): boolean => raw.some((b) => b.indexOf(needle) !== -1)
  // Control: the public manifest is stored in clear, so the scan does see stored values.
  assert.ok(found(manifest), 'the scan should find the public manifest bytes')
  for (let i = 0; i + 16 <= share.length; i++) {
    if (found(share.subarray(i, i + 16))) assert.unreachable(`share bytes ${i}..${i + 16} found on disk`)
  }
})

Store('a reopened store returns the share', async () => {
  const { dir, key, db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(64)
  await store.put(id, 9, share, manifestFor(id))
  await db.close()
  const again = await openStore(dir, key)
  const held = await again.store.get(id)
  assert.ok(held !== undefined && held.x === 9 && equalBytes(held.share, share))
  await again.db.close()
})

Store('an acknowledged put survives kill -9 of the process that made it', async () => {
  const dir = tempDir()
  const key = randomBytes(STORAGE_KEY_BYTES)
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(256)
  const child = spawn(process.execPath, [
    join(FIXTURES, 'put-and-ack.ts'), dir, toHex(key), toHex(id), '5', toHex(share), toHex(manifestFor(id))
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d) => { err += d })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('acked')) {
        child.kill('SIGKILL') // at once, before the child can close anything
        resolve()
      }
    })
    child.on('exit', () => reject(new Error(`child exited before acking: ${err}`)))
  })
  assert.is(await exited, 'SIGKILL')
  const { db, store } = await openStore(dir, key)
  const held = await store.get(id)
  assert.ok(held !== undefined, 'the acknowledged share is missing after kill -9')
  assert.is(held.x, 5)
  assert.ok(equalBytes(held.share, share))
  assert.is(await store.count(), 1)
  await db.close()
})

Store('a tampered ciphertext fails with DecryptError, never wrong bytes', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 2, randomBytes(100), manifestFor(id))
  const record = Uint8Array.from((await db.shares.get(id))!)
  record[30] ^= 0x01
  await db.shares.put(id, record)
  await expectCode(store.get(id), 'ERR_DECRYPT', DecryptError)
  await expectCode(store.getShare(id), 'ERR_DECRYPT', DecryptError)
  await db.close()
})

Store('a relabelled x or a record moved to another id fails to decrypt', async () => {
  const { db, store } = await openStore()
  const a = randomBytes(SLOT_BYTES)
  const b = randomBytes(SLOT_BYTES)
  await store.put(a, 2, randomBytes(100), manifestFor(a))
  await store.put(b, 3, randomBytes(100), manifestFor(b))
  const recA = Uint8Array.from((await db.shares.get(a))!)
  const relabelled = Uint8Array.from(recA)
  relabelled[1] = 7
  await db.shares.put(a, relabelled)
  await expectCode(store.get(a), 'ERR_DECRYPT', DecryptError)
  await expectCode(store.getShare(a), 'ERR_DECRYPT', DecryptError)
  await db.shares.put(b, recA)
  await expectCode(store.get(b), 'ERR_DECRYPT', DecryptError)
  await expectCode(store.getShare(b), 'ERR_DECRYPT', DecryptError)
  await db.close()
})

Store('a truncated record fails with DecryptError; an unknown format version is named', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 2, randomBytes(100), manifestFor(id))
  const record = Uint8Array.from((await db.shares.get(id))!)
  await db.shares.put(id, record.subarray(0, 20))
  await expectCode(store.get(id), 'ERR_DECRYPT', DecryptError)
  record[0] = 99
  await db.shares.put(id, record)
  await expectCode(store.get(id), 'ERR_UNSUPPORTED_VERSION')
  await db.close()
})

Store('the wrong storage key fails with DecryptError', async () => {
  const { dir, db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 1, randomBytes(50), manifestFor(id))
  await db.close()
  const other = await openStore(dir, randomBytes(STORAGE_KEY_BYTES))
  await expectCode(other.store.get(id), 'ERR_DECRYPT', DecryptError)
  await other.db.close()
})

Store('a database of the pinned v1 format (records keyed by template id) is refused at open with ERR_UNSUPPORTED_VERSION', async () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'share-record-v1.json'), 'utf8')) as Record<string, string | number>
  const id = fromHex(fx.templateId as string)
  const dir = tempDir()
  const db = await openNodeDb(dir)
  await db.shares.put(id, fromHex(fx.record as string))
  await db.manifests.put(id, manifestFor(id))
  const store = new ShareStore(db, fromHex(fx.storageKey as string))
  await expectCode(store.ready(), 'ERR_UNSUPPORTED_VERSION')
  try { await store.ready() } catch (e) {
    assert.match((e as Error).message, /format 1/)
    assert.not.match((e as Error).message, /\n/)
  }
  await expectCode(store.count(), 'ERR_UNSUPPORTED_VERSION')
  await expectCode(store.put(randomBytes(SLOT_BYTES), 1, randomBytes(8), utf8('m')), 'ERR_UNSUPPORTED_VERSION')
  await db.close()
})

Store('reads the pinned v2 record format (fixture)', async () => {
  type Fixture = { storageKey: string, slot: string, x: number, share: string, sublevels: Record<string, string> }
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'share-record-v2.json'), 'utf8')) as Fixture
  const slot = fromHex(fx.slot)
  const { db, store } = await openStore(tempDir(), fromHex(fx.storageKey))
  for (const [name, value] of Object.entries(fx.sublevels)) await (db as unknown as Record<string, NodeDb['shares']>)[name].put(slot, fromHex(value))
  await db.manifests.put(slot, manifestFor(slot))
  const held = await store.get(slot)
  assert.ok(held !== undefined)
  assert.is(held.x, fx.x)
  assert.is(toHex(held.share), fx.share)
  const only = await store.getShare(slot)
  assert.equal(only && { x: only.x, share: toHex(only.share) }, { x: fx.x, share: fx.share })
  await db.close()
})

Store('put is idempotent for the same share and refuses a different one with ERR_CONFLICT', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(80)
  await store.put(id, 3, share, manifestFor(id))
  await store.put(id, 3, Uint8Array.from(share), manifestFor(id))
  assert.is(await store.count(), 1)
  await expectCode(store.put(id, 4, share, manifestFor(id)), 'ERR_CONFLICT')
  const other = Uint8Array.from(share)
  other[0] ^= 1
  await expectCode(store.put(id, 3, other, manifestFor(id)), 'ERR_CONFLICT')
  const held = await store.get(id)
  assert.ok(held !== undefined && held.x === 3 && equalBytes(held.share, share))
  await db.close()
})

Store('erase removes the share and manifest and keeps the tombstone', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 1, randomBytes(40), manifestFor(id))
  const tomb = utf8('erase record')
  assert.equal(await store.erase(id, tomb), { alreadyErased: false, held: true })
  assert.is(await store.get(id), undefined)
  assert.is(await store.getManifest(id), undefined)
  assert.ok(await store.isErased(id))
  assert.equal(await store.tombstone(id), tomb)
  assert.is(await store.count(), 0)
  await db.close()
})

Store('erase is idempotent and keeps the first tombstone', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 1, randomBytes(40), manifestFor(id))
  await store.erase(id, utf8('first'))
  assert.equal(await store.erase(id, utf8('second')), { alreadyErased: true, held: false })
  assert.equal(await store.tombstone(id), utf8('first'))
  const never = randomBytes(SLOT_BYTES)
  assert.equal(await store.erase(never, utf8('t')), { alreadyErased: false, held: false })
  assert.ok(await store.isErased(never))
  assert.not.ok(await store.isErased(randomBytes(SLOT_BYTES)))
  await db.close()
})

Store('a tombstone blocks put and putManifest with ERR_ERASED', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.erase(id, utf8('t'))
  await expectCode(store.put(id, 1, randomBytes(40), manifestFor(id)), 'ERR_ERASED')
  await expectCode(store.putManifest(id, manifestFor(id, 2)), 'ERR_ERASED')
  assert.is(await store.get(id), undefined)
  await db.close()
})

Store('putManifest replaces the copy durably and needs a held share', async () => {
  const { dir, key, db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await expectCode(store.putManifest(id, manifestFor(id)), 'ERR_NOT_FOUND')
  await store.put(id, 1, randomBytes(40), manifestFor(id, 1))
  await store.putManifest(id, manifestFor(id, 2))
  assert.is(await store.putManifest(id, manifestFor(id, 3), manifestFor(id, 1)), false, 'a copy judged against bytes no longer held is not written')
  assert.equal(await store.getManifest(id), manifestFor(id, 2))
  assert.is(await store.putManifest(id, manifestFor(id, 3), manifestFor(id, 2)), true)
  assert.equal(await store.getManifest(id), manifestFor(id, 3))
  await db.close()
  const again = await openStore(dir, key)
  assert.equal(await again.store.getManifest(id), manifestFor(id, 3))
  assert.equal((await again.store.get(id))?.manifest, manifestFor(id, 3))
  await again.db.close()
})

Store('concurrent put and erase on one id serialise: never a share beside a tombstone', async () => {
  const { db, store } = await openStore()
  for (let i = 0; i < 40; i++) {
    const id = randomBytes(SLOT_BYTES)
    const ops = [store.put(id, 1, randomBytes(SLOT_BYTES), manifestFor(id)), store.erase(id, utf8('t'))]
    if (i % 2 === 1) ops.reverse()
    const results = await Promise.allSettled(ops)
    for (const r of results) {
      if (r.status === 'rejected') assert.is((r.reason as BioshardError).code, 'ERR_ERASED')
    }
    assert.ok(await store.isErased(id))
    assert.is(await store.get(id), undefined, 'a share survived beside its tombstone')
  }
  assert.is(await store.count(), 0)
  await db.close()
})

Store('concurrent puts on one id: one wins, the others conflict or repeat it, and it counts once', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(SLOT_BYTES)
  const results = await Promise.allSettled([
    store.put(id, 1, share, manifestFor(id)),
    store.put(id, 1, share, manifestFor(id)),
    store.put(id, 2, randomBytes(SLOT_BYTES), manifestFor(id)),
    store.put(id, 1, share, manifestFor(id))
  ])
  assert.is(results.filter((r) => r.status === 'fulfilled').length, 3)
  assert.is(((results[2] as PromiseRejectedResult).reason as BioshardError).code, 'ERR_CONFLICT')
  assert.is(await store.count(), 1)
  await db.close()
})

Store('count tracks puts and erases, survives reopen, and ids lists what is held', async () => {
  const { dir, key, db, store } = await openStore()
  const ids = Array.from({ length: 5 }, () => randomBytes(SLOT_BYTES))
  for (const [i, id] of ids.entries()) await store.put(id, i + 1, randomBytes(SLOT_BYTES), manifestFor(id))
  assert.is(await store.count(), 5)
  assert.is(store.countNow(), 5)
  await store.erase(ids[0], utf8('t'))
  await store.erase(ids[0], utf8('t'))
  await store.erase(randomBytes(SLOT_BYTES), utf8('t'))
  assert.is(await store.count(), 4)
  await db.close()
  const again = await openStore(dir, key)
  assert.is(await again.store.count(), 4)
  const listed: string[] = []
  for await (const id of again.store.ids()) listed.push(toHex(id))
  assert.equal(listed.sort(), ids.slice(1).map(toHex).sort())
  await again.db.close()
})

Store('getShare returns the x and share alone, and nothing when none is held or after erase', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  const share = randomBytes(120)
  await store.put(id, 6, share, manifestFor(id))
  const held = await store.getShare(id)
  assert.ok(held !== undefined)
  assert.equal(Object.keys(held).sort(), ['share', 'x'])
  assert.is(held.x, 6)
  assert.ok(equalBytes(held.share, share))
  assert.is(await store.getShare(randomBytes(SLOT_BYTES)), undefined)
  await store.erase(id, utf8('t'))
  assert.is(await store.getShare(id), undefined)
  await db.close()
})

Store('erased ids are known from the tombstones at open: isErased survives reopen and reads no disk', async () => {
  const { dir, key, db, store } = await openStore()
  const erased = randomBytes(SLOT_BYTES)
  const held = randomBytes(SLOT_BYTES)
  await store.put(erased, 1, randomBytes(40), manifestFor(erased))
  await store.put(held, 2, randomBytes(40), manifestFor(held))
  await store.erase(erased, utf8('t'))
  await store.erase(randomBytes(SLOT_BYTES), utf8('never held'))
  await db.close()
  const again = await openStore(dir, key)
  assert.ok(await again.store.isErased(erased))
  assert.not.ok(await again.store.isErased(held))
  await expectCode(again.store.put(erased, 1, randomBytes(40), manifestFor(erased)), 'ERR_ERASED')
  // With the database closed, a disk read would throw: these answers come from memory.
  await again.db.close()
  assert.ok(await again.store.isErased(erased))
  assert.not.ok(await again.store.isErased(held))
  assert.not.ok(await again.store.isErased(randomBytes(SLOT_BYTES)))
})

Store('an erase that does not reach the disk does not mark the id erased', async () => {
  const { db, store } = await openStore()
  const id = randomBytes(SLOT_BYTES)
  await store.put(id, 1, randomBytes(40), manifestFor(id))
  await db.close()
  try {
    await store.erase(id, utf8('t'))
    assert.unreachable('erase succeeded on a closed database')
  } catch (e) {
    assert.not.instance(e, assert.Assertion)
  }
  assert.not.ok(await store.isErased(id))
})

Store('arguments are checked and named', async () => {
  const { db, store } = await openStore()
  const bad = async (p: () => Promise<unknown>, cls: Function, name: string): Promise<void> => {
    try { await p() } catch (e) {
      assert.instance(e, cls)
      assert.ok((e as Error).message.includes(name), (e as Error).message)
      return
    }
    assert.unreachable(`expected an error naming ${name}`)
  }
  await bad(() => store.put(randomBytes(32), 1, randomBytes(8), utf8('m')), RangeError, 'slot')
  await bad(() => store.put(randomBytes(SLOT_BYTES), 0, randomBytes(8), utf8('m')), RangeError, 'x')
  await bad(() => store.put(randomBytes(SLOT_BYTES), 1, 'share' as unknown as Uint8Array, utf8('m')), TypeError, 'share')
  await bad(() => store.get(randomBytes(65)), RangeError, 'slot')
  await bad(() => store.getShare(randomBytes(31)), RangeError, 'slot')
  await bad(() => store.isErased(randomBytes(31)), RangeError, 'slot')
  await bad(async () => new ShareStore(db, randomBytes(16)), RangeError, 'storageKey')
  await db.close()
})

Store('a second open of a running node\'s database fails with ERR_BUSY naming the directory', async () => {
  const dir = tempDir()
  const db = await openNodeDb(dir)
  try {
    await openNodeDb(dir)
    assert.unreachable('second open succeeded')
  } catch (e) {
    assert.is((e as BioshardError).code, 'ERR_BUSY')
    assert.ok((e as Error).message.includes(dir) && (e as Error).message.includes('running'))
  }
  await db.close()
  await expectCode(openNodeDb(join(dir, 'nothing-here'), { createIfMissing: false }), 'ERR_NOT_FOUND')
})

Store.run()
