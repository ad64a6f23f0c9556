/**
 * Interoperability: a stock js-libp2p peer, built only from libp2p packages
 * (no bioshard code), speaks to a bioshard node — noise, yamux, identify and
 * ping work, identify lists the bioshard protocols, and the private
 * Kademlia DHT (/bioshard/kad/1.0.0) is refused to it, as to every peer
 * that is neither an admitted node nor a certified client.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import type { IdentifyResult } from '@libp2p/interface'
import { ping, type Ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { LocalNetwork } from '../../sim/local-network.ts'
import { sharedSetup } from '../helpers/setup.ts'

/** The plain peer: stock modules and options only. */
async function plainPeer (): Promise<Libp2p<{ identify: Identify, ping: Ping, dht: KadDHT }>> {
  return await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: '/bioshard/kad/1.0.0', clientMode: true, peerInfoMapper: passthroughMapper })
    }
  })
}

const state: { net?: LocalNetwork, peer?: Awaited<ReturnType<typeof plainPeer>>, identified: Map<string, IdentifyResult> } = { identified: new Map() }

const interop = suite('a stock js-libp2p peer and a bioshard node')

sharedSetup(interop, 'a network of 3 nodes and a stock peer', async () => {
  state.net = await LocalNetwork.start({ nodes: 3 })
  await state.net.converged()
  state.peer = await plainPeer()
  // The stock peer identifies every peer it connects to; keep what it learnt.
  state.peer.addEventListener('peer:identify', (evt) => { state.identified.set(evt.detail.peerId.toString(), evt.detail) })
})

interop('connect over TCP with noise and yamux', async () => {
  const node = state.net!.nodes[0]
  const conn = await state.peer!.dial(multiaddr(node.addrs[0]), { signal: AbortSignal.timeout(5_000) })
  assert.is(conn.remotePeer.toString(), node.cert.body.peer)
  assert.is(conn.encryption, '/noise')
  assert.is(conn.multiplexer, '/yamux/1.0.0')
  assert.is(conn.status, 'open')
})

interop('identify lists the node\'s protocols, the bioshard ones included', async () => {
  const node = state.net!.nodes[0]
  const deadline = Date.now() + 30_000
  while (!state.identified.has(node.cert.body.peer) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  const result = state.identified.get(node.cert.body.peer)
  assert.ok(result !== undefined, 'identify completed')
  const expected = [
    '/bioshard/admit/1.0.0', '/bioshard/store/1.0.0', '/bioshard/fetch/1.0.0', '/bioshard/erase/1.0.0', '/bioshard/kad/1.0.0',
    '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0'
  ]
  for (const p of expected) {
    assert.ok(result.protocols.includes(p), `${p} in ${result.protocols.join(' ')}`)
  }
  assert.not.ok(result.protocols.includes('/ipfs/kad/1.0.0'), 'the DHT is private: no public kad protocol')
  const listen = result.listenAddrs.map((a) => a.toString())
  assert.ok(listen.some((a) => node.addrs[0].startsWith(a)), `${listen.join(' ')} vs ${node.addrs[0]}`)
  const ours = (protocols: string[]): string[] => protocols.filter((p) => p.startsWith('/bioshard/')).sort()
  const stored = (await state.peer!.peerStore.get(result.peerId)).protocols
  assert.equal(ours(stored), ours(result.protocols), 'and the peer store keeps them')
})

interop('ping returns a round-trip time', async () => {
  const node = peerIdFromString(state.net!.nodes[0].cert.body.peer)
  // The stock peer's DHT pings every new contact before adding it to its
  // routing table. Against a node whose peer store is on disk that ping
  // stream can stay half-open on the node until @libp2p/ping's 10 s handler
  // timeout (the stream iterator misses a remote close that arrived before
  // the handler started), and until then a second outbound ping stream is
  // over the stock limit of one. So retry, bounded, on that one error.
  const deadline = Date.now() + 15_000
  let rtt: number | undefined
  let refusals = 0
  while (rtt === undefined) {
    try {
      rtt = await state.peer!.services.ping.ping(node, { signal: AbortSignal.timeout(5_000) })
    } catch (e) {
      if ((e as Error).name !== 'TooManyOutboundProtocolStreamsError' || Date.now() > deadline) throw e
      refusals++
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  assert.type(rtt, 'number')
  assert.ok(rtt >= 0 && rtt < 5_000, `${rtt} ms after ${refusals} refusals`)
})

interop('the DHT on /bioshard/kad/1.0.0 answers a stock peer nothing: it is not an admitted node or a certified client', async () => {
  const target = state.net!.nodes[2]
  const targetId = peerIdFromString(target.cert.body.peer)
  let found = false
  try {
    // useCache: false asks the network, never this peer's own address book.
    for await (const event of state.peer!.services.dht.findPeer(targetId, { useCache: false, signal: AbortSignal.timeout(5_000) })) {
      if (event.name === 'FINAL_PEER') found = true
    }
  } catch {}
  assert.not.ok(found, 'an unadmitted peer found a node through the DHT')
})

interop('the node does not take the stock peer (no certificate) into its roster', () => {
  for (const n of state.net!.nodes) assert.not.ok(n.roster.isAdmitted(state.peer!.peerId.toString()))
})

interop.after(async () => {
  await state.peer?.stop()
  await state.net?.stop()
})

interop.run()
