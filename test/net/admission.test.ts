/**
 * Admission: the roster accepts only certificates of this network's
 * authority that are valid now, and prefers the newest; real nodes gossip
 * their rosters until every node lists every admitted node, and never list
 * a peer without a certificate. The invalid-request budget drops a peer
 * that keeps sending garbage while others are still served.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { Roster } from '../../net/roster.ts'
import { initAuthority, loadAuthority, admitNode } from '../../keys/authority.ts'
import { request } from '../../net/rpc.ts'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost } from '../helpers/enrol.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { encodeAdmitMessage, readAdmitMessage } from '../../protocol/admit.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { readNodeCert, type TrustAnchor } from '../../protocol/certs.ts'
import { toWire } from '../../protocol/signed.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { signingKeyFromSeed, type SigningKey } from '../../crypto/sign.ts'
import { decodeCanonical, encodeCanonical } from '../../crypto/canonical.ts'
import { readNodeAddresses, signNodeAddresses, type NodeAddresses } from '../../protocol/node-addresses.ts'
import { sharedSetup } from '../helpers/setup.ts'

const DAY = 86_400_000
const root = mkdtempSync(join(tmpdir(), 'bioshard-admission-'))

function authorityAt (name: string): ReturnType<typeof loadAuthority> {
  initAuthority(join(root, name))
  return loadAuthority(join(root, name))
}

const authority = authorityAt('authority')
const anchor: TrustAnchor = { network: authority.info.network, authorities: [authority.info.publicKey] }

async function newPeer (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** A peer id and its key as a signing key (what signs the node's address statements). */
async function newSigningPeer (): Promise<{ peer: string, key: SigningKey }> {
  const pk = await generateKeyPair('Ed25519')
  return { peer: peerIdFromPrivateKey(pk).toString(), key: signingKeyFromSeed(pk.raw.subarray(0, 32)) }
}

/** A decoded address statement of `peer`, signed by `key`. */
function statement (key: SigningKey, peer: string, seq: number, addrs: string[]): NodeAddresses {
  return readNodeAddresses(decodeCanonical(encodeCanonical(signNodeAddresses(key, { network: anchor.network, peer, seq, addrs })), 65_536))
}

// ---------------------------------------------------------------------------

const roster = suite('roster: who counts as admitted')

roster('a certificate from this network\'s authority, valid now, is admitted', async () => {
  const r = new Roster(anchor)
  const { peer, key } = await newSigningPeer()
  const { cert } = admitNode(authority, peer, 'site-a')
  assert.ok(r.add({ cert, addrs: statement(key, peer, 1, ['/ip4/127.0.0.1/tcp/4100']) }))
  assert.ok(r.isAdmitted(peer))
  assert.is(r.get(peer)?.site, 'site-a')
  assert.equal(r.get(peer)?.addrs, ['/ip4/127.0.0.1/tcp/4100'])
  assert.equal(r.list().map((e) => e.peer), [peer])
  assert.is(r.add({ cert }), false, 'the same certificate again changes nothing')
  assert.is(r.size(), 1)
})

roster('a certificate from another authority is never added', async () => {
  const r = new Roster(anchor)
  const peer = await newPeer()
  const other = authorityAt('other-authority')
  assert.is(r.add({ cert: admitNode(other, peer, 'site-a').cert }), false)
  assert.not.ok(r.isAdmitted(peer))
  assert.is(r.size(), 0)
})

roster('a certificate signed by our authority for another network is never added', async () => {
  const r = new Roster(anchor)
  const peer = await newPeer()
  const elsewhere = { info: { ...authority.info, network: `bsn-${toHex(randomBytes(8))}` }, key: authority.key }
  assert.is(r.add({ cert: admitNode(elsewhere, peer, 'site-a').cert }), false)
  assert.is(r.size(), 0)
})

roster('a certificate whose signature does not verify is never added', async () => {
  const r = new Roster(anchor)
  const peer = await newPeer()
  const { cert } = admitNode(authority, peer, 'site-a')
  const sig = Uint8Array.from(cert.sig)
  sig[0] ^= 1
  assert.is(r.add({ cert: { ...cert, sig } }), false)
  // As it would arrive: the wire form with its body edited, read back.
  const wire = toWire(cert)
  const forged = readNodeCert({ body: { ...wire.body, site: 'site-b' }, sig: wire.sig })
  assert.is(r.add({ cert: forged }), false, 'a body edited after signing')
  assert.is(r.size(), 0)
})

roster('an expired certificate is not added, and a held one drops out when it expires', async () => {
  const r = new Roster(anchor)
  const now = Date.now()
  const stale = await newPeer()
  assert.is(r.add({ cert: admitNode(authority, stale, 'site-a', { now: now - 10 * DAY, days: 1 }).cert }), false)
  const peer = await newPeer()
  const { cert } = admitNode(authority, peer, 'site-a', { now, days: 1 })
  assert.ok(r.add({ cert }, now))
  assert.ok(r.isAdmitted(peer, now))
  const later = cert.body.na + 1
  assert.not.ok(r.isAdmitted(peer, later))
  assert.is(r.get(peer, later), undefined)
  assert.equal(r.list(later), [])
  assert.is(r.size(later), 0)
  assert.not.ok(r.isAdmitted(peer, now), 'removed for good once list() has seen it expired')
})

roster('a certificate that is not valid yet is not admitted', async () => {
  const r = new Roster(anchor)
  const now = Date.now()
  const peer = await newPeer()
  const { cert } = admitNode(authority, peer, 'site-a', { now: now + 10 * DAY, days: 30 })
  assert.is(r.add({ cert }, now), false, 'refused before its notBefore')
  // Held from a clock inside its window, it still does not count before then.
  assert.ok(r.add({ cert }, cert.body.nb + 1))
  assert.not.ok(r.isAdmitted(peer, now))
  assert.equal(r.list(now), [])
  assert.ok(r.isAdmitted(peer, cert.body.nb + 1))
})

roster('a newer certificate replaces an older one; an older one never replaces a newer one', async () => {
  const r = new Roster(anchor)
  const now = Date.now()
  const peer = await newPeer()
  const older = admitNode(authority, peer, 'site-a', { now, days: 10 }).cert
  const newer = admitNode(authority, peer, 'site-b', { now, days: 100 }).cert
  assert.ok(r.add({ cert: older }, now))
  assert.ok(r.add({ cert: newer }, now))
  assert.is(r.get(peer, now)?.cert.body.na, newer.body.na)
  assert.is(r.get(peer, now)?.site, 'site-b')
  assert.is(r.add({ cert: older }, now), false)
  assert.is(r.get(peer, now)?.cert.body.na, newer.body.na)
  assert.ok(r.isAdmitted(peer, older.body.na + DAY), 'still admitted after the older one would have expired')
  assert.is(r.size(now), 1)
})

roster('a node\'s addresses come only from its own statement, and a newer one replaces them as a whole', async () => {
  const r = new Roster(anchor)
  const { peer, key } = await newSigningPeer()
  const stranger = await newSigningPeer()
  const { cert } = admitNode(authority, peer, 'site-a')
  assert.ok(r.add({ cert, addrs: statement(key, peer, 10, ['/ip4/10.0.0.1/tcp/1']) }))
  assert.is(r.add({ cert, addrs: statement(key, peer, 10, ['/ip4/10.0.0.1/tcp/1']) }), false, 'nothing new')
  assert.ok(r.add({ cert, addrs: statement(key, peer, 11, ['/ip4/10.0.0.2/tcp/2']) }))
  assert.equal(r.get(peer)?.addrs, ['/ip4/10.0.0.2/tcp/2'], 'replaced, not merged')
  assert.is(r.add({ cert, addrs: statement(key, peer, 9, ['/ip4/10.0.0.9/tcp/9']) }), false, 'an older statement changes nothing')
  assert.is(r.add({ cert, addrs: statement(stranger.key, peer, 99, ['/ip4/6.6.6.6/tcp/6']) }), false, 'signed by another key')
  const foreignSigned = statement(stranger.key, peer, 99, ['/ip4/6.6.6.6/tcp/6'])
  assert.is(await codeOfAsync(Promise.resolve().then(() => r.offer({ cert, addrs: foreignSigned }))), 'ERR_BAD_SIGNATURE')
  const othersStatement = statement(stranger.key, stranger.peer, 99, ['/ip4/6.6.6.6/tcp/6'])
  assert.is(await codeOfAsync(Promise.resolve().then(() => r.offer({ cert, addrs: othersStatement }))), 'ERR_BAD_REQUEST', 'another node\'s statement')
  assert.equal(r.get(peer)?.addrs, ['/ip4/10.0.0.2/tcp/2'])
})

roster.run()

// ---------------------------------------------------------------------------

const gossip = suite('admission between real nodes')
const state: { net?: LocalNetwork, clients: Array<Awaited<ReturnType<typeof clientHost>>> } = { clients: [] }

sharedSetup(gossip, 'a network of 4 nodes', async () => {
  state.net = await LocalNetwork.start({ nodes: 4, dir: join(root, 'net'), limits: { invalidRequestBudget: 3 } })
})

function peersOf (net: LocalNetwork): string[] {
  return net.nodes.map((n) => n.cert.body.peer).sort()
}

gossip('every node\'s roster converges to all 4 nodes, with their sites and addresses', async () => {
  const net = state.net!
  await net.converged()
  for (const n of net.nodes) {
    assert.equal(n.roster.list().map((e) => e.peer).sort(), peersOf(net))
    for (const other of net.nodes) {
      const e = n.roster.get(other.cert.body.peer)
      assert.is(e?.site, other.config.site)
      if (other !== n) assert.ok((e?.addrs.length ?? 0) > 0, 'knows where to reach it')
    }
  }
})

gossip('a 5th node added later is learnt by every node (and learns them all)', async () => {
  const net = state.net!
  const fifth = await net.addNode('site-5')
  await net.converged()
  assert.is(net.nodes.length, 5)
  for (const n of net.nodes) assert.equal(n.roster.list().map((e) => e.peer).sort(), peersOf(net))
  assert.is(fifth.roster.size(), 5)
})

gossip('a client without a certificate learns the roster but never appears in any', async () => {
  const net = state.net!
  const client = await clientHost(net)
  state.clients.push(client)
  assert.equal(client.roster.list().map((e) => e.peer).sort(), peersOf(net), 'the client sees every node')
  // Let a round of gossip pass with the client connected.
  await new Promise((resolve) => setTimeout(resolve, 500))
  const id = client.host.peerId.toString()
  for (const n of net.nodes) {
    assert.not.ok(n.roster.isAdmitted(id))
    assert.is(n.roster.size(), net.nodes.length)
  }
})

gossip('a certificate from another authority pushed over the admit protocol enters no roster', async () => {
  const net = state.net!
  const client = state.clients[0]
  const foreign = authorityAt('foreign-authority')
  const peer = await newPeer()
  const own = admitNode(foreign, client.host.peerId.toString(), 'site-x').cert
  const other = admitNode(foreign, peer, 'site-y').cert
  // Refused (and charged): no honest peer holds another authority's certificates.
  const refused = await codeOfAsync(request(client.host, peerIdFromString(net.nodes[0].cert.body.peer), PROTOCOL.ADMIT,
    { body: encodeAdmitMessage([{ cert: own }, { cert: other }]), timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] }))
  assert.is(refused, 'ERR_NOT_ADMITTED')
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const n of net.nodes) {
    assert.not.ok(n.roster.isAdmitted(peer))
    assert.not.ok(n.roster.isAdmitted(client.host.peerId.toString()))
    assert.is(n.roster.size(), net.nodes.length)
  }
})

gossip.run()

// ---------------------------------------------------------------------------

const budget = suite('the invalid-request budget')

async function admitRoundTrip (host: Awaited<ReturnType<typeof clientHost>>['host'], peer: string): Promise<number> {
  const opts = { body: encodeAdmitMessage([]), timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] }
  const answer = readAdmitMessage(await request(host, peerIdFromString(peer), PROTOCOL.ADMIT, opts))
  return answer.entries.length
}

budget('a client over the budget (3) is disconnected and its next connection refused; another client is still served', async () => {
  const net = state.net!
  const target = net.nodes[1]
  const targetId = target.cert.body.peer
  const [bad, good] = await Promise.all([clientHost(net), clientHost(net)])
  state.clients.push(bad, good)
  const junk = { timeoutMs: 5_000, maxResponseBytes: 4096 }

  // Within the budget every garbage request is answered with a typed refusal and the connection stays.
  for (let i = 0; i < 3; i++) {
    assert.is(await codeOfAsync(request(bad.host, peerIdFromString(targetId), PROTOCOL.STORE, { body: randomBytes(64), ...junk })), 'ERR_DECODE')
  }
  assert.ok(bad.host.getConnections(peerIdFromString(targetId)).length > 0, 'still connected at the budget')
  assert.is(await admitRoundTrip(bad.host, targetId), net.nodes.length, 'and still served at the budget')

  // One more is over it: answered, then the connection is closed.
  assert.is(await codeOfAsync(request(bad.host, peerIdFromString(targetId), PROTOCOL.FETCH, { body: randomBytes(64), ...junk })), 'ERR_DECODE')
  const deadline = Date.now() + 30_000
  while (bad.host.getConnections(peerIdFromString(targetId)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.is(bad.host.getConnections(peerIdFromString(targetId)).length, 0, 'disconnected')

  // A new connection (even with a well-formed request) is refused.
  const refused = await codeOfAsync(admitRoundTrip(bad.host, targetId))
  assert.ok(refused === 'ERR_BUSY' || refused === 'ERR_TIMEOUT', refused)
  assert.is(bad.host.getConnections(peerIdFromString(targetId)).length, 0, 'no connection was let in')

  // Everyone else is served as before, by that node and by the others.
  assert.is(await admitRoundTrip(good.host, targetId), net.nodes.length)
  const junkStore = request(good.host, peerIdFromString(targetId), PROTOCOL.STORE, { body: randomBytes(64), ...junk })
  assert.is(await codeOfAsync(junkStore), 'ERR_DECODE', 'a refusal is still a typed answer')
  assert.is(await admitRoundTrip(bad.host, net.nodes[2].cert.body.peer), net.nodes.length, 'the ban is per node, not network-wide')
})

budget.after(async () => {
  for (const c of state.clients) await c.stop()
  await state.net?.stop()
  rmSync(root, { recursive: true, force: true })
})

budget.run()
