/**
 * An admission flood against real nodes (a short slice of the attack the
 * `admit-flood` benchmark runs): hostile connections with fresh peer ids
 * send maximum-size admit messages of copied real certificates to every
 * node, from a process of their own. The nodes' event loop (this process)
 * never stalls for long, the flooders are charged until they are cut off and
 * their address refused, and a certified client keeps verifying.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { toWire } from '../../protocol/signed.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { floodFromChild, floodMessages } from '../helpers/admit-flood.ts'
import { TEST_RATE } from '../helpers/enrol.ts'

/**
 * Longest stall of the event loop accepted during the flood. No handler holds
 * it for long, but on a 2-core machine the flooding process, the nodes and
 * their garbage collector (which reclaims every 0.5 MiB message) share the
 * cores, so the bound leaves room for collection pauses while staying well
 * below the stall one message caused before admission was bounded.
 */
const MAX_STALL_MS = 100
const FLOOD_MS = 3_000

const net = await LocalNetwork.start({ nodes: 3 })
await net.converged()
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(11)
const alice = syntheticIdentity(128, rand)

const flood = suite('admission flood')

flood('the event loop never stalls, the flooders are cut off, and a certified client still verifies', async () => {
  const { templateId } = await client.enroll({ template: alice.slice(), modality: 'face', model: 'synthetic-128', t: 2, n: 3, policy: TEST_RATE })
  assert.ok((await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept, 'verifies before the flood')

  const entries = net.nodes[0].roster.list().map((e) => ({ cert: toWire(e.cert), ...(e.statement !== undefined ? { addrs: toWire(e.statement) } : {}) }))
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const attack = floodFromChild(net.nodes.map((n) => n.addrs[0]), floodMessages(entries), { connections: 3, dir: net.dir })
  const verified: boolean[] = []
  const until = Date.now() + FLOOD_MS
  while (Date.now() < until) {
    verified.push((await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stats = await attack.stop()
  delay.disable()
  const stallMs = delay.max / 1e6

  assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled for ${stallMs.toFixed(0)} ms (flood: ${JSON.stringify(stats)})`)
  assert.is(stats.answered, 0, `no flood message was answered with a roster: ${JSON.stringify(stats)}`)
  const refusedFloods = (stats.refused.ERR_BUSY ?? 0) + (stats.refused.ERR_TIMEOUT ?? 0)
  assert.ok(stats.cutOff > 0 && refusedFloods > 0, `flooders were cut off and refused: ${JSON.stringify(stats)}`)
  assert.ok(verified.length > 0 && verified.every((v) => v), `the client verified throughout: ${verified.join(',')}`)
})

flood.after(async () => {
  await client.close()
  await net.stop()
})
flood.run()
