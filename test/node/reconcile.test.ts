/**
 * Holders reconcile what they hold with the newest tenant-signed manifest
 * (node/reconcile.ts), over real nodes, a real DHT and real repairs:
 *
 * - a holder that a repair replaced while it was down destroys its share
 *   when it comes back (no site keeps a second share of the template);
 * - a holder that was down during an erase erases its share when it comes
 *   back, under the erased manifest as its tombstone;
 * - a holder that missed the repair of another holder keeps its share and
 *   takes the new manifest copy, and a running one serves under it at once;
 * - records that are not the slot tenant's own, or not newer, change nothing:
 *   another tenant's erased manifest for the same id, forged "newer" records
 *   from a hostile DHT peer, a re-signed manifest of the same seq.
 *
 * The nodes' own schedule is off (`reconcile: RECONCILE_OFF_MS`); each test
 * runs the pass a real node runs after start-up and every hour.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { manifestKey, slotKey } from '../../protocol/ownership.ts'
import { decodeManifest, encodeManifest, signManifest, type Manifest } from '../../protocol/manifest.ts'
import { RECONCILE_OFF_MS, judge, reconcileShares, type ReconcileInit } from '../../node/reconcile.ts'
import type { ShareStore } from '../../node/store/share-store.ts'
import type { SiteNode } from '../../node/site-node.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'
import { decodeAuditRecord, type AuditEntry } from '../../node/audit/audit-log.ts'
import { toHex } from '../../crypto/bytes.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import type { Host } from '../../net/host.ts'
import { clientHost, testEnclave } from '../helpers/enrol.ts'

const net = await LocalNetwork.start({ nodes: 6, sites: 6, reconcile: { delayMs: RECONCILE_OFF_MS, everyMs: RECONCILE_OFF_MS } })
await net.converged()
const tenant = net.tenant('acme')
const other = net.tenant('other')
const client: Client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(23)
const MODEL = 'synthetic-128'
const policy = { ratePerMinute: 600, burst: 600 }

/** Shares the tests saw a node erase or destroy, checked against its audit log at the end. */
const changes: Array<{ i: number, id: Uint8Array, kind: 'erased' | 'superseded' }> = []
const storeOf = (n: SiteNode): ShareStore => (n as unknown as { store: ShareStore }).store
const indexOf = (peer: string): number => net.nodes.findIndex((n) => n.cert.body.peer === peer)
const slotOf = (id: Uint8Array): Uint8Array => slotKey(tenant.key.publicKey, id)
const holds = async (n: SiteNode, id: Uint8Array): Promise<boolean> => {
  const h = await n.heldShare(slotOf(id))
  h?.share.fill(0)
  return h !== undefined
}

async function enrol (t: number, n: number): Promise<{ id: Uint8Array, alice: Float32Array, manifest: Manifest }> {
  const alice = syntheticIdentity(128, rand)
  const e = await client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t, n, policy })
  return { id: e.templateId, alice, manifest: e.manifest }
}

/** Most passes a test runs for one change: the node itself runs one after start-up and then every hour. */
const RECONCILE_PASSES = 3

/**
 * Run the node's reconciliation pass until it has made a change of `kind` (at most {@link RECONCILE_PASSES} passes):
 * a node just restarted on a busy machine can end its first lookups before they reach the peers holding the newer
 * record, and then finds nothing newer until its next pass.
 *
 * @returns the changes of `kind` made over those passes
 */
async function reconciled (node: SiteNode, kind: 'superseded' | 'erased' | 'adopted'): Promise<number> {
  let made = 0
  for (let pass = 0; pass < RECONCILE_PASSES && made === 0; pass++) made += (await node.reconcile())[kind]
  return made
}

const reconcile = suite('holders reconcile with the newest manifest')

reconcile('a holder replaced by a repair while it was down destroys its share when it comes back; no other node keeps one', async () => {
  const { id, alice, manifest } = await enrol(2, 3)
  const gone = manifest.body.shares[0].holder
  const i = indexOf(gone)
  await net.stopNode(i)
  const report = await client.repair(id, { lost: [gone] })
  assert.is(report.action, 'repair')
  const node = await net.restartNode(i)
  await net.converged()
  assert.ok(await holds(node, id), 'the returning holder still holds its replaced share before reconciling (the check below means something)')
  assert.is(await reconciled(node, 'superseded'), 1)
  changes.push({ i, id, kind: 'superseded' })
  assert.not.ok(await holds(node, id), 'the replaced share is destroyed')
  assert.not.ok(await storeOf(node).isErased(slotOf(id)), 'without a tombstone: the node may hold a share of it again')
  const listed = new Set((await client.manifest(id)).body.shares.map((s) => s.holder))
  for (const n of net.nodes) {
    assert.is(await holds(n, id), listed.has(n.cert.body.peer), `node ${n.cert.body.peer} holds a share exactly when the manifest lists it`)
  }
  const r = await client.verify({ templateId: id, probe: syntheticProbe(alice, rand), purpose: 'login' })
  assert.ok(r.accept, 'verify accepts from the listed holders')
})

reconcile('a holder down during an erase erases its share when it comes back, under the erased manifest', async () => {
  const { id, manifest } = await enrol(2, 3)
  const away = manifest.body.shares[1].holder
  const i = indexOf(away)
  await net.stopNode(i)
  const erased = await client.erase(id, { retries: 0 })
  assert.not.ok(erased.complete, 'the erase could not reach the stopped holder')
  assert.equal(erased.missing.map((m) => m.holder), [away])
  const node = await net.restartNode(i)
  await net.converged()
  assert.ok(await holds(node, id), 'it still holds the share before reconciling')
  assert.is(await reconciled(node, 'erased'), 1)
  changes.push({ i, id, kind: 'erased' })
  assert.not.ok(await holds(node, id))
  assert.ok(await storeOf(node).isErased(slotOf(id)), 'a tombstone keeps the id from being stored here again')
  const tomb = await storeOf(node).tombstone(slotOf(id))
  assert.ok(tomb !== undefined)
  assert.is(decodeManifest(tomb).body.state, 'erased', 'the tombstone is the tenant\'s erased manifest')
})

reconcile('a holder that missed the repair of another holder keeps its share and takes the new manifest copy', async () => {
  const { id, alice, manifest } = await enrol(2, 4)
  const [lost, bystander] = manifest.body.shares.map((s) => s.holder)
  await net.stopNode(indexOf(lost))
  await net.stopNode(indexOf(bystander))
  const report = await client.repair(id, { lost: [lost] })
  assert.is(report.action, 'repair')
  const node = await net.restartNode(indexOf(bystander))
  await net.converged()
  assert.is(await reconciled(node, 'adopted'), 1)
  assert.ok(await holds(node, id), 'the share is kept')
  const copy = await storeOf(node).getManifest(slotOf(id))
  assert.ok(copy !== undefined)
  assert.is(decodeManifest(copy).body.seq, report.seq, 'the copy is the repaired manifest')
  const back = await net.restartNode(indexOf(lost))
  await net.converged()
  assert.is(await reconciled(back, 'superseded'), 1, 'the replaced holder destroys its share')
  const r = await client.verify({ templateId: id, probe: syntheticProbe(alice, rand), purpose: 'login' })
  assert.ok(r.accept)
})

reconcile('a running holder that adopts a newer manifest serves under it at once, not under the copy it had cached', async () => {
  const { id, manifest } = await enrol(2, 3)
  const entry = manifest.body.shares[0]
  const holder = net.nodes[indexOf(entry.holder)]
  const { host, stop } = await clientHost(net)
  const verifier = net.verifier(tenant, ['login'])
  const creds = { verifier: verifier.key, cert: verifier.wire, attestation: testEnclave(verifier).attestation }
  const ask = async (): Promise<string> => {
    try {
      await fetchShare(host, entry.holder, { templateId: id, x: entry.x, purpose: 'login', creds })
      return 'ok'
    } catch (e) {
      return (e as Error).message
    }
  }
  try {
    // A first fetch has the holder decode and keep the manifest (whether it then serves this test enclave or not).
    assert.not.match(await ask(), /purpose 'login' is not allowed/)
    // The tenant narrows the template's purposes in seq + 1; the holder, up and unaware, takes it from the DHT.
    const narrowed = signManifest({ ...manifest.body, seq: manifest.body.seq + 1, policy: { ...manifest.body.policy, purposes: ['payment'] } },
      tenant.key, tenant.wire)
    const dht = (holder as unknown as { host: Host }).host.services.dht
    for await (const evt of dht.put(manifestKey(tenant.key.publicKey, id), encodeManifest(narrowed))) void evt
    assert.is(await reconciled(holder, 'adopted'), 1)
    assert.match(await ask(), /purpose 'login' is not allowed by the manifest policy/)
  } finally {
    await stop()
  }
})

reconcile('another tenant\'s erased manifest for the same id, forged records and a re-signed manifest of the same seq change nothing', async () => {
  const { id, manifest } = await enrol(2, 3)
  const holder = net.nodes[indexOf(manifest.body.shares[0].holder)]
  const store = storeOf(holder)
  // Another tenant signs an erased manifest for this id: it can only live under its own key, which no holder of ours reads.
  const foreign = signManifest({ ...manifest.body, tenant: other.key.publicKey, state: 'erased', seq: manifest.body.seq + 5 }, other.key, other.wire)
  const hostileAnswers = (values: Uint8Array[]): ReconcileInit['replicas'] => ({
    async * lookup () { for (const value of values) yield { from: holder.peerId.toString(), value } },
    async put () { return 0 }
  })
  const sameSeq = signManifest({ ...manifest.body, seq: manifest.body.seq }, tenant.key, tenant.wire)
  const forgedErase = signManifest({ ...manifest.body, state: 'erased', seq: manifest.body.seq + 1 }, other.key, other.wire)
  const garbage = Uint8Array.from([0xa1, 0x61, 0x76, 0x01])
  const tally = await reconcileShares({
    store,
    replicas: hostileAnswers([encodeManifest(foreign), encodeManifest(sameSeq), encodeManifest(forgedErase), garbage]),
    anchor: net.anchor,
    self: holder.cert.body.peer
  }, { signal: new AbortController().signal })
  assert.is(tally.erased + tally.superseded + tally.adopted, 0, 'nothing the slot\'s tenant did not sign, newer, changes a share')
  assert.ok(await holds(holder, id), 'the share is kept')
  assert.is((await holder.reconcile()).erased, 0, 'the real lookup finds nothing newer either')
  assert.ok(await holds(holder, id))
})

reconcile('judge: only a preferred record decides; a listed share with other bytes is left in place', async () => {
  const { manifest } = await enrol(2, 3)
  const body = manifest.body
  const self = body.shares[0].holder
  const share = { x: body.shares[0].x, bytes: new Uint8Array([1, 2, 3]) }
  const found = (over: Partial<Manifest['body']>): { body: Manifest['body'], bytes: Uint8Array } => ({ body: { ...body, ...over }, bytes: new Uint8Array(1) })
  assert.is(judge(body, share, self, undefined).kind, 'current')
  assert.is(judge(body, share, self, found({ seq: body.seq })).kind, 'current', 'the same seq is not newer')
  assert.is(judge(body, share, self, found({ seq: body.seq + 1 })).kind, 'stale', 'listed at its x with a share of other bytes')
  assert.is(judge(body, share, self, found({ seq: body.seq + 1, shares: body.shares.slice(1) })).kind, 'superseded')
  const moved = body.shares.map((s, i) => i === 0 ? { ...s, x: 200 } : s)
  assert.is(judge(body, share, self, found({ seq: body.seq + 1, shares: moved })).kind, 'superseded', 'listed at another x')
  assert.is(judge(body, share, self, found({ seq: body.seq, state: 'erased' })).kind, 'erased', 'an erase wins at any seq')
})

reconcile('every share erased or destroyed is in its node\'s audit log, and the chain verifies', async () => {
  assert.ok(changes.length >= 2)
  for (const { i, id, kind } of changes) {
    await net.stopNode(i)
    const db = await openNodeDb(net.nodes[i].dir, { createIfMissing: false })
    try {
      assert.ok((await verifyAuditLog(db)).ok)
      const entries: AuditEntry[] = []
      for await (const value of db.audit.values()) entries.push(decodeAuditRecord(value).entry)
      assert.ok(entries.some((e) => e.protocol === 'reconcile' && e.action === kind && e.subject === toHex(id) && e.outcome === 'ok'), `a ${kind} entry`)
    } finally {
      await db.close()
    }
    await net.restartNode(i)
  }
})

reconcile.after(async () => {
  await client.close()
  await net.stop()
})

reconcile.run()
