/**
 * Variations of the fixed attacks, performed against real nodes by a peer
 * that is let in (a certified client of another tenant) speaking raw DHT
 * messages: records in namespaces the network never uses, provider records
 * with addresses, rollbacks of a tenant's own record, and erases sent to
 * nodes that hold nothing of an id (tombstones for good). The DHT of a
 * bioshard network carries manifest records and peer routing only, so no
 * other write may grow a node's store or its address book.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Libp2pRecord } from '@libp2p/record'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { Message, MessageType } from '../../node_modules/@libp2p/kad-dht/dist/src/message/dht.js'
import { LocalNetwork } from '../../sim/local-network.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { encodeManifest, decodeManifest, type Manifest } from '../../protocol/manifest.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { MAX_MANIFEST_BYTES } from '../../protocol/constants.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { clientHost } from '../helpers/enrol.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { eraseAt } from '../../client/holder-requests.ts'
import { slotKey } from '../../protocol/ownership.ts'
import type { ShareStore } from '../../node/store/share-store.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { randomBytes, utf8 } from '../../crypto/bytes.ts'
import type { SiteNode } from '../../node/site-node.ts'
import type { Host } from '../../net/host.ts'

const net = await LocalNetwork.start({ nodes: 3, sites: 3 })
await net.converged()
const hostile = await clientHost(net)
const target = net.nodes[0]
const tenantA = net.tenant('tenant-a')
const tenantB = net.tenant('tenant-b')

/** A manifest of `tenant` for `templateId`, placed on the network's nodes. */
function manifestOf (tenant: typeof tenantA, templateId: Uint8Array, over: Partial<Parameters<typeof buildManifest>[0]> = {}): Manifest {
  return buildManifest({
    templateId,
    tenant: tenant.key,
    tenantCert: tenant.wire,
    modality: 'face',
    model: 'synthetic-128',
    dim: 128,
    t: 2,
    n: 2,
    shares: [1, 2].map((x) => ({ x, holder: net.nodes[x - 1].cert.body.peer, site: net.nodes[x - 1].config.site, commitment: randomBytes(32) })),
    policy: { measurements: [randomBytes(32)] },
    ...over
  })
}

/** PUT_VALUE one manifest record straight to the target node. */
async function putRaw (key: Uint8Array, value: Uint8Array): Promise<void> {
  await kad(hostile.host, target, { type: MessageType.PUT_VALUE, key, record: new Libp2pRecord(key, value, new Date()).serialize() })
}

/** The manifest the target's own DHT store holds under `key`. */
async function heldAt (key: Uint8Array): Promise<Manifest | undefined> {
  type RecordStore = { query: (q: { prefix: string }) => AsyncIterable<{ value: Uint8Array }> }
  const ds = (target.libp2p as unknown as { components: { datastore: RecordStore } }).components.datastore
  for await (const { value } of ds.query({ prefix: '/dht/record/' })) {
    const r = Libp2pRecord.deserialize(value)
    if (equalBytes(r.key, key)) return decodeManifest(r.value)
  }
  return undefined
}

/** Send one raw DHT message to `node`; resolves with its answer, or undefined when it sent none. */
async function kad (host: Host, node: SiteNode, msg: Partial<Message>): Promise<Message | undefined> {
  const stream = await host.dialProtocol(node.peerId, PROTOCOL.KAD, { signal: AbortSignal.timeout(5_000) })
  const lp = lpStream(stream)
  const signal = AbortSignal.timeout(5_000)
  await lp.write(Message.encode({ closer: [], providers: [], ...msg }), { signal })
  try {
    return Message.decode(await lp.read({ signal }))
  } catch {
    return undefined
  } finally {
    stream.abort(new Error('done'))
  }
}

/** Keys the node's datastore holds under `prefix`. */
async function storedKeys (node: SiteNode, prefix: string): Promise<string[]> {
  type KeyStore = { queryKeys: (q: { prefix: string }) => AsyncIterable<{ toString: () => string }> }
  const ds = (node.libp2p as unknown as { components: { datastore: KeyStore } }).components.datastore
  const keys: string[] = []
  for await (const k of ds.queryKeys({ prefix })) keys.push(k.toString())
  return keys
}

const dht = suite('the DHT stores manifest records and routes peers, nothing else')

dht('a /pk/ record put by a certified client is not stored', async () => {
  const before = (await storedKeys(target, '/dht/record/')).length
  for (let i = 0; i < 5; i++) {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key)
    const recordKey = new Uint8Array([...utf8('/pk/'), ...id.toMultihash().bytes])
    const record = new Libp2pRecord(recordKey, publicKeyToProtobuf(key.publicKey), new Date())
    await kad(hostile.host, target, { type: MessageType.PUT_VALUE, key: recordKey, record: record.serialize() })
  }
  assert.is((await storedKeys(target, '/dht/record/')).length, before, 'no record outside the bioshard namespace is kept')
})

dht('provider records with addresses are neither stored nor merged into the address book', async () => {
  const self = hostile.host.peerId
  const addrs = Array.from({ length: 40 }, (_, i) => multiaddr(`/ip4/10.9.${i}.1/tcp/4001`).bytes)
  for (let i = 0; i < 3; i++) {
    const cid = CID.createV1(0x55, await sha256.digest(randomBytes(32)))
    const providers = [{ id: self.toMultihash().bytes, multiaddrs: addrs }]
    await kad(hostile.host, target, { type: MessageType.ADD_PROVIDER, key: cid.multihash.bytes, providers })
  }
  // ADD_PROVIDER has no answer: a later request's answer tells the node has read the writes.
  await kad(hostile.host, target, { type: MessageType.FIND_NODE, key: randomBytes(32) })
  const known = await target.libp2p?.peerStore.get(self).catch(() => undefined)
  const poisoned = known?.addresses.filter((a) => a.multiaddr.toString().startsWith('/ip4/10.9.')) ?? []
  assert.is(poisoned.length, 0, 'no address a provider message carries enters the address book')
  assert.equal(await storedKeys(target, '/dht/provider/'), [], 'no provider record is kept')
})

dht('held: A\'s own older or same-seq record, B\'s record under A\'s key and an oversized record replace nothing', async () => {
  const templateId = randomBytes(32)
  const key = manifestKey(tenantA.key.publicKey, templateId)
  const current = manifestOf(tenantA, templateId, { seq: 5 })
  await putRaw(key, encodeManifest(current))
  assert.is((await heldAt(key))?.body.seq, 5, 'A\'s record is stored')
  await putRaw(key, encodeManifest(manifestOf(tenantA, templateId, { seq: 2 })))
  await putRaw(key, encodeManifest(manifestOf(tenantA, templateId, { seq: 5, model: 'other-model' })))
  await putRaw(key, encodeManifest(manifestOf(tenantB, templateId, { seq: 9, state: 'erased' })))
  await putRaw(key, new Uint8Array(MAX_MANIFEST_BYTES + 1))
  const held = await heldAt(key)
  assert.ok(held !== undefined && equalBytes(encodeManifest(held), encodeManifest(current)), 'the stored record is still A\'s seq 5')
})

dht('an erase of an id at a node the manifest does not list, holding nothing of it, is refused and leaves no tombstone (ERR_NOT_HOLDER)', async () => {
  const m = manifestOf(tenantB, randomBytes(32))
  const outsider = net.nodes[2]
  assert.is(await codeOfAsync(eraseAt(hostile.host, outsider.cert.body.peer, { manifest: m, signer: tenantB.key })), 'ERR_NOT_HOLDER')
  const store = (outsider as unknown as { store: ShareStore }).store
  assert.not.ok(await store.isErased(slotKey(tenantB.key.publicKey, m.body.templateId)), 'no tombstone was kept')
  // A listed holder still keeps one, so an erase that overtakes the store wins.
  const receipt = await eraseAt(hostile.host, net.nodes[0].cert.body.peer, { manifest: m, signer: tenantB.key })
  assert.is(receipt.body.held, false)
})

dht.after(async () => {
  await hostile.stop()
  await net.stop()
})
dht.run()
