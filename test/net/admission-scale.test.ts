/**
 * Admission converges on a roster larger than one message can carry: a node
 * that knows 600 admitted nodes (more than the 512 entries an admit message
 * may hold) passes all of them on to the other nodes and to a client, by
 * digest exchanges that send only the buckets that differ, a bounded number
 * at a time. Whole-roster pushes cannot: every one carries the same first
 * 512. No timing is asserted; the wait is a generous deadline.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { admitNode } from '../../keys/authority.ts'
import { MAX_ROSTER_ENTRIES } from '../../protocol/constants.ts'
import { clientHost } from '../helpers/enrol.ts'

/** Admitted nodes known only to the first node: more than one admit message holds. */
const EXTRA = MAX_ROSTER_ENTRIES + 88
const DEADLINE_MS = 120_000

const net = await LocalNetwork.start({ nodes: 3, transport: 'memory' })
await net.converged(60_000)

async function until (done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + DEADLINE_MS
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
  return done()
}

const scale = suite('a roster larger than one admit message')

scale(`${EXTRA} nodes learnt by one node reach every node and a client`, async () => {
  for (let i = 0; i < EXTRA; i++) {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    net.nodes[0].roster.offer({ cert: admitNode(net.authority, peer, `site-far-${i % 40}`).cert })
  }
  const total = EXTRA + net.nodes.length
  assert.is(net.nodes[0].roster.size(), total)
  // A new node joins through the first one: it must pull all of them.
  await net.addNode('site-late')
  const all = total + 1
  const converged = await until(() => net.nodes.every((n) => n.roster.size() >= all))
  assert.ok(converged, `every node lists all ${all}: ${net.nodes.map((n) => n.roster.size()).join(',')}`)
  const client = await clientHost(net)
  try {
    assert.ok(await until(() => client.roster.size() >= all), `the client lists all ${all}: ${client.roster.size()}`)
  } finally {
    await client.stop()
  }
})

scale.after(async () => { await net.stop() })
scale.run()
