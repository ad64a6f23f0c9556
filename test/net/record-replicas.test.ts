/**
 * Manifest records go to, and are read from, the admitted nodes the roster
 * puts closest to the key (net/record-replicas.ts), without a DHT walk:
 *
 * - the roster's ranking is kad-dht's own (a walk ends at the same peers), so
 *   a record put either way is found the other way;
 * - a publish sends no FIND_NODE and lands at exactly the closest replicas;
 * - a replica that is down is replaced by the next closest, and a lookup
 *   still finds the record;
 * - a lookup answered by a replica serving an older (validly signed) record,
 *   or another key's record, still ends at the newest one.
 *
 * Real nodes over TCP, the real DHT protocol.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { MessageType } from '@libp2p/kad-dht'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties, prepareEnrolment } from '../helpers/enrol.ts'
import { ManifestStore } from '../../client/manifest-store.ts'
import { RecordReplicas, closestTo } from '../../net/record-replicas.ts'
import { encodeManifest, signManifest, type Manifest } from '../../protocol/manifest.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { toHex } from '../../crypto/bytes.ts'
import { sha256 } from '../../crypto/hash.ts'

const REPLICAS = 3
const net = await LocalNetwork.start({ nodes: 9 })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave } = fetchParties(net)
const dht = client.host.services.dht
const peers = (): string[] => client.roster.list().map((e) => e.peer)
const replicas = (): RecordReplicas => new RecordReplicas({ dht, peers, replicas: REPLICAS })
const store = (r: RecordReplicas): ManifestStore => new ManifestStore(r, net.anchor, tenant.key.publicKey)
const nodeOf = (peer: string): number => net.nodes.findIndex((n) => n.cert.body.peer === peer)

/**
 * Every kad-dht request the client sends, by message type and key (kad-dht's
 * own sender, wrapped). The DHT's own background lookups (its self query,
 * table refreshes) use other keys: {@link sentFor} counts one record's only.
 */
const sent: Array<{ type: MessageType, key: string, to: string }> = []
type Send = (to: unknown, msg: { type: MessageType, key?: Uint8Array }, o: unknown) => AsyncIterable<unknown>
const sender = (dht as unknown as { network: { sendRequest: Send } }).network
const send = sender.sendRequest.bind(sender)
sender.sendRequest = (to, msg, o) => {
  sent.push({ type: msg.type, key: msg.key === undefined ? '' : toHex(msg.key), to: String(to) })
  return send(to, msg, o)
}
/** The requests of type `type` sent for record key `key`. */
const sentFor = (key: Uint8Array, type: MessageType): number => sent.filter((r) => r.key === toHex(key) && r.type === type).length

/** A lookup of `key` asked only the replicas and their stand-ins (a walk would ask further, and send FIND_NODE). */
function askedOnlyReplicas (key: Uint8Array): void {
  const allowed = new Set(closestTo(key, peers()).slice(0, 2 * REPLICAS))
  const asked = sent.filter((r) => r.key === toHex(key) && r.type === MessageType.GET_VALUE).map((r) => r.to)
  assert.ok(asked.length >= 1 && asked.every((p) => allowed.has(p)), `asked ${asked.map(nodeOf).join(', ')}`)
  assert.is(sentFor(key, MessageType.FIND_NODE), 0, 'no walk')
}

async function manifest (): Promise<Manifest> {
  const holders = net.nodes.slice(0, 3).map((n) => ({ peer: n.cert.body.peer, site: n.cert.body.site }))
  return (await prepareEnrolment(tenant, holders, { t: 2, measurements: [enclave.measurement] })).manifest
}

const hex = (b: Uint8Array | undefined): string => b === undefined ? '(none)' : toHex(b)

/** What `peer` holds under `key`, asked of it alone over the DHT protocol. */
async function heldAt (peer: string, key: Uint8Array): Promise<Uint8Array | undefined> {
  const one = new RecordReplicas({ dht, peers: () => [peer], replicas: 1 })
  const answers: Array<Uint8Array | undefined> = []
  for await (const answer of one.lookup(key, { signal: AbortSignal.timeout(10_000) })) answers.push(answer.value)
  assert.is(answers.length, 1, `node ${nodeOf(peer)} answered`)
  return answers[0]
}

const replicated = suite('manifest records at the roster\'s closest nodes')

replicated('the roster ranks peers as kad-dht does: in the order of its own routing table, and a walk ends at the closest', async () => {
  const m = await manifest()
  const key = manifestKey(m.body.tenant, m.body.templateId)
  type Table = { closestPeers: (kadId: Uint8Array, o: { count: number }) => Array<{ toString: () => string }> }
  const table = (dht as unknown as { routingTable: Table }).routingTable
  const theirs = table.closestPeers(sha256(key), { count: 100 }).map(String)
  assert.ok(theirs.length >= 3, 'the client\'s routing table lists nodes (the order below means something)')
  assert.equal(closestTo(key, theirs), theirs, 'kad-dht orders the same peers the same way')
  const walked: string[] = []
  for await (const evt of dht.getClosestPeers(key, { signal: AbortSignal.timeout(20_000) })) {
    if (evt.name === 'FINAL_PEER') walked.push(evt.peer.id.toString())
  }
  assert.ok(walked.includes(closestTo(key, peers())[0]), 'the walk reaches the roster\'s closest peer')
})

replicated('a publish sends no FIND_NODE and lands at exactly the closest replicas', async () => {
  const m = await manifest()
  const key = manifestKey(m.body.tenant, m.body.templateId)
  sent.length = 0
  const r = replicas()
  const stored = await r.put(key, encodeManifest(m), { signal: AbortSignal.timeout(20_000) })
  assert.is(stored, REPLICAS)
  assert.is(sentFor(key, MessageType.FIND_NODE), 0, 'no walk')
  assert.is(sentFor(key, MessageType.PUT_VALUE), REPLICAS, 'one PUT_VALUE per replica')
  const ranked = closestTo(key, peers())
  for (const [i, peer] of ranked.entries()) {
    const held = await heldAt(peer, key)
    if (i < REPLICAS) assert.is(hex(held), hex(encodeManifest(m)), `replica ${i} holds the record`)
    else assert.is(held, undefined, `node ${nodeOf(peer)}, not among the ${REPLICAS} closest, was not given it`)
  }
  // A walk-only reader (another kad-dht client, an older node) finds it too.
  const walkReader = store(new RecordReplicas({ dht }))
  const found = await walkReader.get(m.body.templateId, { signal: AbortSignal.timeout(20_000) })
  assert.is(found.body.seq, m.body.seq)
})

replicated('a record put by a walk is found by the replicas\' lookup, without a walk', async () => {
  const m = await manifest()
  const key = manifestKey(m.body.tenant, m.body.templateId)
  const stored = await new RecordReplicas({ dht }).put(key, encodeManifest(m), { signal: AbortSignal.timeout(20_000) })
  assert.ok(stored > 0)
  sent.length = 0
  const found = await store(replicas()).get(m.body.templateId, { signal: AbortSignal.timeout(20_000) })
  assert.is(toHex(found.body.templateId), toHex(m.body.templateId))
  askedOnlyReplicas(key)
})

replicated('a replica that is down is replaced by the next closest, and the record is still found', async () => {
  const m = await manifest()
  const key = manifestKey(m.body.tenant, m.body.templateId)
  const ranked = closestTo(key, peers())
  const down = nodeOf(ranked[0])
  await net.stopNode(down, { drainMs: 0 })
  try {
    const stored = await replicas().put(key, encodeManifest(m), { signal: AbortSignal.timeout(30_000) })
    assert.is(stored, REPLICAS, 'as many replicas as asked for, the dead one replaced')
    assert.is(hex(await heldAt(ranked[REPLICAS], key)), hex(encodeManifest(m)), 'the next closest took its place')
    sent.length = 0
    const found = await store(replicas()).get(m.body.templateId, { signal: AbortSignal.timeout(30_000) })
    assert.is(found.body.seq, m.body.seq)
    askedOnlyReplicas(key)
  } finally {
    await net.restartNode(down)
  }
})

replicated('a replica serving an older record or another key\'s record does not hide the newest', async () => {
  const m = await manifest()
  const key = manifestKey(m.body.tenant, m.body.templateId)
  const newer = signManifest({ ...m.body, seq: m.body.seq + 1 }, tenant.key, tenant.wire)
  const other = await manifest()
  await replicas().put(key, encodeManifest(newer), { signal: AbortSignal.timeout(20_000) })
  // The closest replica is hostile: whatever it is asked, it answers with the older record, or another template's.
  const ranked = closestTo(key, peers())
  const hostile = net.nodes[nodeOf(ranked[0])]
  const datastore = (hostile.libp2p as unknown as { components: { datastore: { get: (k: unknown, o?: unknown) => Promise<Uint8Array> } } }).components.datastore
  const get = datastore.get.bind(datastore)
  for (const served of [m, other]) {
    const record = await recordBytes(key, encodeManifest(served))
    datastore.get = async (k, o) => String(k).includes('/dht/record/') ? record : await get(k, o)
    try {
      const found = await store(replicas()).get(m.body.templateId, { refresh: true, signal: AbortSignal.timeout(20_000) })
      assert.is(found.body.seq, newer.body.seq, 'the newest valid record wins')
    } finally {
      datastore.get = get
    }
  }
})

/** A DHT record as a node keeps it (kad-dht's envelope). */
async function recordBytes (key: Uint8Array, value: Uint8Array): Promise<Uint8Array> {
  const { Record } = await import('@libp2p/kad-dht')
  return new Record(key, value, new Date()).serialize()
}

replicated.after(async () => {
  await client.stop()
  await net.stop()
})

replicated.run()
