/**
 * Stores never followed by a published manifest do not outlive their grace
 * period (limits.pendingGraceMs), and their holders never publish them:
 *
 * - a restarted holder republishes the manifests it holds, but not one that
 *   is still pending (its enrolment may have failed);
 * - after the grace period each holder looks the manifest up, and drops the
 *   share when a completed lookup finds none;
 * - a share whose manifest was published is confirmed and kept.
 *
 * Real nodes, real stores through the holder protocol, a real DHT.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, enrolByHand, fetchParties, type Enrolled } from '../helpers/enrol.ts'
import { ManifestStore } from '../../client/manifest-store.ts'
import { RecordReplicas } from '../../net/record-replicas.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import type { ShareStore } from '../../node/store/share-store.ts'
import type { SiteNode } from '../../node/site-node.ts'

const GRACE_MS = 8_000
const net = await LocalNetwork.start({ nodes: 5, limits: { pendingGraceMs: GRACE_MS } })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave } = fetchParties(net)
const manifests = (): ManifestStore => new ManifestStore(RecordReplicas.overRoster(client.host.services.dht, client.roster), net.anchor, tenant.key.publicKey)
const storeOf = (n: SiteNode): ShareStore => (n as unknown as { store: ShareStore }).store

const state: { published?: Enrolled, unpublished?: Enrolled } = {}
const slotOf = (e: Enrolled): Uint8Array => slotKey(tenant.key.publicKey, e.templateId)

async function until (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const pending = suite('stores without a published manifest')

pending('a restarted holder does not republish a pending store\'s manifest', async () => {
  state.published = await enrolByHand(client.host, net.nodes, tenant, { measurements: [enclave.measurement] })
  await manifests().publish(state.published.manifest, AbortSignal.timeout(10_000))
  state.unpublished = await enrolByHand(client.host, net.nodes, tenant, { measurements: [enclave.measurement] })
  const node = net.nodes[0]
  await node.stop()
  await node.start()
  await node.reconcile()
  assert.ok(await storeOf(node).isPending(slotOf(state.unpublished)), 'still within its grace period (the check below means something)')
  const lookup = manifests().get(state.unpublished.templateId, { signal: AbortSignal.timeout(5_000) })
  assert.is(await codeOfAsync(lookup), 'ERR_NOT_FOUND', 'the failed enrolment\'s manifest was published by its holder')
})

pending('after the grace period every holder drops the unpublished share and keeps the published one', async () => {
  for (const node of net.nodes) {
    await until('the unpublished share is dropped', async () => await storeOf(node).getShare(slotOf(state.unpublished!)) === undefined, GRACE_MS + 30_000)
    assert.not.ok(await storeOf(node).isErased(slotOf(state.unpublished!)), 'dropped without a tombstone')
  }
  for (const node of net.nodes) {
    await until('the published share is confirmed', async () => !(await storeOf(node).isPending(slotOf(state.published!))), 30_000)
    const held = await storeOf(node).getShare(slotOf(state.published!))
    assert.ok(held !== undefined, 'the published share is kept')
    held.share.fill(0)
    assert.is(await node.shareCount(), 1)
  }
})

pending.after(async () => {
  await client.stop()
  await net.stop()
})

pending.run()
