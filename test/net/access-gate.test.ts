/**
 * Exposure to unadmitted peers, over real nodes (DESIGN trust rule:
 * "unadmitted peers get nothing but admission, identify and ping"). Sybil
 * peers that speak the DHT protocol in server mode join a network of real
 * nodes; a tenant then enrols. The Sybils must receive no manifest record and
 * read none, and every bioshard protocol but admission must refuse them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { createHost, type Host } from '../../net/host.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { clientHost, fetchParties, TEST_RATE } from '../helpers/enrol.ts'
import { fetchShare, storeShare, eraseAt } from '../../client/holder-requests.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { decodeAuditRecord } from '../../node/audit/audit-log.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import type { SiteNode } from '../../node/site-node.ts'

const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
await net.converged()
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const MODEL = 'synthetic-128'
const rand = prng(5)
const alice = syntheticIdentity(128, rand)

/** A peer with no certificate that runs the DHT in server mode and connects to every node. */
async function sybil (): Promise<Host> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], anchor: net.anchor, role: 'node' })
  await host.start()
  for (const node of net.nodes) await host.dial(multiaddr(node.addrs[0])).catch(() => {})
  return host
}

/** How many DHT records a host holds in its own store. */
async function recordCount (host: Host): Promise<number> {
  const ds = (host as unknown as { components: { datastore: { query: (q: { prefix: string }) => AsyncIterable<unknown> } } }).components.datastore
  const records: unknown[] = []
  for await (const record of ds.query({ prefix: '/dht/record/' })) records.push(record)
  return records.length
}

const sybils = await Promise.all([1, 2, 3, 4].map(async () => await sybil()))
// Give identify and the routing tables time to take the Sybils in, as they would have before.
await new Promise((resolve) => setTimeout(resolve, 1_500))

const dht = suite('the DHT serves admitted nodes only')
const protocolsAfter = async (): Promise<void> => {
  await Promise.all(sybils.map(async (s) => await s.stop()))
  await client.close()
  await net.stop()
}

/** The part of the DHT's routing table this suite reads: the peers in its buckets. */
interface RoutingTableView { kb?: { toIterable: () => Iterable<{ peerId: { toString: () => string } }> } }

dht('no node keeps a Sybil in its routing table', async () => {
  for (const node of net.nodes) {
    const table = (node.libp2p?.services.dht as unknown as { routingTable: RoutingTableView }).routingTable
    const peers = [...(table.kb?.toIterable() ?? [])].map((p) => p.peerId.toString())
    for (const s of sybils) assert.not.ok(peers.includes(s.peerId.toString()), `${node.cert.body.peer} routes to a Sybil`)
  }
})

dht('a published manifest reaches no Sybil, and no Sybil can read it', async () => {
  const r = await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 2, n: 3 })
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  for (const s of sybils) assert.is(await recordCount(s), 0, 'a Sybil received a manifest record')
  const key = manifestKey(tenant.key.publicKey, r.templateId)
  let found = 0
  try {
    for await (const evt of sybils[0].services.dht.get(key, { signal: AbortSignal.timeout(5_000) })) if (evt.name === 'VALUE') found++
  } catch {}
  assert.is(found, 0, 'a Sybil read a manifest record')
})

const protocols = suite('holder protocols serve admitted nodes and certified clients only')
protocols.after(protocolsAfter)

protocols('an uncertified peer is refused on fetch, store and erase alike (ERR_NOT_ADMITTED), whether the id is held, erased or unknown', async () => {
  const held = await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 2, n: 3, policy: TEST_RATE })
  const erased = await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 2, n: 3, policy: TEST_RATE })
  assert.ok((await client.erase(erased.templateId)).complete)
  const stranger = await clientHost(net, { credential: null })
  try {
    const { creds } = fetchParties(net)
    const holder = held.manifest.body.shares[0].holder
    const x = held.manifest.body.shares[0].x
    for (const id of [held.templateId, erased.templateId, randomBytes(32)]) {
      assert.is(await codeOfAsync(fetchShare(stranger.host, holder, { templateId: id, x, purpose: 'login', creds })), 'ERR_NOT_ADMITTED')
    }
    const share = randomBytes(64)
    assert.is(await codeOfAsync(storeShare(stranger.host, holder, { manifest: held.manifest, x, share, tenant: tenant.key })), 'ERR_NOT_ADMITTED')
    assert.is(await codeOfAsync(eraseAt(stranger.host, holder, { manifest: held.manifest, signer: tenant.key })), 'ERR_NOT_ADMITTED')
  } finally {
    await stranger.stop()
  }
  // The nodes kept serving: the owner still verifies.
  await client.verify({ templateId: held.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
})

protocols('a certified client\'s first request on a new connection is served (admission has a moment to finish)', async () => {
  const fresh = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  try {
    const r = await fresh.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 3, n: 5, policy: TEST_RATE })
    assert.ok((await fresh.verify({ templateId: r.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept)
  } finally {
    await fresh.close()
  }
})

protocols('an aborted request is audited as ERR_ABORTED, not as an internal error', async () => {
  const node = net.nodes[4]
  const peer = await clientHost(net)
  let aborted = false
  try {
    const stream = await peer.host.dialProtocol(multiaddr(node.addrs[0]), PROTOCOL.FETCH)
    // Part of a request (a length prefix promising more), then the caller gives up mid-read.
    stream.send(new Uint8Array([100, 1, 2, 3]))
    await new Promise((resolve) => setTimeout(resolve, 300))
    stream.abort(new Error('caller gave up'))
    await new Promise((resolve) => setTimeout(resolve, 300))
    aborted = true
  } finally {
    await peer.stop()
  }
  assert.ok(aborted)
  const outcomes = await auditOutcomes(node)
  assert.ok(outcomes.has('ERR_ABORTED'), `audit outcomes: ${[...outcomes].join(', ')}`)
  assert.not.ok(outcomes.has('ERR_INTERNAL'), 'nothing was recorded as an internal error')
})

/** The outcomes in a node's audit log (the node is stopped and started again to read it). */
async function auditOutcomes (node: SiteNode): Promise<Set<string>> {
  await node.stop()
  const db = await openNodeDb(node.dir, { createIfMissing: false })
  const out = new Set<string>()
  try {
    for await (const value of db.audit.values()) out.add(decodeAuditRecord(value).entry.outcome)
  } finally {
    await db.close()
  }
  await node.start()
  return out
}

dht.run()
protocols.run()
