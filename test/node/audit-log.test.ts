/**
 * The audit log (node/audit/): a hash chain of one record per request, written
 * in batches, and its verifier, which names the seq where a changed, moved,
 * deleted or undecodable record breaks the chain; plus the `audit verify`
 * command. A real database in a temporary directory.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeDb, type NodeDb } from '../../node/store/db.ts'
import {
  AuditLog, auditHash, auditKey, decodeAuditRecord, encodeAuditRecord, type AuditEntry
} from '../../node/audit/audit-log.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'
import { expectArgErrorAsync, codeOfAsync } from '../helpers/assert.ts'
import { command } from '../../cli/commands/audit.ts'
import { EXIT, UsageError, type CliIo } from '../../cli/io.ts'
import { fromHex, randomBytes, toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'

const Audit = suite('audit-log')

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname
const dirs: string[] = []
function tempDir (): string {
  const d = mkdtempSync(join(tmpdir(), 'bioshard-audit-'))
  dirs.push(d)
  return d
}
function entry (i: number, outcome = 'ok'): AuditEntry {
  return {
    time: 1_767_225_600_000 + i,
    protocol: i % 2 === 0 ? 'store' : 'fetch',
    peer: `12D3KooWPeer${i}`,
    subject: toHex(randomBytes(32)),
    action: i % 2 === 0 ? 'store' : 'fetch',
    outcome,
    ...(outcome === 'ok' ? {} : { reason: 'refused for the test' }),
    detail: { x: (i % 5) + 1, purpose: 'login', sealed: true }
  }
}
async function logWith (n: number, dir = tempDir()): Promise<{ dir: string, db: NodeDb, log: AuditLog }> {
  const db = await openNodeDb(dir)
  const log = await AuditLog.open(db)
  for (let i = 0; i < n; i++) await log.append(entry(i))
  return { dir, db, log }
}
function fakeIo (): CliIo & { out: string, err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => { io.out += t },
    stderr: (t: string) => { io.err += t },
    env: {},
    stopSignal: new AbortController().signal
  }
  return io
}

Audit.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

Audit('an empty log verifies with count 0 and a zero head', async () => {
  const { db, log } = await logWith(0)
  assert.equal(log.head(), { seq: 0, hash: new Uint8Array(32) })
  assert.equal(await verifyAuditLog(db), { ok: true, count: 0, head: '00'.repeat(32) })
  await db.close()
})

Audit('N appends chain from seq 1 and verify reports N entries and the head', async () => {
  const { db, log } = await logWith(25)
  const head = log.head()
  assert.is(head.seq, 25)
  assert.equal(await verifyAuditLog(db), { ok: true, count: 25, head: toHex(head.hash) })
  const first = decodeAuditRecord((await db.audit.get(auditKey(1)))!)
  assert.equal(first.prev, new Uint8Array(32))
  const second = decodeAuditRecord((await db.audit.get(auditKey(2)))!)
  assert.equal(second.prev, first.hash)
  await db.close()
})

Audit('append returns the seq and hash of the new record and head follows it', async () => {
  const { db, log } = await logWith(0)
  const a = await log.append(entry(0))
  const b = await log.append(entry(1))
  assert.is(a.seq, 1)
  assert.is(b.seq, 2)
  assert.equal(log.head(), b)
  const rec = decodeAuditRecord((await db.audit.get(auditKey(2)))!)
  assert.equal(rec.hash, b.hash)
  assert.equal(rec.prev, a.hash)
  await db.close()
})

Audit('concurrent appends never fork the chain', async () => {
  const { db, log } = await logWith(0)
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => log.append(entry(i))))
  assert.equal(results.map((r) => r.seq).sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i + 1))
  assert.equal(await verifyAuditLog(db), { ok: true, count: 60, head: toHex(log.head().hash) })
  await db.close()
})

Audit('appends queued while a write is under way are committed together in one batch', async () => {
  const { db, log } = await logWith(0)
  const batch = db.audit.batch.bind(db.audit)
  let writes = 0
  db.audit.batch = ((ops: never) => { writes++; return batch(ops) }) as typeof db.audit.batch
  await Promise.all(Array.from({ length: 60 }, (_, i) => log.append(entry(i))))
  assert.ok(writes <= 2, `60 concurrent appends took ${writes} writes`)
  assert.equal(await verifyAuditLog(db), { ok: true, count: 60, head: toHex(log.head().hash) })
  await db.close()
})

Audit('with flushMs, appends wait in memory to share one write; flush() writes them at once', async () => {
  const { db } = await logWith(0)
  const log = await AuditLog.open(db, { flushMs: 60_000 })
  const batch = db.audit.batch.bind(db.audit)
  let writes = 0
  db.audit.batch = ((ops: never) => { writes++; return batch(ops) }) as typeof db.audit.batch
  const appended = [log.append(entry(1))]
  await new Promise((resolve) => setTimeout(resolve, 30))
  appended.push(log.append(entry(2)), log.append(entry(3)))
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.is(writes, 0, 'nothing written before flushMs has passed')
  assert.equal((await verifyAuditLog(db)).count, 0)
  await log.flush()
  assert.is(writes, 1, 'one write for the three')
  assert.equal((await Promise.all(appended)).map((h) => h.seq), [1, 2, 3])
  assert.equal(await verifyAuditLog(db), { ok: true, count: 3, head: toHex(log.head().hash) })
  await db.close()
})

Audit('with flushMs, an entry is written once it has waited that long, and a full batch at once', async () => {
  const { db } = await logWith(0)
  const short = await AuditLog.open(db, { flushMs: 20 })
  assert.is((await short.append(entry(1))).seq, 1, 'written without a flush()')
  const long = await AuditLog.open(db, { flushMs: 60_000 })
  const full = Array.from({ length: 256 }, (_, i) => long.append(entry(i + 2)))
  let guard: NodeJS.Timeout | undefined
  const timedOut = new Promise((resolve) => { guard = setTimeout(resolve, 60_000, 'timed out') })
  const settled = await Promise.race([Promise.all(full), timedOut])
  clearTimeout(guard)
  assert.ok(Array.isArray(settled), 'a full batch does not wait for flushMs')
  assert.equal(await verifyAuditLog(db), { ok: true, count: 257, head: toHex(long.head().hash) })
  await db.close()
})

Audit('flushMs must be a non-negative integer', async () => {
  const { db } = await logWith(0)
  for (const flushMs of [-1, 1.5, Number.NaN]) {
    await expectArgErrorAsync(async () => await AuditLog.open(db, { flushMs }), RangeError, 'flushMs')
  }
  await db.close()
})

Audit('a failed write rejects its appends and keeps the head; writes stay refused until a reopen, where the chain goes on', async () => {
  const { dir, db, log } = await logWith(3)
  const before = log.head()
  const batch = db.audit.batch.bind(db.audit)
  db.audit.batch = (() => { throw new Error('disk full') }) as unknown as typeof db.audit.batch
  const failed = await Promise.allSettled([log.append(entry(4)), log.append(entry(5))])
  assert.ok(failed.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_STORAGE'))
  assert.equal(log.head(), before)
  db.audit.batch = batch
  // The log may end in a torn record: nothing more is written to it in this open.
  assert.is(await codeOfAsync(log.append(entry(6))), 'ERR_STORAGE')
  assert.equal(log.head(), before)
  await db.close()
  const again = await logWith(1, dir)
  assert.is(again.log.head().seq, 4)
  assert.equal(await verifyAuditLog(again.db), { ok: true, count: 4, head: toHex(again.log.head().hash) })
  await again.db.close()
})

Audit('a reopened log continues the chain after its last record', async () => {
  const { dir, db } = await logWith(7)
  await db.close()
  const again = await logWith(3, dir)
  assert.is(again.log.head().seq, 10)
  const v = await verifyAuditLog(again.db)
  assert.ok(v.ok && v.count === 10)
  await again.db.close()
})

Audit('an entry changed in place (its outcome) is reported at its seq as a hash mismatch', async () => {
  const { db } = await logWith(10)
  const rec = decodeAuditRecord((await db.audit.get(auditKey(6)))!)
  rec.entry.outcome = 'ERR_NOT_AUTHORISED'
  await db.audit.put(auditKey(6), encodeAuditRecord(rec))
  const v = await verifyAuditLog(db)
  assert.is(v.ok, false)
  if (v.ok) return
  assert.is(v.brokenAt, 6)
  assert.is(v.count, 5)
  assert.match(v.reason, /hash mismatch/)
  await db.close()
})

Audit('a record rewritten with a fresh hash breaks the link of the next one', async () => {
  const { db } = await logWith(10)
  const rec = decodeAuditRecord((await db.audit.get(auditKey(4)))!)
  rec.entry.peer = '12D3KooWSomeoneElse'
  rec.hash = auditHash(rec.seq, rec.prev, rec.entry)
  await db.audit.put(auditKey(4), encodeAuditRecord(rec))
  const v = await verifyAuditLog(db)
  assert.ok(!v.ok && v.brokenAt === 5 && /broken link/.test(v.reason), JSON.stringify(v))
  await db.close()
})

Audit('a deleted middle entry is reported as a gap at the missing seq', async () => {
  const { db } = await logWith(10)
  await db.audit.del(auditKey(4))
  const v = await verifyAuditLog(db)
  assert.ok(!v.ok && v.brokenAt === 4 && v.count === 3 && /gap in seq/.test(v.reason), JSON.stringify(v))
  await db.close()
})

Audit('an undecodable record is reported at its seq', async () => {
  const { db } = await logWith(5)
  await db.audit.put(auditKey(3), randomBytes(40))
  let v = await verifyAuditLog(db)
  assert.ok(!v.ok && v.brokenAt === 3 && /undecodable/.test(v.reason), JSON.stringify(v))
  // Well-formed CBOR of the wrong shape is undecodable too.
  await db.audit.put(auditKey(3), encodeCanonical({ seq: 3, hello: 'world' }))
  v = await verifyAuditLog(db)
  assert.ok(!v.ok && v.brokenAt === 3 && /undecodable/.test(v.reason), JSON.stringify(v))
  await db.close()
})

Audit('a record moved to another seq is reported', async () => {
  const { db } = await logWith(5)
  await db.audit.put(auditKey(3), (await db.audit.get(auditKey(2)))!)
  const v = await verifyAuditLog(db)
  assert.ok(!v.ok && v.brokenAt === 3, JSON.stringify(v))
  await db.close()
})

Audit('a truncated tail verifies with the shorter count (the documented limit)', async () => {
  const { db } = await logWith(6)
  await db.audit.del(auditKey(6))
  const v = await verifyAuditLog(db)
  assert.ok(v.ok && v.count === 5)
  await db.close()
})

Audit('bytes in detail are rejected and nothing is written', async () => {
  const { db, log } = await logWith(2)
  const bad = { ...entry(9), detail: { share: new Uint8Array([1, 2, 3]) } } as unknown as AuditEntry
  try {
    await log.append(bad)
    assert.unreachable('bytes were accepted')
  } catch (e) {
    assert.instance(e, TypeError)
    assert.match((e as Error).message, /detail\.share/)
  }
  for (const v of [Buffer.from([1]), new Float32Array(2), { nested: 1 }, Number.NaN, null]) {
    try {
      await log.append({ ...entry(9), detail: { v } } as unknown as AuditEntry)
      assert.unreachable(`accepted detail value ${String(v)}`)
    } catch (e) {
      assert.instance(e, TypeError)
    }
  }
  assert.is(log.head().seq, 2)
  const v = await verifyAuditLog(db)
  assert.ok(v.ok && v.count === 2)
  await db.close()
})

Audit('malformed entries are refused with the field named', async () => {
  const { db, log } = await logWith(0)
  const cases: Array<[unknown, string]> = [
    [{ ...entry(0), time: 1.5 }, 'entry.time'],
    [{ ...entry(0), peer: 42 }, 'entry.peer'],
    [{ ...entry(0), extra: 'x' }, 'entry.extra'],
    [{ ...entry(0), reason: 'r'.repeat(5000) }, 'entry.reason'],
    [{ ...entry(0), subject: new Uint8Array(32) }, 'entry.subject']
  ]
  for (const [e, name] of cases) {
    try {
      await log.append(e as AuditEntry)
      assert.unreachable(`accepted ${name}`)
    } catch (err) {
      assert.ok((err as Error).message.includes(name), (err as Error).message)
    }
  }
  assert.is(log.head().seq, 0)
  await db.close()
})

Audit('a failed append leaves the chain usable', async () => {
  const { db, log } = await logWith(1)
  const many: Record<string, string> = {}
  for (let i = 0; i < 20; i++) many[`k${i}`] = 'v'.repeat(2000)
  try {
    await log.append({ ...entry(1), detail: many })
    assert.unreachable('an oversized record was accepted')
  } catch (e) {
    assert.is((e as BioshardError).code, 'ERR_TOO_LARGE')
  }
  await log.append(entry(2))
  const v = await verifyAuditLog(db)
  assert.ok(v.ok && v.count === 2)
  await db.close()
})

Audit('the pinned v1 record format still encodes and verifies (fixture)', async () => {
  const fx = JSON.parse(readFileSync(join(FIXTURES, 'audit-chain-v1.json'), 'utf8')) as {
    records: Array<{ seq: number, entry: AuditEntry, record: string, hash: string }>
  }
  let prev: Uint8Array = new Uint8Array(32)
  const db = await openNodeDb(tempDir())
  for (const r of fx.records) {
    const hash = auditHash(r.seq, prev, r.entry)
    assert.is(toHex(hash), r.hash)
    assert.is(toHex(encodeAuditRecord({ seq: r.seq, prev, entry: r.entry, hash })), r.record)
    await db.audit.put(auditKey(r.seq), fromHex(r.record))
    prev = hash
  }
  assert.equal(await verifyAuditLog(db), { ok: true, count: fx.records.length, head: fx.records.at(-1)!.hash })
  const log = await AuditLog.open(db)
  assert.is(log.head().seq, fx.records.length)
  await db.close()
})

Audit('audit verify prints ok with the count and head and exits 0', async () => {
  const { dir, db, log } = await logWith(4)
  const head = toHex(log.head().hash)
  await db.close()
  const io = fakeIo()
  assert.is(await command.run(['verify', '--dir', dir], io), EXIT.OK)
  assert.is(io.out, `audit log ok: 4 entries, head ${head}\n`)
})

Audit('audit verify prints where the chain breaks and exits 1', async () => {
  const { dir, db } = await logWith(5)
  const rec = decodeAuditRecord((await db.audit.get(auditKey(3)))!)
  rec.entry.outcome = 'ERR_REPLAY'
  await db.audit.put(auditKey(3), encodeAuditRecord(rec))
  await db.close()
  const io = fakeIo()
  assert.is(await command.run(['verify', '--dir', dir], io), EXIT.FAILURE)
  assert.match(io.out, /^audit log broken at entry 3: hash mismatch/)
})

Audit('audit verify: usage errors, --help, a running node and a missing node', async () => {
  for (const argv of [['verify'], [], ['frobnicate', '--dir', '/x'], ['verify', '--dir', '/x', 'extra'], ['verify', '--bogus']]) {
    try {
      await command.run(argv, fakeIo())
      assert.unreachable(`accepted ${argv.join(' ')}`)
    } catch (e) {
      assert.instance(e, UsageError)
    }
  }
  const io = fakeIo()
  assert.is(await command.run(['--help'], io), EXIT.OK)
  assert.match(io.out, /bioshard audit verify --dir/)

  const { dir, db } = await logWith(1)
  try {
    await command.run(['verify', '--dir', dir], fakeIo())
    assert.unreachable('verified a locked database')
  } catch (e) {
    assert.is((e as BioshardError).code, 'ERR_BUSY')
    assert.ok((e as Error).message.includes(`node at ${dir} is running`))
  }
  await db.close()
  try {
    await command.run(['verify', '--dir', join(dir, 'absent')], fakeIo())
    assert.unreachable('verified a missing node')
  } catch (e) {
    assert.is((e as BioshardError).code, 'ERR_NOT_FOUND')
  }
})

Audit.run()
