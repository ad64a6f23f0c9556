/**
 * DESIGN invariant 6 under a storm of kills: a seeded slice of the kill storm
 * (bench/kill-storm.ts; `npm run kill-storm` runs 100) against a real node
 * process, and a write interrupted mid-record: the tail of the database's
 * write-ahead log torn off after a kill, as a power cut leaves it. LevelDB
 * checksums each log record and drops a torn last one at reopen, so the audit
 * chain loses at most its newest batch, whole, and still verifies.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killStorm, formatSummary } from '../../bench/kill-storm.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'
import { LoneNode } from '../helpers/lone-node.ts'

const storm = suite('kill storm: SIGKILL at seeded moments during stores and erases')

storm('5 kills: nothing acknowledged is lost or undone, and the audit chain verifies after each', async () => {
  const s = await killStorm({ kills: 5, seed: 5 })
  assert.is(s.kills, 5)
  assert.ok(s.ackedStores > 0, formatSummary(s))
  assert.equal(s.problems, [], formatSummary(s))
  assert.is(s.lost, 0)
  assert.is(s.undone, 0)
  assert.is(s.leaked, 0)
  assert.is(s.chainBroken, 0)
  // Audit appends are group-committed and not synced one by one: the newest
  // entries may die with the process, so the count is not compared with the acks.
  assert.ok(s.chainEntries > 0)
})

storm.run()

const torn = suite('a write torn mid-record (the log cut short after a kill)')
const root = mkdtempSync(join(tmpdir(), 'bioshard-torn-'))
let lone: LoneNode | undefined

/** The newest write-ahead log of the node's database. */
function newestLog (dir: string): string {
  const logs = readdirSync(join(dir, 'db')).filter((f) => f.endsWith('.log')).sort()
  assert.ok(logs.length > 0, 'the database has a write-ahead log')
  return join(dir, 'db', logs[logs.length - 1])
}

async function verdict (dir: string): Promise<Awaited<ReturnType<typeof verifyAuditLog>>> {
  const db = await openNodeDb(dir, { createIfMissing: false })
  try { return await verifyAuditLog(db) } finally { await db.close() }
}

torn('every cut of the last bytes leaves a database that reopens and a chain that verifies, one whole batch shorter at most', async () => {
  lone = await LoneNode.create(root)
  await lone.start()
  for (let i = 0; i < 4; i++) await lone.store(await lone.prepare())
  await lone.node!.kill('SIGKILL')
  const whole = await verdict(lone.dir)
  assert.ok(whole.ok && whole.count > 0, JSON.stringify(whole))
  const log = newestLog(lone.dir)
  // Cut 1, 7, 33 … bytes: into the last record's payload, its header, or the record before.
  let size = statSync(log).size
  for (const cut of [1, 7, 33, 200]) {
    if (size <= cut) break
    size -= cut
    truncateSync(log, size)
    const v = await verdict(lone.dir)
    assert.ok(v.ok, `cut ${cut}: ${JSON.stringify(v)}`)
    assert.ok(v.count <= whole.count, 'never more records than were written')
  }
  // The node starts on it and serves again.
  await lone.start()
  const s = await lone.prepare()
  await lone.store(s)
  assert.ok((await lone.fetch(s)).length > 0)
  await lone.node!.kill('SIGKILL')
  const after = await verdict(lone.dir)
  assert.ok(after.ok, JSON.stringify(after))
})

torn.after(async () => {
  await lone?.close()
  rmSync(root, { recursive: true, force: true })
})

torn.run()
