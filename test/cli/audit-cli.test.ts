/**
 * `bioshard audit verify` on the audit log a real node wrote: after stores,
 * fetches and refusals on a 3-node network, the stopped node's log holds
 * every one of them (written at the latest by the stop), verifies
 * (exit 0), its entries say who did what and how it ended without holding
 * any share bytes, and a record edited on disk is named by its seq (exit 1).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, testEnclave, enrolByHand, type Enrolled } from '../helpers/enrol.ts'
import { LeakPatterns } from '../helpers/leak-scan.ts'
import { fetchShare, prepareFetch, sendFetch } from '../../client/holder-requests.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { MAX_REFUSAL_MESSAGE } from '../../protocol/frame.ts'
import { request } from '../../net/rpc.ts'
import { runCli } from '../../cli/main.ts'
import type { CliIo } from '../../cli/io.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { decodeAuditRecord, encodeAuditRecord, auditKey, type AuditRecord } from '../../node/audit/audit-log.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { sharedSetup } from '../helpers/setup.ts'

const root = mkdtempSync(join(tmpdir(), 'bioshard-audit-'))
const state: { net?: LocalNetwork, client?: Awaited<ReturnType<typeof clientHost>>, enrolled?: Enrolled, started: number } = { started: Date.now() }
const nodeDir = (i: number): string => join(root, `node-${i + 1}`)

async function cli (argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const io: CliIo = { stdout: (t) => { out += t }, stderr: (t) => { err += t }, env: {}, stopSignal: new AbortController().signal }
  const code = await runCli(argv, io)
  return { code, out, err }
}

async function records (dir: string): Promise<AuditRecord[]> {
  const db = await openNodeDb(dir, { createIfMissing: false })
  try {
    const out: AuditRecord[] = []
    for await (const [, value] of db.audit.iterator()) out.push(decodeAuditRecord(value))
    return out
  } finally {
    await db.close()
  }
}

const audit = suite('bioshard audit verify on a node\'s own log')

sharedSetup(audit, 'a network of 3 nodes with logged refusals', async () => {
  // Entries may wait 10 s in memory before they are written: the log read
  // below is complete only because stopping a node writes what is waiting.
  const net = await LocalNetwork.start({ nodes: 3, dir: root, keep: true, limits: { auditFlushMs: 10_000 } })
  state.net = net
  await net.converged()
  const client = await clientHost(net)
  state.client = client
  const tenant = net.tenant('acme')
  const verifier = net.verifier(tenant, ['login'])
  const enclave = testEnclave(verifier)
  const creds = { verifier: verifier.key, cert: verifier.wire, attestation: enclave.attestation }
  const e = await enrolByHand(client.host, net.nodes, tenant, { measurements: [enclave.measurement], t: 2 })
  state.enrolled = e
  const holder = net.nodes[0].cert.body.peer
  const own = { templateId: e.templateId, x: e.shares[0].x, purpose: 'login', creds }
  const fiveMinutesAgo = { now: Date.now() - 5 * 60_000 }
  const storeRaw = async (body: Uint8Array): Promise<unknown> =>
    await request(client.host, peerIdFromString(holder), PROTOCOL.STORE, { body, timeoutMs: 5_000, maxResponseBytes: 4096 })
  await fetchShare(client.host, holder, own)
  await fetchShare(client.host, holder, own)
  assert.is(await codeOfAsync(fetchShare(client.host, holder, own, fiveMinutesAgo)), 'ERR_STALE')
  assert.is(await codeOfAsync(fetchShare(client.host, holder, { templateId: randomBytes(32), x: 1, purpose: 'login', creds })), 'ERR_NOT_FOUND')
  assert.is(await codeOfAsync(storeRaw(randomBytes(64))), 'ERR_DECODE')
  const second = { templateId: e.templateId, x: e.shares[1].x, purpose: 'login', creds }
  for (let i = 0; i < 2; i++) await fetchShare(client.host, net.nodes[1].cert.body.peer, second)
  // A request listing every possible share is served and audited under the holder's own x.
  const everyX = { templateId: e.templateId, xs: Array.from({ length: 255 }, (_, i) => i + 1), purpose: 'login', creds }
  const every = prepareFetch(client.host, everyX)
  await sendFetch(client.host, holder, { x: e.shares[0].x, prepared: every })
  const staleEvery = prepareFetch(client.host, everyX, fiveMinutesAgo)
  assert.is(await codeOfAsync(sendFetch(client.host, holder, { x: e.shares[0].x, prepared: staleEvery })), 'ERR_STALE')
  // A refusal whose message would quote a huge field name of the peer's is still audited, its reason bounded.
  const hostile = encodeCanonical({ body: {}, sig: new Uint8Array(64), ['k'.repeat(4_000)]: 1 })
  assert.is(await codeOfAsync(storeRaw(hostile)), 'ERR_DECODE')
})

audit('refuses the database of a running node (ERR_BUSY) rather than read a live log', async () => {
  const r = await cli(['audit', 'verify', '--dir', nodeDir(0)])
  assert.is(r.code, 1)
  assert.match(r.err, /ERR_BUSY/)
  await state.client!.stop()
  await state.net!.stop()
})

audit('an intact log verifies: exit 0 with the number of entries and the head', async () => {
  const r = await cli(['audit', 'verify', '--dir', nodeDir(0)])
  assert.is(r.code, 0, r.out + r.err)
  const m = /^audit log ok: (\d+) entries, head ([0-9a-f]{64})\n$/.exec(r.out)
  assert.ok(m !== null, r.out)
  const all = await records(nodeDir(0))
  assert.ok(all.length >= 6, `${all.length} entries`)
  assert.is(Number(m[1]), all.length)
  assert.is(m[2], toHex(all[all.length - 1].hash))
})

audit('entries say who did what to which template, when, and how it ended', async () => {
  const all = await records(nodeDir(0))
  const client = state.client!.host.peerId.toString()
  const subject = toHex(state.enrolled!.templateId)
  const x = state.enrolled!.shares[0].x
  const mine = all.filter((r) => r.entry.peer === client)
  const find = (protocol: string, outcome: string): AuditRecord[] => mine.filter((r) => r.entry.protocol === protocol && r.entry.outcome === outcome)

  const [store] = find('store', 'ok')
  assert.ok(store !== undefined, 'the store is audited')
  assert.is(store.entry.subject, subject)
  assert.is(store.entry.action, `store x=${x}`)

  const fetches = find('fetch', 'ok')
  assert.is(fetches.length, 3)
  for (const f of fetches) {
    assert.is(f.entry.subject, subject)
    assert.is(f.entry.action, `fetch x=${x} purpose=login`)
  }

  const stales = find('fetch', 'ERR_STALE')
  assert.is(stales.length, 2, 'refusals are audited with their code, one listing 255 shares included')
  const [stale] = stales
  assert.is(stale.entry.subject, subject)
  assert.match(stale.entry.reason ?? '', /freshness window/)
  assert.is(find('fetch', 'ERR_NOT_FOUND').length, 1)
  const garbage = find('store', 'ERR_DECODE')
  assert.is(garbage.length, 2, 'undecodable requests are audited too, a hostile one included')
  assert.is(garbage[0].entry.subject, undefined, 'nothing to name')
  for (const r of all) assert.ok((r.entry.reason ?? '').length <= MAX_REFUSAL_MESSAGE, `reason of entry ${r.seq} is bounded`)

  for (const r of all) assert.ok(r.entry.time >= state.started - 1_000 && r.entry.time <= Date.now(), 'when')
  assert.equal(all.map((r) => r.seq), all.map((_, i) => i + 1), 'seq counts from 1 without gaps')
})

audit('no entry holds a share or the template, raw or as hex', async () => {
  const e = state.enrolled!
  const patterns = new LeakPatterns([...e.shares.map((s) => s.bytes), e.template])
  for (let i = 0; i < 3; i++) {
    for (const r of await records(nodeDir(i))) {
      assert.is(patterns.find(encodeAuditRecord(r), `node ${i + 1} audit ${r.seq}`), undefined)
    }
  }
})

audit('a record edited on disk (hash kept) is named by its seq: exit 1', async () => {
  const all = await records(nodeDir(0))
  const target = all.find((r) => r.entry.outcome === 'ERR_STALE')!
  const db = await openNodeDb(nodeDir(0))
  try {
    const forged = { ...target, entry: { ...target.entry, outcome: 'ok' } }
    delete forged.entry.reason
    await db.audit.put(auditKey(target.seq), encodeAuditRecord(forged))
  } finally {
    await db.close()
  }
  const r = await cli(['audit', 'verify', '--dir', nodeDir(0)])
  assert.is(r.code, 1)
  assert.is(r.out, `audit log broken at entry ${target.seq}: hash mismatch: the record was altered after it was written\n`)
})

audit('a record deleted from the middle is named as the first missing seq: exit 1', async () => {
  const all = await records(nodeDir(1))
  assert.ok(all.length >= 3, `${all.length} entries`)
  const gone = all[1].seq
  const db = await openNodeDb(nodeDir(1))
  try { await db.audit.del(auditKey(gone)) } finally { await db.close() }
  const r = await cli(['audit', 'verify', '--dir', nodeDir(1)])
  assert.is(r.code, 1)
  assert.match(r.out, new RegExp(`^audit log broken at entry ${gone}: gap in seq`))
})

audit('a directory without a node database is reported, not created', async () => {
  const empty = join(root, 'empty')
  const r = await cli(['audit', 'verify', '--dir', empty])
  assert.is(r.code, 1)
  assert.match(r.err, /ERR_NOT_FOUND: no node database/)
})

audit.after(async () => {
  await state.client?.stop()
  await state.net?.stop()
  rmSync(root, { recursive: true, force: true })
})

audit.run()
