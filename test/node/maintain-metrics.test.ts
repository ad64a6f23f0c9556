/**
 * What maintenance leaves for operators, over real nodes (the maintenance
 * tests' network, each node serving /metrics): possession audits counted by
 * outcome, rounds by each node's part and how they ended (committed, aborted,
 * timed out, refused) and maintenance bytes, scraped from each node's real
 * /metrics endpoint after a real audit, refresh and repair; the audit-log
 * entries every node involved wrote, read from the stopped nodes' databases
 * with their chains verified; and `bioshard maintain --metrics` serving each
 * pass's counters.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'
import { toHex } from '../../crypto/bytes.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { auditHolder } from '../../client/audit.ts'
import { HOLDER_HANDLERS, type HandlerEntry } from '../../node/handlers/registry.ts'
import { maintainHandler, reportingSessions } from '../../node/handlers/maintain.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { decodeAuditRecord, type AuditEntry } from '../../node/audit/audit-log.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'
import { admitTenant } from '../../keys/authority.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'
import { runCli } from '../../cli/main.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { RawRound } from '../helpers/maintain.ts'
import { maintainNetwork } from '../helpers/maintain-network.ts'

const setup = await maintainNetwork({ metrics: true })
const { net, tenant, mallory, client, raw, id, nodeOf, indexOf, peersOf } = setup
const subject = toHex(id)
const rawPeer = raw.host.peerId.toString()

/** One sample of the exposition text: `name{labels} value`. */
interface Sample { name: string, labels: Record<string, string>, value: number }

function samples (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]))
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/** The value of one series (0 when absent). */
function valueOf (text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels)
  const s = samples(text).find((x) => x.name === name && Object.keys(x.labels).length === want.length && want.every(([k, v]) => x.labels[k] === v))
  return s?.value ?? 0
}

async function get (url: string): Promise<string> {
  const res = await fetch(url)
  assert.is(res.status, 200, url)
  return await res.text()
}

/** Each running peer's /metrics text, scraped over HTTP from its real endpoint. */
async function scrape (peers: readonly string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(peers.map(async (p) => [p, await get(`${nodeOf(p).metricsUrl as string}/metrics`)] as const)))
}

const rounds = (kind: string, outcome: string): [string, Record<string, string>] => ['bioshard_maintain_rounds_total', { kind, outcome }]
const BYTES = 'bioshard_maintain_bytes_total'
const AUDITS = 'bioshard_possession_audits_total'

/** How much a series grew at `peer` between two scrapes. */
function grew (before: Map<string, string>, after: Map<string, string>, peer: string, [name, labels]: [string, Record<string, string>]): number {
  return valueOf(after.get(peer) as string, name, labels) - valueOf(before.get(peer) ?? '', name, labels)
}

const running = (): string[] => net.nodes.filter((n) => n.libp2p !== undefined).map((n) => n.cert.body.peer)
const first = await client.manifest(id)
/** Filled in as the suites run, read back from the audit logs at the end. */
const seen: { refreshed?: Manifest, repaired?: Manifest, gone?: string, to?: string, abortReason: string } = { abortReason: 'stopped by the operator' }

const Metrics = suite('node metrics of audits and rounds, scraped from /metrics')

Metrics('an audit counts proved at every holder; a refused one counts its code', async () => {
  const holders = peersOf(first)
  const before = await scrape(holders)
  const outcomes = await client.audit(id)
  assert.equal(outcomes.map((o) => o.outcome), holders.map(() => 'passed'))
  // Another tenant asks for a proof of acme's share: the holder answers as for an unknown id.
  const auditor = { tenant: mallory.key.publicKey, key: mallory.key }
  const stranger = await auditHolder(raw.host, first.body.shares[0], { templateId: id, auditor, timeoutMs: 10_000 })
  assert.equal([stranger.outcome, stranger.reason], ['failed', 'ERR_NOT_FOUND'])
  const after = await scrape(holders)
  for (const p of holders) assert.is(grew(before, after, p, [AUDITS, { outcome: 'proved' }]), 1, p)
  assert.is(grew(before, after, holders[0], [AUDITS, { outcome: 'ERR_NOT_FOUND' }]), 1)
})

Metrics('a refresh counts one committed refresh round and maintenance bytes both ways at every holder', async () => {
  const holders = peersOf(first)
  const before = await scrape(holders)
  const report = await client.refresh(id)
  seen.refreshed = await client.manifest(id)
  assert.is(seen.refreshed.body.seq, report.seq)
  const after = await scrape(holders)
  for (const p of holders) {
    assert.is(grew(before, after, p, rounds('refresh', 'committed')), 1, p)
    assert.ok(grew(before, after, p, [BYTES, { direction: 'sent' }]) > 0, `${p} sent deals and answers`)
    assert.ok(grew(before, after, p, [BYTES, { direction: 'received' }]) > 0, `${p} received deals and steps`)
  }
  const total = (dir: string): number => holders.reduce((sum, p) => sum + grew(before, after, p, [BYTES, { direction: dir }]), 0)
  assert.ok(total('sent') + total('received') >= report.bytes, `the nodes saw every byte the coordinator counted (${report.bytes})`)
})

Metrics('a round the coordinator aborts counts aborted at every party; an open a node refuses counts refused', async () => {
  const m = seen.refreshed as Manifest
  const holders = peersOf(m)
  const before = await scrape(holders)
  const r = new RawRound(raw.host, m, tenant.key)
  await r.all(holders, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
  await r.all(holders, { kind: 'abort', reason: seen.abortReason })
  const bad = new RawRound(raw.host, m, mallory.key)
  assert.is(await codeOfAsync(bad.ask(holders[0], { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })), 'ERR_BAD_SIGNATURE')
  const after = await scrape(holders)
  for (const p of holders) assert.is(grew(before, after, p, rounds('refresh', 'aborted')), 1, p)
  assert.is(grew(before, after, holders[0], rounds('refresh', 'refused')), 1)
  assert.is(grew(before, after, holders[1], rounds('refresh', 'refused')), 0)
})

Metrics('a round left open past its deadline counts timed-out', async () => {
  const m = seen.refreshed as Manifest
  seen.gone = peersOf(m)[1]
  // The same node restarted with rounds that time out after a second, so the deadline passes within the test.
  const short: HandlerEntry[] = HOLDER_HANDLERS.map((e) => e.protocol !== PROTOCOL.MAINTAIN
    ? e
    : { ...e, create: (c) => maintainHandler(c, reportingSessions(c, { ttlMs: 1_000 })) })
  await net.restartNode(indexOf(seen.gone), { handlers: short })
  await net.converged()
  const r = new RawRound(raw.host, m, tenant.key)
  const joined = await r.ask(seen.gone, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
  assert.is(joined.kind, 'join')
  let text = ''
  for (let i = 0; i < 200 && valueOf(text, ...rounds('refresh', 'timed-out')) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    text = (await scrape([seen.gone])).get(seen.gone) as string
  }
  assert.is(valueOf(text, ...rounds('refresh', 'timed-out')), 1)
})

Metrics('a repair counts t helper rounds, one new-holder round and the others as observers', async () => {
  const m = seen.refreshed as Manifest
  const gone = seen.gone as string
  await net.stopNode(indexOf(gone))
  const live = running()
  const before = await scrape(live)
  const report = await client.repair(id, { lost: [gone] })
  seen.repaired = await client.manifest(id)
  seen.to = report.replaced[0].to
  const after = await scrape(live)
  const sum = (series: [string, Record<string, string>]): number => live.reduce((n, p) => n + grew(before, after, p, series), 0)
  const { t, n } = m.body
  assert.is(sum(rounds('repair-helper', 'committed')), t)
  assert.is(sum(rounds('repair-observer', 'committed')), n - 1 - t)
  assert.is(sum(rounds('repair-new-holder', 'committed')), 1)
  assert.is(grew(before, after, seen.to, rounds('repair-new-holder', 'committed')), 1)
  assert.ok(grew(before, after, seen.to, [BYTES, { direction: 'received' }]) > 0, 'the new holder received its sums')
  assert.is(sum(rounds('repair-helper', 'aborted')) + sum(rounds('repair-helper', 'refused')), 0)
})

Metrics('no series names a template, round or peer', async () => {
  const text = [...(await scrape(running())).values()].join('\n')
  for (const s of samples(text).filter((x) => x.name.startsWith('bioshard_'))) {
    for (const v of Object.values(s.labels)) assert.ok(v.length < 40 && !/[0-9a-f]{16}|12D3Koo/.test(v), `${s.name} label ${v}`)
  }
})

Metrics.run()

const Maintainer = suite('bioshard maintain --metrics')

Maintainer('serves each pass\'s counters on /metrics while it runs; a bad address is a usage error', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'bioshard-tenant-')), 'tenant')
  writeTenantCredentials(dir, admitTenant(net.authority, 'metrics-tenant'), net.info)
  const common = ['--tenant', dir, '--bootstrap', net.bootstrap[0]]
  const quiet = { stderr: () => {}, env: {} }
  let enrolled = ''
  const enrolling = { ...quiet, stdout: (s: string) => { enrolled += s }, stopSignal: new AbortController().signal }
  assert.is(await runCli(['enroll', ...common, '--synthetic', '5'], enrolling), 0)
  const stop = new AbortController()
  let out = ''
  let scraped: Promise<string> | undefined
  const stdout = (s: string): void => {
    out += s
    const url = /^metrics (\S+)$/m.exec(out)?.[1]
    if (scraped === undefined && url !== undefined && / templates 1 · /.test(out)) {
      scraped = get(url).finally(() => { stop.abort() })
    }
  }
  const argv = ['maintain', ...common, '--every', '1h', '--refresh-every', '1d', '--metrics', '127.0.0.1:0']
  const code = await runCli(argv, { ...quiet, stdout, stopSignal: stop.signal })
  assert.is(code, 0, out)
  const text = await (scraped as Promise<string>)
  assert.match(out, /templates 1 · audits passed 5 failed 0 no-answer 0 · repairs 0 · refreshes 1 · errors 0 · bytes [1-9]/)
  assert.is(valueOf(text, 'bioshard_maintainer_passes_total'), 1)
  assert.is(valueOf(text, 'bioshard_maintainer_audits_total', { outcome: 'passed' }), 5)
  assert.is(valueOf(text, 'bioshard_maintainer_audits_total', { outcome: 'no-answer' }), 0)
  assert.is(valueOf(text, 'bioshard_maintainer_rounds_total', { action: 'refresh', outcome: 'ok' }), 1)
  assert.is(valueOf(text, 'bioshard_maintainer_rounds_total', { action: 'repair', outcome: 'failed' }), 0)
  assert.is(valueOf(text, 'bioshard_maintainer_errors_total'), 0)
  assert.is(String(valueOf(text, 'bioshard_maintainer_bytes_total')), /bytes (\d+)/.exec(out)?.[1])
  assert.is(valueOf(text, 'bioshard_maintainer_templates'), 1)
  let err = ''
  const io = { stdout: () => {}, stderr: (s: string) => { err += s }, env: {}, stopSignal: stop.signal }
  const bad = await runCli(['maintain', ...common, '--once', '--metrics', 'localhost'], io)
  assert.is(bad, 2)
  assert.match(err, /--metrics/)
  // A port in use is a one-line error before the network is joined.
  const taken = createServer()
  await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve) })
  err = ''
  const port = (taken.address() as AddressInfo).port
  assert.is(await runCli(['maintain', ...common, '--once', '--metrics', `127.0.0.1:${port}`], io), 2)
  assert.match(err, /in use/)
  await new Promise((resolve) => { taken.close(resolve) })
  assert.ok(enrolled.includes('templateId'))
})

Maintainer.run()

const Logs = suite('audit-log entries at every node involved, read back from the stopped nodes')

/** Every node's entries, by peer, once the nodes are stopped; each chain verified. */
async function readLogs (): Promise<Map<string, AuditEntry[]>> {
  for (let i = 0; i < net.nodes.length; i++) await net.stopNode(i)
  const logs = new Map<string, AuditEntry[]>()
  for (const node of net.nodes) {
    const db = await openNodeDb(node.dir)
    try {
      const entries: AuditEntry[] = []
      for await (const [, value] of db.audit.iterator()) entries.push(decodeAuditRecord(value).entry)
      const verdict = await verifyAuditLog(db)
      assert.ok(verdict.ok, `${node.cert.body.peer}: ${JSON.stringify(verdict)}`)
      assert.is(verdict.count, entries.length)
      logs.set(node.cert.body.peer, entries)
    } finally {
      await db.close()
    }
  }
  return logs
}

const ofTemplate = (entries: AuditEntry[], action: string): AuditEntry[] => entries.filter((e) => e.subject === subject && e.action === action)

Logs('audits, refresh, abort, timeout and repair each left an entry at each node involved, and every chain verifies', async () => {
  const logs = await readLogs()
  const at = (peer: string): AuditEntry[] => logs.get(peer) as AuditEntry[]
  const me = client.peerId
  // The audit: each holder proved its share to the tenant; the stranger's request is a refusal entry.
  for (const e of first.body.shares) {
    const proved = ofTemplate(at(e.holder), `audit by=tenant x=${e.x} seq=${first.body.seq}`).filter((a) => a.outcome === 'ok' && a.peer === me)
    assert.is(proved.length, 1, `audit entry at ${e.holder}`)
  }
  assert.ok(at(first.body.shares[0].holder).some((a) => a.protocol === 'audit' && a.outcome === 'ERR_NOT_FOUND' && a.peer === rawPeer))
  // The refresh: every holder swapped its share (its old one destroyed), and took a deal from every other holder.
  const refreshed = seen.refreshed as Manifest
  for (const e of refreshed.body.shares) {
    const [end] = ofTemplate(at(e.holder), 'maintain round committed').filter((a) => a.detail?.op === 'refresh' && a.peer === me)
    assert.equal(end?.detail && { ...end.detail, round: '' }, { round: '', op: 'refresh', role: 'holder', x: e.x, seq: refreshed.body.seq, share: 'replaced' })
    assert.is(ofTemplate(at(e.holder), 'maintain commit refresh as holder').filter((a) => a.outcome === 'ok').length, 1)
    const dealers = new Set(ofTemplate(at(e.holder), 'maintain deal').filter((a) => a.outcome === 'ok').map((a) => a.peer))
    for (const other of peersOf(refreshed).filter((p) => p !== e.holder)) assert.ok(dealers.has(other), `${e.holder} took a deal from ${other}`)
  }
  // The aborted round: an entry at every holder with the coordinator's reason; the share unchanged.
  for (const p of peersOf(refreshed)) {
    const aborted = ofTemplate(at(p), 'maintain round aborted').filter((a) => a.peer === rawPeer)
    assert.is(aborted.length, 1, p)
    assert.is(aborted[0].outcome, 'ERR_ABORTED')
    assert.ok(aborted[0].reason?.includes(seen.abortReason), aborted[0].reason)
    assert.is(aborted[0].detail?.share, 'unchanged')
  }
  // The round left open at the restarted node timed out there.
  const timedOut = ofTemplate(at(seen.gone as string), 'maintain round timed out')
  assert.is(timedOut.length, 1)
  assert.is(timedOut[0].outcome, 'ERR_TIMEOUT')
  // The repair: the new holder stored a share from t helpers' sums; the helpers and observers took the new manifest.
  const repaired = seen.repaired as Manifest
  const to = seen.to as string
  const ended = (peer: string): AuditEntry[] => ofTemplate(at(peer), 'maintain round committed').filter((a) => a.detail?.op === 'repair')
  const [stored] = ended(to)
  assert.equal(stored.detail && { ...stored.detail, round: '' }, {
    round: '', op: 'repair', role: 'new', x: repaired.body.shares.find((s) => s.holder === to)?.x as number, seq: repaired.body.seq, share: 'stored'
  })
  const helpers = peersOf(repaired).filter((p) => ended(p)[0]?.detail?.role === 'helper')
  assert.is(helpers.length, repaired.body.t)
  assert.equal(new Set(ofTemplate(at(to), 'maintain sum').filter((a) => a.outcome === 'ok').map((a) => a.peer)), new Set(helpers))
  const observers = peersOf(repaired).filter((p) => ended(p)[0]?.detail?.role === 'observer')
  assert.is(observers.length, repaired.body.n - 1 - repaired.body.t)
  for (const p of [...helpers, ...observers]) assert.is(ended(p)[0].detail?.share, 'unchanged')
  const rounds = new Set(peersOf(repaired).map((p) => ended(p)[0].detail?.round))
  assert.is(rounds.size, 1, 'every party names the same round')
})

Logs.after(async () => { await setup.stop() })

Logs.run()
