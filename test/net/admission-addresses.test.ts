/**
 * Roster address poisoning, performed against real nodes: a peer without
 * credentials re-sends the real node certificates with bogus loopback
 * addresses, as plain address lists (the old wire form) and as address
 * statements it signed itself, over and over. Afterwards every roster and
 * every peer store holds only the addresses each node stated itself, the
 * pusher has been charged (disconnected and refused), and a fresh client
 * bootstrapping through one node enrols and verifies.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { request } from '../../net/rpc.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { signingKeyFromSeed } from '../../crypto/sign.ts'
import { signNodeAddresses } from '../../protocol/node-addresses.ts'
import { toWire } from '../../protocol/signed.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES, WIRE_VERSION } from '../../protocol/constants.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { clientHost } from '../helpers/enrol.ts'
import type { SiteNode } from '../../node/site-node.ts'

const net = await LocalNetwork.start({ nodes: 4, limits: { invalidRequestBudget: 5 } })
await net.converged()

/** Loopback ports nothing listens on: what the attack advertised. */
const bogus = (round: number): string[] => Array.from({ length: 8 }, (_, i) => `/ip4/127.0.0.${2 + round}/tcp/${20_000 + round * 8 + i}`)
const real = (n: SiteNode): string[] => n.addrs.map((a) => a.split('/p2p/')[0])

const poison = suite('roster address poisoning')
const state: { attacker?: Awaited<ReturnType<typeof clientHost>> } = {}

poison('bogus addresses pushed for real nodes reach no roster and no peer store; the pusher is charged; a fresh client verifies', async () => {
  const attacker = await clientHost(net, { credential: null })
  state.attacker = attacker
  const forger = signingKeyFromSeed((await generateKeyPair('Ed25519')).raw.subarray(0, 32))
  const outcomes: string[] = []
  for (let round = 0; round < 12; round++) {
    const entries = net.nodes.map((n) => {
      const cert = toWire(n.cert)
      // Even rounds: a plain address list; odd rounds: a statement signed by the attacker's own key.
      return round % 2 === 0
        ? { cert, addrs: bogus(round) }
        : { cert, addrs: signNodeAddresses(forger, { network: net.info.network, peer: n.cert.body.peer, seq: Date.now() + round, addrs: bogus(round) }) }
    })
    for (const target of net.nodes) {
      try {
        const body = encodeCanonical({ v: WIRE_VERSION, entries })
        const opts = { body, timeoutMs: 3_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] }
        await request(attacker.host, peerIdFromString(target.cert.body.peer), PROTOCOL.ADMIT, opts)
        outcomes.push('ok')
      } catch (e) {
        outcomes.push((e as { code?: string }).code ?? 'error')
      }
    }
  }
  // Let any push the attack caused travel.
  await new Promise((resolve) => setTimeout(resolve, 1_000))

  for (const n of net.nodes) {
    for (const other of net.nodes) {
      if (other === n) continue
      const peer = other.cert.body.peer
      const inRoster = n.roster.get(peer)?.addrs ?? []
      assert.ok(inRoster.length > 0, 'still knows where the other node is')
      for (const a of inRoster) assert.ok(real(other).includes(a), `roster of ${n.config.site} lists ${a} for ${other.config.site}`)
      const stored = await n.libp2p!.peerStore.get(peerIdFromString(peer))
      for (const { multiaddr } of stored.addresses) {
        assert.ok(real(other).includes(multiaddr.toString().split('/p2p/')[0]), `peer store of ${n.config.site} holds ${multiaddr.toString()}`)
      }
    }
  }
  assert.not.ok(outcomes.includes('ok'), `no poisoned push was accepted: ${outcomes.join(',')}`)
  assert.ok(outcomes.includes('ERR_BUSY') || outcomes.includes('ERR_TIMEOUT'), `the pusher was cut off: ${outcomes.join(',')}`)
  await attacker.stop()
  state.attacker = undefined

  // A fresh client joining through one node reaches the others at their real addresses.
  const tenant = net.tenant('acme')
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  try {
    const rand = prng(3)
    const alice = syntheticIdentity(128, rand)
    const { templateId } = await client.enroll({ template: alice.slice(), modality: 'face', model: 'synthetic-128', t: 2, n: 3 })
    const r = await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.ok(r.accept)
  } finally {
    await client.close()
  }
})

poison.after(async () => { await state.attacker?.stop(); await net.stop() })
poison.run()
