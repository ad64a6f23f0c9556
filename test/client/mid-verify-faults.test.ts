/**
 * Faults in the middle of a verification, on real nodes (libp2p over TCP,
 * level on disk) and real enclave processes. Every verification here must
 * return by the client's own deadlines: an outer guard longer than those
 * deadlines fails the test instead of letting it hang.
 *
 * - The client's enclave keeper, called twice at once before its enclave
 *   runs, starts one enclave process, not two; closed while starting, it
 *   leaves none behind.
 * - A holder stopped after it received the fetch and before it answered (its
 *   request held by a gate on the node's handlers, test/helpers/fetch-gate.ts,
 *   until the node is down): a spare serves, the stopped holder is named.
 *   Started again while the verification still runs: the verification
 *   completes, and the holder serves again. Every spare gone as well: a
 *   QuorumError with a stable code naming them.
 * - The enclave SIGKILLed once its match request is in its channel, or
 *   handed the request between its channel closing and its exit being seen
 *   (test/helpers/verifier-process.ts): verify retries once in a fresh
 *   enclave (shares sealed to the dead one cannot open anywhere else); killed
 *   in the retry too, it fails with ERR_ENCLAVE. The client's memory holds no
 *   window of the template, one enclave runs, and the next verification works.
 *   Two first verifications at once on a new client start one enclave.
 *
 * The process checks read /proc (Linux); elsewhere those suites are skipped.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { LocalNetwork, type Tenant } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { EnclaveKeeper } from '../../client/enclave-keeper.ts'
import { fetchDeadlineMs, DHT_TIMEOUT_MS } from '../../client/constants.ts'
import type { ClientTimeouts, Credential } from '../../client/context.ts'
import type { VerifyResult } from '../../client/verify.ts'
import { MATCH_TIMEOUT_MS, START_TIMEOUT_MS } from '../../enclave/constants.ts'
import { ENCLAVE_ENTRY } from '../../enclave/read-set.ts'
import { authoriseVerifier } from '../../keys/authority.ts'
import { toWire } from '../../protocol/signed.ts'
import { encodeTemplate, makeTemplate } from '../../matcher/template.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { QuorumError } from '../../index.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { sharedSetup } from '../helpers/setup.ts'
import { FetchGate } from '../helpers/fetch-gate.ts'
import { CAN_SCAN, WINDOW, scanProcess, windows } from '../helpers/process-memory.ts'
import { startVerifierProcess, type VerifierProcess } from '../helpers/verifier-process.ts'

/**
 * The client's timeouts in the holder tests: no spare is asked on the hedge
 * before a stopped holder's request has ended, so a verification that
 * completes early did so because the client saw the holder's stream close.
 */
const TIMEOUTS: ClientTimeouts = { requestMs: 20_000, hedgeMs: 19_000, dhtMs: DHT_TIMEOUT_MS }
/**
 * The longest a verification may take by the client's own deadlines (manifest,
 * enclave start, fetch, match; twice, for the one retry in a fresh enclave), and some room.
 */
const GUARD_MS = 2 * (TIMEOUTS.dhtMs + START_TIMEOUT_MS + fetchDeadlineMs(TIMEOUTS) + MATCH_TIMEOUT_MS) + 30_000
const MODEL = 'synthetic-128'
const rand = prng(17)

/** `p`, or a test failure when it has not settled within {@link GUARD_MS}. */
async function returns<T> (p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`hung: no return within ${GUARD_MS} ms`)) }, GUARD_MS)
  })
  try { return await Promise.race([p, guard]) } finally { clearTimeout(timer) }
}

/** Running enclave children of process `parent` (their command line names the enclave entry). */
function enclaveChildren (parent: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent && readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(ENCLAVE_ENTRY)) out.push(Number(name))
    } catch {} // the process ended while being read
  }
  return out
}

/** A network of five nodes, a tenant and its client, and a template enrolled at t=3 of n=5. */
interface World {
  net: LocalNetwork
  tenant: Tenant
  client: Client
  alice: Float32Array
  templateId: Uint8Array
}

async function world (timeouts?: ClientTimeouts): Promise<World> {
  const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
  const tenant = net.tenant('acme')
  const credentials = { tenant: { key: tenant.key, cert: tenant.wire } }
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials, ...(timeouts !== undefined ? { timeouts } : {}) })
  const alice = syntheticIdentity(128, rand)
  const policy = { ratePerMinute: 600, burst: 600 }
  const { templateId } = await client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 3, n: 5, policy })
  return { net, tenant, client, alice, templateId }
}

// ---------------------------------------------------------------------------------------------------------------

const keeper = suite('the enclave keeper starts one enclave')
/** A verifier credential certified by a throwaway tenant (the keeper only attests with its key). */
function verifierKey (): Credential {
  const v = authoriseVerifier(generateSigningKey().key, 'keeper-test', ['login'])
  return { key: v.key, cert: toWire(v.cert) }
}

if (!CAN_SCAN) {
  process.stdout.write('SKIP enclave keeper: counts enclave processes through /proc\n')
  keeper.skip('two first calls at once start one enclave process, and close leaves none')
  keeper.skip('closed while its enclave is starting, the keeper leaves no enclave process behind')
} else {
  keeper('two first calls at once start one enclave process, and close leaves none', async () => {
    const before = enclaveChildren(process.pid).length
    const k = new EnclaveKeeper(undefined, verifierKey())
    try {
      const [a, b] = await returns(Promise.all([k.handle(), k.handle()]))
      assert.is(enclaveChildren(process.pid).length - before, 1, 'enclave processes started')
      assert.ok(a.enclave === b.enclave, 'both calls have the same enclave')
      assert.is(a.generation, b.generation)
    } finally {
      await k.close()
    }
    assert.is(enclaveChildren(process.pid).length, before, 'enclave processes left after close')
  })

  keeper('closed while its enclave is starting, the keeper leaves no enclave process behind', async () => {
    const before = enclaveChildren(process.pid).length
    const k = new EnclaveKeeper(undefined, verifierKey())
    const starting = k.handle().then(() => 'started', (e: { code?: string }) => e.code)
    await k.close()
    assert.is(await returns(starting), 'ERR_ENCLAVE', 'the call that was starting it fails typed')
    assert.is(enclaveChildren(process.pid).length, before, 'enclave processes left after close')
  })
}

keeper.run()

// ---------------------------------------------------------------------------------------------------------------

/** A world whose nodes' fetches pass a gate the test holds. */
interface Holders extends World { gate: FetchGate }

const restarts = suite('a holder restarted during a verification')

const holders = sharedSetup(restarts, 'five nodes, a template at t=3 of n=5, the enclave started', async (): Promise<Holders> => {
  const w = await world(TIMEOUTS)
  await w.client.measurement()
  return { ...w, gate: new FetchGate(w.net) }
})

async function verifyAlice (w: World): Promise<VerifyResult> {
  return await w.client.verify({ templateId: w.templateId, probe: syntheticProbe(w.alice, rand), purpose: 'login' })
}

const peerOf = (h: Holders, node: number): string => h.net.nodes[node].cert.body.peer

/** A rule holding the first fetch that arrives at a node other than the one the client joined through; `held` names that node. */
function holdFirst (): { rule: (node: number) => 'hold' | 'serve', held: () => number | undefined } {
  let target: number | undefined
  return {
    rule: (node) => {
      if (target !== undefined || node === 0) return 'serve'
      target = node
      return 'hold'
    },
    held: () => target
  }
}

/** Stop node `node` while it holds a fetch: it closes its connections at once, the fetch unanswered (no drain: it would only wait out its deadline). */
async function stopHolding (h: Holders, node: number): Promise<void> {
  await h.net.stopNode(node, { drainMs: 0 })
  h.gate.release({ node, serve: false })
}

/** Start every stopped node again. */
async function restore (h: Holders): Promise<void> {
  h.gate.reset()
  for (let i = 0; i < h.net.nodes.length; i++) if (h.net.nodes[i].libp2p === undefined) await h.net.restartNode(i)
}

restarts('the holder stops after it received the request and before it answered: a spare serves, the holder is named', async () => {
  const h = holders()
  const first = holdFirst()
  h.gate.reset(first.rule)
  const verifying = returns(verifyAlice(h))
  await h.gate.until(() => first.held() !== undefined)
  const stopped = first.held() as number
  await stopHolding(h, stopped)
  const r = await verifying
  assert.ok(r.accept)
  assert.not.ok(r.holders.includes(peerOf(h, stopped)))
  const named = r.refused.find((x) => x.holder === peerOf(h, stopped))
  assert.ok(named !== undefined, `the stopped holder is named: ${JSON.stringify(r.refused)}`)
  assert.is.not(named.code, 'ERR_TIMEOUT', 'the client saw the stream close instead of waiting for its deadline')
  await restore(h)
})

restarts('the holder comes back during the same verification: it completes, and the holder serves the next one', async () => {
  const h = holders()
  // The first fetch at a node other than the bootstrap node is held, and every fetch after it (the spares'):
  // the verification cannot finish before the test lets them go, once the holder is back.
  let back: number | undefined
  h.gate.reset((node) => {
    if (back === undefined && node !== 0) back = node
    return back === undefined ? 'serve' : 'hold'
  })
  const verifying = returns(verifyAlice(h))
  await h.gate.until(() => back !== undefined)
  const node = back as number
  await stopHolding(h, node)
  await h.net.restartNode(node)
  h.gate.reset()
  const r = await verifying
  assert.ok(r.accept)
  assert.not.ok(r.holders.includes(peerOf(h, node)))
  // The next verification cannot do without it: two other holders refuse.
  const others = h.net.nodes.map((_, i) => i).filter((i) => i !== node && i !== 0).slice(0, 2)
  h.gate.reset((i) => others.includes(i) ? 'refuse' : 'serve')
  const next = await returns(verifyAlice(h))
  assert.ok(next.accept)
  assert.ok(next.holders.includes(peerOf(h, node)), 'the restarted holder served')
  await restore(h)
})

restarts('a spare restarted while the verification waits serves that same verification', async () => {
  const h = holders()
  // The first t fetches are held. Then the spare is restarted and one held holder is stopped, so a spare is needed;
  // the other spare refuses, so the restarted one serves.
  const spares: { refusing?: number } = {}
  h.gate.reset((node) => node === spares.refusing ? 'refuse' : spares.refusing === undefined ? 'hold' : 'serve')
  const verifying = returns(verifyAlice(h))
  await h.gate.until(() => h.gate.holding.length >= 3)
  const [spare, other] = h.net.nodes.map((_, i) => i).filter((i) => !h.gate.arrived.includes(i))
  await h.net.restartNode(spare)
  const lost = h.gate.holding[0]
  spares.refusing = other
  await stopHolding(h, lost)
  h.gate.release()
  const r = await verifying
  assert.ok(r.accept)
  assert.ok(r.holders.includes(peerOf(h, spare)), 'the restarted spare served')
  assert.ok(r.refused.some((x) => x.holder === peerOf(h, lost)), 'the stopped holder is named')
  await restore(h)
})

restarts('every spare gone as well: a QuorumError with a stable code naming each holder that did not answer', async () => {
  const h = holders()
  const first = holdFirst()
  h.gate.reset(first.rule)
  const verifying = returns(verifyAlice(h).then(() => undefined, (e: unknown) => e))
  // The first t fetches have arrived (t = 3); the two holders not asked are the spares.
  await h.gate.until(() => h.gate.arrived.length >= 3 && first.held() !== undefined)
  const held = first.held() as number
  const spares = h.net.nodes.map((_, i) => i).filter((i) => !h.gate.arrived.includes(i))
  for (const i of spares) await h.net.stopNode(i)
  await stopHolding(h, held)
  const e = await verifying
  assert.ok(e instanceof QuorumError, String(e))
  assert.is(e.code, 'ERR_QUORUM_UNAVAILABLE')
  assert.equal(new Set(e.refused.map((r) => r.holder)), new Set([held, ...spares].map((i) => peerOf(h, i))), 'exactly the stopped holders are named')
  assert.equal(e.bad, [])
  await restore(h)
  assert.ok((await returns(verifyAlice(h))).accept, 'with the holders back, a verification succeeds')
})

restarts.after(async () => {
  const h = holders()
  h.gate.reset()
  await h.client.close()
  await h.net.stop()
})

restarts.run()

// ---------------------------------------------------------------------------------------------------------------

const kills = suite('the enclave killed mid-match, and first calls at once')

/** A world, and a verifying client in its own process holding a verifier credential of the world's tenant. */
interface Killing extends World { verifier: VerifierProcess }

/** Where the scan looks for the template: windows of its float32 values and of its encoding. */
const templateWindows = (alice: Float32Array): Uint8Array[] => [
  ...windows(new Uint8Array(alice.buffer, alice.byteOffset, alice.byteLength)),
  ...windows(encodeTemplate(makeTemplate(alice, { modality: 'face', model: MODEL, dtype: 'f32' })))
]

if (!CAN_SCAN) {
  process.stdout.write('SKIP enclave killed mid-match: reads the client process through /proc\n')
  kills.skip('killed once: the verification retries once in a fresh enclave and decides')
  kills.skip('dead before the match is handed over, its channel closed and its exit not yet seen: the retry runs in a fresh enclave')
  kills.skip('killed in the retry too: a typed ERR_ENCLAVE, returned, not hung')
  kills.skip('after the kills the client process holds no window of the template, and runs one enclave')
  kills.skip('the next verification works in a fresh enclave')
  kills.skip('two first verifications at once on a new client start one enclave process')
} else {
  const killing = sharedSetup(kills, 'five nodes, a template, a verifying client process', async (): Promise<Killing> => {
    const w = await world()
    const v = authoriseVerifier(w.tenant.key, 'kill-test', ['login'])
    const verifier = await startVerifierProcess({
      bootstrap: w.net.bootstrap,
      anchor: w.net.anchor,
      verifier: { seed: v.seed, cert: toWire(v.cert), chain: w.tenant.wire }
    })
    v.seed.fill(0)
    return { ...w, verifier }
  })
  const probe = (k: Killing): Float32Array => syntheticProbe(k.alice, rand)

  kills('killed once: the verification retries once in a fresh enclave and decides', async () => {
    const k = killing()
    const r = await returns(k.verifier.verify(k.templateId, probe(k), ['mid-match']))
    assert.is(r.error, undefined, JSON.stringify(r.error))
    assert.is(r.accept, true)
    assert.is(r.killed.length, 1)
    assert.ok(r.pid !== undefined && !r.killed.includes(r.pid), 'a fresh enclave decided')
  })

  kills('dead before the match is handed over, its channel closed and its exit not yet seen: the retry runs in a fresh enclave', async () => {
    const k = killing()
    const r = await returns(k.verifier.verify(k.templateId, probe(k), ['channel-closed']))
    assert.is(r.error, undefined, JSON.stringify(r.error))
    assert.is(r.accept, true)
    assert.is(r.killed.length, 1)
    assert.ok(r.pid !== undefined && !r.killed.includes(r.pid), 'a fresh enclave decided')
  })

  kills('killed in the retry too: a typed ERR_ENCLAVE, returned, not hung', async () => {
    const k = killing()
    const r = await returns(k.verifier.verify(k.templateId, probe(k), ['mid-match', 'mid-match']))
    assert.is(r.killed.length, 2)
    assert.is(r.accept, undefined)
    assert.is(r.error?.code, 'ERR_ENCLAVE', JSON.stringify(r.error))
  })

  kills('after the kills the client process holds no window of the template, and runs one enclave', async () => {
    const k = killing()
    const control = randomBytes(WINDOW)
    await k.verifier.hold(control)
    const pid = k.verifier.child.pid as number
    const found = scanProcess(pid, [control, ...templateWindows(k.alice)])
    assert.ok(found[0], 'control: the scan finds a buffer the client holds')
    assert.equal(found.slice(1).filter(Boolean).length, 0, 'template windows in the client\'s memory')
    assert.is(enclaveChildren(pid).length, 1, 'enclave processes of the client')
  })

  kills('the next verification works in a fresh enclave', async () => {
    const k = killing()
    const r = await returns(k.verifier.verify(k.templateId, probe(k), []))
    assert.is(r.error, undefined, JSON.stringify(r.error))
    assert.is(r.accept, true)
    assert.equal(enclaveChildren(k.verifier.child.pid as number), [r.pid], 'the enclave that decided is the client\'s only one')
  })

  kills('two first verifications at once on a new client start one enclave process', async () => {
    const k = killing()
    const v = k.net.verifier(k.tenant, ['login'], 'first-calls')
    const credentials = { verifier: { key: v.key, cert: v.wire, chain: k.tenant.wire } }
    const client = await createClient({ bootstrap: k.net.bootstrap, authority: k.net.info, credentials })
    const before = enclaveChildren(process.pid).length
    try {
      const rs = await returns(Promise.all([0, 1].map(async () => await client.verify({ templateId: k.templateId, probe: probe(k), purpose: 'login' }))))
      assert.equal(rs.map((r) => r.accept), [true, true])
      assert.is(enclaveChildren(process.pid).length - before, 1, 'enclave processes started')
    } finally {
      await client.close()
    }
    assert.is(enclaveChildren(process.pid).length, before, 'enclave processes left after close')
  })

  kills.after(async () => {
    const k = killing()
    await k.verifier.close()
    await k.client.close()
    await k.net.stop()
  })
}

kills.run()
