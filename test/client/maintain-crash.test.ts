/**
 * Repair rounds interrupted at the step where a crash used to undo what the
 * tenant was told, over real nodes and a real DHT:
 *
 * - the new holder stores its share at the commit and stops before the
 *   coordinator hears its answer: the coordinator aborts the round and never
 *   publishes its manifest, so the new holder must not publish it either
 *   (it would supersede the lost holder's acknowledged share); its share
 *   stays pending and is dropped once its grace period shows the manifest
 *   was never published;
 * - a completed repair's new holder keeps its share and confirms it once it
 *   sees the manifest published;
 * - a listed holder beyond the t helpers that never joins the round (down)
 *   never takes its commit: the repair names it as behind, and every other
 *   listed holder holds the new manifest; back, it takes the newer manifest
 *   at the next round's open, so that round completes.
 *
 * The nodes' own reconciliation schedule is off; the tests run the pass a
 * node runs after a restart.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { ManifestStore } from '../../client/manifest-store.ts'
import { RecordReplicas } from '../../net/record-replicas.ts'
import { syntheticIdentity, prng } from '../../sim/synthetic.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { decodeManifest, signManifest, type Manifest } from '../../protocol/manifest.ts'
import { RECONCILE_OFF_MS } from '../../node/reconcile.ts'
import type { ShareStore } from '../../node/store/share-store.ts'
import type { SiteNode } from '../../node/site-node.ts'
import { RawRound } from '../helpers/maintain.ts'
import { clientHost } from '../helpers/enrol.ts'

/** Pending grace of every node: short, so a test sees the sweeper decide. */
const GRACE_MS = 8_000
const off = { delayMs: RECONCILE_OFF_MS, everyMs: RECONCILE_OFF_MS }
const net = await LocalNetwork.start({ nodes: 6, sites: 6, reconcile: off, limits: { pendingGraceMs: GRACE_MS } })
await net.converged()
const tenant = net.tenant('acme')
const credential = { key: tenant.key, cert: tenant.wire }
const client: Client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: credential } })
const raw = await clientHost(net, { credential })
const rand = prng(41)
const policy = { ratePerMinute: 600, burst: 600 }

const storeOf = (n: SiteNode): ShareStore => (n as unknown as { store: ShareStore }).store
const indexOf = (peer: string): number => net.nodes.findIndex((n) => n.cert.body.peer === peer)
const slotOf = (id: Uint8Array): Uint8Array => slotKey(tenant.key.publicKey, id)
/** The newest manifest the DHT has, read afresh (no client cache). */
const published = async (id: Uint8Array): Promise<Manifest> =>
  await new ManifestStore(RecordReplicas.overRoster(raw.host.services.dht, raw.roster), net.anchor, tenant.key.publicKey)
    .get(id, { signal: AbortSignal.timeout(10_000) })
const holds = async (n: SiteNode, id: Uint8Array): Promise<boolean> => {
  const h = await n.heldShare(slotOf(id))
  h?.share.fill(0)
  return h !== undefined
}

async function until (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function enrol (): Promise<{ id: Uint8Array, manifest: Manifest }> {
  const e = await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: 'synthetic-128', t: 2, n: 4, policy })
  return { id: e.templateId, manifest: e.manifest }
}

const crash = suite('repair rounds interrupted at the faulty step')

crash('a new holder stopped after storing its share, its commit answer unheard, never publishes that round\'s manifest', async () => {
  const { id, manifest: m } = await enrol()
  const [lost, ...rest] = m.body.shares
  const helpers = rest.slice(0, m.body.t)
  const target = net.nodes.find((n) => !m.body.shares.some((s) => s.holder === n.cert.body.peer)) as SiteNode
  const to = { peer: target.cert.body.peer, site: target.cert.body.site }
  // x-coordinates are random in [1, 255]: the new share takes the least one unused.
  const newX = Array.from({ length: 255 }, (_, i) => i + 1).find((x) => !m.body.shares.some((s) => s.x === x)) as number
  await net.stopNode(indexOf(lost.holder))
  const r = new RawRound(raw.host, m, tenant.key)
  const parties = [...helpers.map((s) => s.holder), to.peer]
  await r.all(parties, { kind: 'open', op: 'repair', manifest: m, helpers: helpers.map((s) => s.x), newX, newHolder: to.peer, newSite: to.site })
  const answers = await r.all(parties, { kind: 'start' })
  const ready = answers[parties.length - 1]
  assert.is(ready.kind, 'ready')
  if (ready.kind !== 'ready') return
  const entry = { x: newX, holder: to.peer, site: to.site, commitment: ready.commitment, audit: ready.audit }
  const shares = [...rest, entry].sort((a, b) => a.x - b.x)
  const next = signManifest({ ...m.body, seq: m.body.seq + 1, shares }, tenant.key, tenant.wire)
  assert.is((await r.ask(to.peer, { kind: 'commit', manifest: next })).kind, 'done', 'the new holder stored its share')
  // The coordinator never heard that answer: it aborts the round at the helpers and publishes nothing.
  await Promise.all(helpers.map(async (s) => await r.ask(s.holder, { kind: 'abort', reason: 'the new holder did not answer the commit' })))
  const back = await net.restartNode(indexOf(to.peer))
  await net.converged()
  assert.ok(await holds(back, id), 'the stored share survived the restart (the checks below mean something)')
  const tally = await back.reconcile()
  assert.is(tally.republished, 0, 'the unpublished manifest is not put into the DHT')
  assert.ok(await storeOf(back).isPending(slotOf(id)), 'the share is pending, as an unpublished store is')
  assert.is((await published(id)).body.seq, m.body.seq, 'the DHT still has the acknowledged manifest')
  const returning = await net.restartNode(indexOf(lost.holder))
  await net.converged()
  const mine = await returning.reconcile()
  assert.is(mine.superseded, 0, 'the lost holder, still listed by the acknowledged manifest, keeps its share')
  assert.ok(await holds(returning, id))
  await until('the never-published share is dropped', async () => !(await holds(back, id)), GRACE_MS + 60_000)
  assert.is(decodeManifest(await storeOf(returning).getManifest(slotOf(id)) as Uint8Array).body.seq, m.body.seq)
})

crash('a completed repair\'s new holder keeps its share and confirms it once the manifest is published', async () => {
  const { id, manifest: m } = await enrol()
  const lost = m.body.shares[0].holder
  await net.stopNode(indexOf(lost))
  try {
    const report = await client.repair(id, { lost: [lost] })
    const node = net.nodes[indexOf(report.replaced[0].to)]
    assert.equal(report.behind, [], 'every listed holder took the commit')
    await until('the new holder confirms its share', async () => !(await storeOf(node).isPending(slotOf(id))), GRACE_MS + 60_000)
    assert.ok(await holds(node, id), 'the share is kept')
  } finally {
    await net.restartNode(indexOf(lost))
    await net.converged()
  }
})

crash('a listed holder that never joins a repair is named behind; every other listed holder holds the new manifest', async () => {
  const { id, manifest: m } = await enrol()
  const [lost, , , observer] = m.body.shares.map((s) => s.holder)
  await net.stopNode(indexOf(lost))
  await net.stopNode(indexOf(observer))
  let seq = m.body.seq
  try {
    const report = await client.repair(id, { lost: [lost] })
    seq = report.seq
    assert.equal(report.behind, [observer], 'the holder that did not join is reported, not counted as having taken the commit')
    for (const holder of report.holders.filter((p) => p !== observer)) {
      const copy = await storeOf(net.nodes[indexOf(holder)]).getManifest(slotOf(id))
      assert.is(decodeManifest(copy as Uint8Array).body.seq, report.seq, `${holder} holds the new manifest`)
    }
  } finally {
    await net.restartNode(indexOf(lost))
    await net.restartNode(indexOf(observer))
    await net.converged()
  }
  // Back without a reconciliation pass, the holder left behind takes the newer manifest at the next round's open.
  const back = net.nodes[indexOf(observer)]
  assert.is(decodeManifest(await storeOf(back).getManifest(slotOf(id)) as Uint8Array).body.seq, m.body.seq, 'still behind')
  const refreshed = await client.refresh(id)
  assert.is(refreshed.seq, seq + 1, 'a refresh opened from the repaired manifest completes at every holder')
  assert.is(decodeManifest(await storeOf(back).getManifest(slotOf(id)) as Uint8Array).body.seq, refreshed.seq)
})

crash.after(async () => {
  await raw.stop()
  await client.close()
  await net.stop()
})

crash.run()
