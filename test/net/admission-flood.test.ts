/**
 * An admission flood against real nodes (a short slice of the attack the
 * `admit-flood` benchmark runs): hostile connections with fresh peer ids
 * send maximum-size admit messages of copied real certificates to every
 * node, from a process of their own. No flood message is answered, the
 * flooders are charged until they are cut off and their address refused,
 * and a certified client keeps verifying throughout. How long the event loop
 * may stall under the flood is a speed target, so the `admit-flood`
 * benchmark measures it (a good client's p99 beside its p99 without flood,
 * in one run); on a shared 2-core machine a wall-clock limit here would
 * measure the scheduler, not the node.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { toWire } from '../../protocol/signed.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { floodFromChild, floodMessages, type FloodStats } from '../helpers/admit-flood.ts'
import { TEST_RATE } from '../helpers/enrol.ts'

// The flood lasts at least this long, and until the flooders have been cut off
// and refused (a busy machine may take longer to get there), or the deadline.
const FLOOD_MIN_MS = 3_000
const FLOOD_DEADLINE_MS = 120_000

const net = await LocalNetwork.start({ nodes: 3 })
await net.converged()
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(11)
const alice = syntheticIdentity(128, rand)

const flood = suite('admission flood')

flood('no flood message is answered, the flooders are cut off, and a certified client verifies throughout', async () => {
  const { templateId } = await client.enroll({ template: alice.slice(), modality: 'face', model: 'synthetic-128', t: 2, n: 3, policy: TEST_RATE })
  assert.ok((await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept, 'verifies before the flood')

  const entries = net.nodes[0].roster.list().map((e) => ({ cert: toWire(e.cert), ...(e.statement !== undefined ? { addrs: toWire(e.statement) } : {}) }))
  const attack = floodFromChild(net.nodes.map((n) => n.addrs[0]), floodMessages(entries), { connections: 3, dir: net.dir })
  const verified: boolean[] = []
  const started = Date.now()
  const refusedCutOff = (stats: FloodStats): boolean => stats.cutOff > 0 && (stats.refused.ERR_BUSY ?? 0) + (stats.refused.ERR_TIMEOUT ?? 0) > 0
  const flooding = (): boolean => Date.now() - started < FLOOD_MIN_MS || (!refusedCutOff(attack.progress()) && Date.now() - started < FLOOD_DEADLINE_MS)
  while (flooding()) {
    verified.push((await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stats = await attack.stop()

  assert.is(stats.answered, 0, `no flood message was answered with a roster: ${JSON.stringify(stats)}`)
  assert.ok(refusedCutOff(stats), `flooders were cut off and refused: ${JSON.stringify(stats)}`)
  assert.ok(verified.length > 0 && verified.every((v) => v), `the client verified throughout: ${verified.join(',')}`)
})

flood.after(async () => {
  await client.close()
  await net.stop()
})
flood.run()
