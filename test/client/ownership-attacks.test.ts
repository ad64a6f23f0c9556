/**
 * Attacks on template ownership over a network of real nodes: a second
 * tenant B, admitted by the same authority, tries to take over tenant A's
 * template id (DESIGN trust rule: a template id belongs to the tenant that
 * first enrolled it) through the DHT, through a holder's storage and its
 * republish, and by rolling A's own records back; and manifests that send a
 * verifier to holders outside the network are refused.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Libp2pRecord } from '@libp2p/record'
import { MessageType } from '@libp2p/kad-dht'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { storeShare } from '../../client/holder-requests.ts'
import { encodeManifest, decodeManifest, type Manifest } from '../../protocol/manifest.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { MAX_SEQ } from '../../protocol/constants.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import { commitShare, splitSecret } from '../../crypto/shares.ts'
import { clientHost } from '../helpers/enrol.ts'
import { ManifestStore } from '../../client/manifest-store.ts'
import { RecordReplicas } from '../../net/record-replicas.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import type { SiteNode } from '../../node/site-node.ts'
import type { Host } from '../../net/host.ts'

const net = await LocalNetwork.start({ nodes: 6, sites: 6 })
await net.converged()
const tenantA = net.tenant('tenant-a')
const tenantB = net.tenant('tenant-b')
const MODEL = 'synthetic-128'
const rand = prng(12)
const alice = syntheticIdentity(128, rand)
const mallory = syntheticIdentity(128, rand)

const clientOf = async (t: typeof tenantA): Promise<Client> =>
  await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: t.key, cert: t.wire } } })
const a = await clientOf(tenantA)
const b = await clientOf(tenantB)
const hostile = await clientHost(net)

/** Tenant B's manifest for `templateId`, signed with B's own valid key and certificate. */
function forgedByB (templateId: Uint8Array, over: Partial<Parameters<typeof buildManifest>[0]> = {}): Manifest {
  return buildManifest({
    templateId,
    tenant: tenantB.key,
    tenantCert: tenantB.wire,
    modality: 'face',
    model: MODEL,
    dim: 128,
    t: 2,
    n: 2,
    shares: [1, 2].map((x) => ({ x, holder: net.nodes[x - 1].cert.body.peer, site: net.nodes[x - 1].config.site, commitment: randomBytes(32) })),
    policy: { measurements: [randomBytes(32)] },
    seq: MAX_SEQ,
    ...over
  })
}

/** Put a record into the DHT from `host`; returns how many peers accepted it. */
async function put (host: Host, key: Uint8Array, value: Uint8Array): Promise<number> {
  let accepted = 0
  try {
    for await (const evt of host.services.dht.put(key, value, { signal: AbortSignal.timeout(10_000) })) {
      if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.PUT_VALUE) accepted++
    }
  } catch {}
  return accepted
}

/** The manifest record a node holds for `key` in its own DHT store, if any. */
async function localRecord (node: SiteNode, key: Uint8Array): Promise<Manifest | undefined> {
  type Datastore = { query: (q: { prefix: string }) => AsyncIterable<{ value: Uint8Array }> }
  const ds = (node.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
  for await (const { value } of ds.query({ prefix: '/dht/record/' })) {
    const r = Libp2pRecord.deserialize(value)
    if (equalBytes(r.key, key)) return decodeManifest(r.value)
  }
  return undefined
}

const dht = suite('the DHT: only the owner writes under its key')

dht('B\'s manifest for A\'s id under A\'s key is refused by every node; A still verifies and B\'s face is rejected', async () => {
  const enrolled = await a.enroll({ template: alice.slice(), modality: 'face', model: MODEL })
  const key = manifestKey(tenantA.key.publicKey, enrolled.templateId)
  const active = forgedByB(enrolled.templateId)
  const erased = forgedByB(enrolled.templateId, { state: 'erased' })
  assert.is(await put(hostile.host, key, encodeManifest(active)), 0, 'no node stores B\'s active forgery under A\'s key')
  assert.is(await put(hostile.host, key, encodeManifest(erased)), 0, 'no node stores B\'s erased forgery under A\'s key')
  for (const node of net.nodes) {
    const held = await localRecord(node, key)
    if (held !== undefined) assert.ok(equalBytes(held.body.tenant, tenantA.key.publicKey), 'every stored record under A\'s key is A\'s')
  }
  const fresh = await clientOf(tenantA)
  try {
    const genuine = await fresh.verify({ templateId: enrolled.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.ok(genuine.accept, 'A\'s genuine probe is accepted')
    const impostor = await fresh.verify({ templateId: enrolled.templateId, probe: syntheticProbe(mallory, rand), purpose: 'login' })
    assert.not.ok(impostor.accept, 'B\'s probe is rejected')
    const erase = await fresh.erase(enrolled.templateId)
    assert.ok(erase.complete, 'A can still erase its template from a fresh client')
  } finally {
    await fresh.close()
  }
})

dht('A\'s own earlier record cannot roll an erasure back at any node', async () => {
  const enrolled = await a.enroll({ template: alice.slice(), modality: 'face', model: MODEL })
  const key = manifestKey(tenantA.key.publicKey, enrolled.templateId)
  const captured = encodeManifest(enrolled.manifest)
  const erase = await a.erase(enrolled.templateId)
  assert.ok(erase.complete)
  // Wait until the erased record has reached the nodes that store the key.
  const deadline = Date.now() + 60_000
  let holding: SiteNode[] = []
  while (Date.now() < deadline) {
    holding = []
    for (const node of net.nodes) if ((await localRecord(node, key))?.body.state === 'erased') holding.push(node)
    if (holding.length >= 3) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.ok(holding.length >= 1, 'some node stores the erased record')
  await put(hostile.host, key, captured)
  for (const node of holding) assert.is((await localRecord(node, key))?.body.state, 'erased', 'a replayed active record does not replace the erased one')
  const fresh = await clientOf(tenantA)
  try {
    assert.is(await codeOfAsync(fresh.verify({ templateId: enrolled.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })), 'ERR_ERASED')
  } finally {
    await fresh.close()
  }
})

const holders = suite('holders: a share stored by B under A\'s id stays B\'s')

holders('B stores under A\'s live id at a non-holder; after that node restarts and republishes, A\'s lookups and verifications hold', async () => {
  const enrolled = await a.enroll({ template: alice.slice(), modality: 'face', model: MODEL })
  const used = new Set(enrolled.manifest.body.shares.map((s) => s.holder))
  const spare = net.nodes.filter((n) => !used.has(n.cert.body.peer))
  assert.ok(spare.length >= 1, 'a node outside A\'s placement exists')
  const targets = [spare[0], net.nodes.find((n) => n !== spare[0] && n.config.site !== spare[0].config.site) as SiteNode]
  const shares = await splitSecret(randomBytes(64), 2, 2)
  const manifest = forgedByB(enrolled.templateId, {
    seq: 1,
    shares: shares.map((s, i) => ({ x: s.x, holder: targets[i].cert.body.peer, site: targets[i].config.site, commitment: commitShare(enrolled.templateId, s) }))
  })
  await storeShare(hostile.host, targets[0].cert.body.peer, { manifest, x: shares[0].x, share: shares[0].bytes, tenant: tenantB.key })
  await targets[0].stop()
  await targets[0].start()
  await net.converged()
  // The restarted node reconciles and republishes what it holds.
  await targets[0].reconcile()
  const fresh = await clientOf(tenantA)
  try {
    const m = await fresh.manifest(enrolled.templateId)
    assert.ok(equalBytes(m.body.tenant, tenantA.key.publicKey), 'A reads its own manifest')
    const r = await fresh.verify({ templateId: enrolled.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.ok(r.accept)
  } finally {
    await fresh.close()
  }
})

const verifier = suite('verifiers: only their own tenant\'s manifests, with admitted holders')

verifier('a manifest naming holders outside the roster is refused before any fetch (ERR_NOT_ADMITTED)', async () => {
  const outsiders = await Promise.all([1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
  const templateId = randomBytes(32)
  const m = forgedByB(templateId, { seq: 1, shares: outsiders.map((holder, i) => ({ x: i + 1, holder, site: `elsewhere-${i}`, commitment: randomBytes(32) })) })
  assert.ok(await put(hostile.host, manifestKey(tenantB.key.publicKey, templateId), encodeManifest(m)) > 0, 'B may publish under its own key')
  assert.is(await codeOfAsync(b.verify({ templateId, probe: syntheticProbe(mallory, rand), purpose: 'login' })), 'ERR_NOT_ADMITTED')
})

verifier('a manifest placing an admitted holder at another site than its certificate is refused (ERR_NOT_ADMITTED)', async () => {
  const templateId = randomBytes(32)
  const shares = [1, 2].map((x) => {
    const holder = net.nodes[x - 1]
    return { x, holder: holder.cert.body.peer, site: `not-${holder.config.site}`, commitment: randomBytes(32) }
  })
  const m = forgedByB(templateId, { seq: 1, shares })
  await put(hostile.host, manifestKey(tenantB.key.publicKey, templateId), encodeManifest(m))
  assert.is(await codeOfAsync(b.verify({ templateId, probe: syntheticProbe(mallory, rand), purpose: 'login' })), 'ERR_NOT_ADMITTED')
})

verifier('a client\'s manifest cache takes no other tenant\'s manifest (ERR_NOT_AUTHORISED)', async () => {
  const store = new ManifestStore(RecordReplicas.overRoster(hostile.host.services.dht, hostile.roster), net.anchor, tenantA.key.publicKey)
  assert.is(await codeOfAsync(async () => { store.remember(forgedByB(randomBytes(32), { seq: 1 })) }), 'ERR_NOT_AUTHORISED')
})

verifier.after(async () => {
  await hostile.stop()
  await a.close()
  await b.close()
  await net.stop()
})
dht.run()
holders.run()
verifier.run()
