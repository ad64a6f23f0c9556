/**
 * The fault injector over 5 real nodes (libp2p over TCP, level on disk):
 * every node and link fault has an observable effect on real requests and
 * connections, and healing undoes it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { FaultInjector } from '../../sim/injector.ts'
import { Rng } from '../../sim/rng.ts'
import { clientHost, enrolByHand, fetchParties, openFetched } from '../helpers/enrol.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const faults = new FaultInjector(net, { rng: new Rng(15) })
const client = await clientHost(net)
const { tenant, enclave, creds } = fetchParties(net)
const enrolled = await enrolByHand(client.host, net.nodes.slice(), tenant, { measurements: [enclave.measurement] })
const peerOf = (i: number): string => net.nodes[i].cert.body.peer

/**
 * Deadlines of a dial and a fetch that must succeed: far above any load, since a refused one fails at once (a link policy
 * denies it when it is opened) and only a test that fails waits them out.
 */
const DIAL_MS = 20_000
const ANSWER_MS = 20_000

/** Fetch node i's share as the client (its clock shifted by `shiftMs`) and check it opens to the share stored there. */
async function fetchFrom (i: number, o: { timeoutMs?: number, shiftMs?: number } = {}): Promise<void> {
  const now = Date.now() + (o.shiftMs ?? 0)
  const order = { templateId: enrolled.templateId, x: enrolled.shares[i].x, purpose: 'login', creds }
  const res = await fetchShare(client.host, peerOf(i), order, { now, timeoutMs: o.timeoutMs ?? ANSWER_MS })
  assert.ok(equalBytes(openFetched(enclave.keys, res, now), enrolled.shares[i].bytes), `node ${i} serves its share`)
}

/**
 * Node i opens a new connection to node j; 'ok' or the failure's name. Always a new one: under a one-way partition a
 * connection j opened to i stays up, and a plain dial would return it.
 */
async function dial (i: number, j: number): Promise<string> {
  const host = net.nodes[i].libp2p
  if (host === undefined) return 'down'
  try {
    await host.dial(peerIdFromString(peerOf(j)), { signal: AbortSignal.timeout(DIAL_MS), force: true })
    return 'ok'
  } catch (e) {
    return (e as Error).name
  }
}

const connected = (i: number, j: number): boolean => (net.nodes[i].libp2p?.getConnections(peerIdFromString(peerOf(j))).length ?? 0) > 0

const nodes = suite('node faults')

nodes('a bad node index is a RangeError', async () => {
  try {
    await faults.apply({ at: 0, kind: 'crash', node: 5 })
    assert.unreachable('applied')
  } catch (e) {
    assert.instance(e, RangeError)
  }
  assert.throws(() => faults.isUp(-1), (e: unknown) => e instanceof RangeError)
})

nodes('a crashed node does not answer; restarted, it serves its acknowledged share again', async () => {
  await fetchFrom(1)
  await faults.apply({ at: 0, kind: 'crash', node: 1 })
  assert.not.ok(faults.isUp(1))
  assert.not.ok(faults.reachableFromClient(1))
  assert.is.not(await codeOfAsync(fetchFrom(1, { timeoutMs: 2_000 })), 'no error')
  await faults.apply({ at: 1, kind: 'restart', node: 1 })
  assert.ok(faults.isUp(1))
  assert.ok(faults.reachableFromClient(1))
  await fetchFrom(1)
})

nodes('a skewed clock refuses a request fresh by the real clock but stale by its own', async () => {
  await faults.apply({ at: 0, kind: 'skew', node: 3, ms: -60_000 })
  assert.is(await codeOfAsync(fetchFrom(3)), 'ERR_STALE')
  // Fresh by the node's clock: served (the clock changed live, without a restart).
  await fetchFrom(3, { shiftMs: -60_000 })
  await faults.apply({ at: 1, kind: 'skew', node: 3, ms: 0 })
  await fetchFrom(3)
})

nodes.run()

const links = suite('link faults')

links('across a partition nodes cannot connect and the client cannot reach the other side; heal reconnects', async () => {
  assert.is(await dial(0, 3), 'ok')
  await faults.apply({ at: 0, kind: 'partition', groups: [[0, 1, 2], [3, 4]] })
  assert.not.ok(connected(0, 3), 'the crossing connection was closed')
  assert.is.not(await dial(0, 3), 'ok')
  assert.is.not(await dial(4, 1), 'ok')
  assert.is(await dial(3, 4), 'ok', 'inside a side, links are open')
  assert.not.ok(faults.reachableFromClient(3))
  assert.ok(faults.reachableFromClient(1))
  assert.is.not(await codeOfAsync(fetchFrom(3, { timeoutMs: 2_000 })), 'no error')
  await fetchFrom(1)
  await faults.apply({ at: 1, kind: 'heal' })
  assert.is(await dial(0, 3), 'ok')
  assert.ok(faults.reachableFromClient(3))
  await fetchFrom(3)
})

links('a one-way partition refuses only what group 0 opens towards the others', async () => {
  await faults.apply({ at: 0, kind: 'partition', groups: [[0, 1, 2], [3, 4]], oneWay: true })
  assert.is.not(await dial(0, 3), 'ok')
  assert.is(await dial(3, 0), 'ok', 'the other side still reaches group 0')
  assert.not.ok(faults.reachableFromClient(4))
  await faults.apply({ at: 1, kind: 'heal' })
  assert.is(await dial(0, 3), 'ok')
})

links('an isolated node reaches no node and no client', async () => {
  await faults.apply({ at: 0, kind: 'isolate', node: 2 })
  assert.not.ok(faults.reachableFromClient(2))
  assert.is.not(await codeOfAsync(fetchFrom(2, { timeoutMs: 2_000 })), 'no error')
  assert.is.not(await dial(0, 2), 'ok')
  assert.is.not(await dial(2, 0), 'ok')
  await faults.apply({ at: 1, kind: 'heal' })
  await fetchFrom(2)
  assert.is(await dial(0, 2), 'ok')
})

links('loss 1 silences a node, latency delays it, a clear link restores it', async () => {
  await faults.apply({ at: 0, kind: 'link', node: 1, latencyMs: 0, jitterMs: 0, loss: 1 })
  assert.not.ok(faults.reachableFromClient(1))
  assert.is(await codeOfAsync(fetchFrom(1, { timeoutMs: 1_500 })), 'ERR_TIMEOUT')
  await faults.apply({ at: 1, kind: 'link', node: 1, latencyMs: 1_000, jitterMs: 100, loss: 0 })
  const started = performance.now()
  await fetchFrom(1)
  assert.ok(performance.now() - started >= 850, 'the answer waited out the latency')
  await faults.apply({ at: 2, kind: 'link', node: 1, latencyMs: 0, jitterMs: 0, loss: 0 })
  await fetchFrom(1)
})

links('a clogged node holds requests until unclog releases them', async () => {
  await faults.apply({ at: 0, kind: 'clog', node: 2 })
  assert.not.ok(faults.reachableFromClient(2))
  let settled = false
  const pending = fetchFrom(2, { timeoutMs: 20_000 }).finally(() => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, 800))
  assert.not.ok(settled, 'held while clogged')
  await faults.apply({ at: 1, kind: 'unclog', node: 2 })
  await pending
  assert.ok(faults.reachableFromClient(2))
})

links('healAll undoes every link fault and restarts crashed nodes', async () => {
  await faults.apply({ at: 0, kind: 'crash', node: 1 })
  await faults.apply({ at: 0, kind: 'isolate', node: 2 })
  await faults.apply({ at: 0, kind: 'clog', node: 3 })
  await faults.apply({ at: 0, kind: 'link', node: 0, latencyMs: 0, jitterMs: 0, loss: 1 })
  await faults.apply({ at: 0, kind: 'partition', groups: [[0, 1], [2, 3, 4]] })
  await faults.healAll()
  for (let i = 0; i < 5; i++) {
    assert.ok(faults.reachableFromClient(i), `node ${i} reachable`)
    await fetchFrom(i)
  }
})

links('a departed node is gone for good: its directory is destroyed and heal does not bring it back', async () => {
  const dir = net.nodes[4].dir
  await faults.apply({ at: 0, kind: 'depart', node: 4 })
  assert.ok(faults.hasDeparted(4))
  assert.not.ok(faults.isUp(4))
  assert.not.ok(existsSync(dir))
  await faults.apply({ at: 1, kind: 'restart', node: 4 })
  await faults.healAll()
  assert.not.ok(faults.isUp(4))
  assert.is.not(await codeOfAsync(fetchFrom(4, { timeoutMs: 2_000 })), 'no error')
})

links.after(async () => {
  await client.stop()
  await net.stop()
})

links.run()
