/**
 * Whether an admission flood slows a good verifier down: its verify latency
 * without and then with a flood running against every node, in one run, so
 * the goal ({@link P99_RATIO_MAX}) is a ratio and not an absolute time. The
 * flood runs in its own process at the lowest scheduling priority (a real
 * attacker floods from its own machines), and verifications are timed only
 * after it has run a while, so the nodes' reaction is part of what is measured.
 *
 * Run alone: `node bench/admit-flood.bench.ts` (prints a table).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { ProcessNetwork } from '../sim/process-network.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../sim/synthetic.ts'
import { createClient, type Client } from '../client/client.ts'
import { createHost, dialBootstrap } from '../net/host.ts'
import { Roster } from '../net/roster.ts'
import { Admission } from '../net/admission.ts'
import { RefusalBudget } from '../net/policy/refusal-budget.ts'
import { toWire } from '../protocol/signed.ts'
import { floodFromChild, floodMessages } from '../test/helpers/admit-flood.ts'
import { sample, summarize, compare, progress, printTable, type BenchResult } from './harness.ts'

const NODES = 4
const T = 2
const N = 3
const DIM = 128
const TEMPLATES = 4
const MODEL = 'synthetic-128'
const PURPOSE = 'login'
const RATE_PER_MINUTE = 1_000_000
/** Hostile connections per node. */
const FLOOD_CONNECTIONS = 3
/** Untimed verifications first. */
const WARMUP_OPS = 200
/** Timed verifications in each phase, at least, for at least this long. */
const PHASE_OPS = 300
const PHASE_MS = 15_000
/** How long the flood runs before verifications are timed under it. */
const FLOOD_LEAD_MS = 3_000
/** Goal: p99 under the flood at most this multiple of p99 without it. */
const P99_RATIO_MAX = 2

/** The real roster as a client learns it (certificates with the nodes' own statements), in wire form. */
async function realRoster (net: ProcessNetwork): Promise<Array<{ cert: unknown, addrs?: unknown }>> {
  const anchor = { network: net.info.network, authorities: [net.info.publicKey] }
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client' })
  const roster = new Roster(anchor)
  const tenant = net.tenant('roster-reader')
  const admission = new Admission({
    libp2p: host,
    roster,
    budget: new RefusalBudget(20, 60_000, 60_000),
    credential: { key: tenant.key, cert: tenant.wire }
  })
  await host.start()
  await admission.start()
  try {
    await dialBootstrap(host, net.bootstrap)
    const deadline = Date.now() + 10_000
    const stated = (): number => roster.list().filter((e) => e.statement !== undefined).length
    while (stated() < NODES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    return roster.list().map((e) => ({ cert: toWire(e.cert), ...(e.statement !== undefined ? { addrs: toWire(e.statement) } : {}) }))
  } finally {
    await admission.stop()
    await host.stop()
  }
}

/**
 * Run the admission-flood benchmark.
 *
 * Setup: `ProcessNetwork` with {@link NODES} nodes at as many sites, each
 * `bioshard node start` in its own process; the verifier library
 * (`createClient`, with its enclave child) in this process, with synthetic
 * templates enrolled at a policy rate limit the limiter never reaches. The
 * flood (test/helpers/admit-flooder.ts) keeps {@link FLOOD_CONNECTIONS}
 * hostile connections per node, each from a fresh peer id, sending
 * maximum-size admit messages made of copies of the real roster (real
 * certificates and address statements, in the current and the former wire
 * form) back to back, and comes back with a new peer id whenever it is cut
 * off. The flood's row notes what happened to the flooders.
 *
 * @returns verify without and with the flood, the latter with its p99 ratio and goal verdict
 * @example printTable(await run(), 'admit-flood')
 */
export async function run (): Promise<BenchResult[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'bioshard-bench-admit-flood-'))
  let net: ProcessNetwork | undefined
  let client: Client | undefined
  let flood: ReturnType<typeof floodFromChild> | undefined
  try {
    progress(`admit-flood: starting ${NODES} node processes`)
    net = await ProcessNetwork.start({ nodes: NODES, sites: NODES, dir: join(scratch, 'net'), onProgress: (m) => { progress(`  ${m}`) } })
    const tenant = net.tenant('bench-tenant')
    client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
    const c = client
    const rand = prng(5)
    const policy = { purposes: [PURPOSE], ratePerMinute: RATE_PER_MINUTE, burst: RATE_PER_MINUTE }
    const identities: Array<{ templateId: Uint8Array, probe: Float32Array }> = []
    for (let i = 0; i < TEMPLATES; i++) {
      const id = syntheticIdentity(DIM, rand)
      const r = await c.enroll({ template: id.slice(), modality: 'face', model: MODEL, t: T, n: N, policy })
      identities.push({ templateId: r.templateId, probe: syntheticProbe(id, rand, 1) })
    }
    const verifyOp = async (i: number): Promise<void> => {
      const who = identities[i % identities.length]
      const r = await c.verify({ templateId: who.templateId, probe: who.probe.slice(), purpose: PURPOSE })
      if (!r.accept) throw new Error('a genuine probe was rejected')
    }
    progress('admit-flood: warming up')
    await sample('warmup verify', verifyOp, { warmup: 0, iterations: WARMUP_OPS })

    progress('admit-flood: verify without a flood')
    const calm = summarize('verify, no flood', await sample('verify, no flood', verifyOp, { warmup: 0, iterations: PHASE_OPS, minTimeMs: PHASE_MS }),
      { note: `${NODES} node processes, t=${T} n=${N}` })

    const messages = floodMessages(await realRoster(net))
    progress(`admit-flood: flooding every node (${FLOOD_CONNECTIONS} connections each, ${messages.map((m) => m.length).join(' / ')} B messages)`)
    flood = floodFromChild(net.nodes.map((n) => n.addr as string), messages, { connections: FLOOD_CONNECTIONS, dir: scratch, nice: true })
    await new Promise((resolve) => setTimeout(resolve, FLOOD_LEAD_MS))
    progress('admit-flood: verify under the flood')
    const stormy = await sample('verify, flood', verifyOp, { warmup: 0, iterations: PHASE_OPS, minTimeMs: PHASE_MS })
    const stats = await flood.stop()
    flood = undefined
    const refused = Object.entries(stats.refused).map(([code, n]) => `${code} ${n}`).join(', ')
    const flooded = summarize('verify, flood on every node', stormy,
      { note: `flood: ${stats.peerIds} peer ids, ${stats.answered} answered, refused: ${refused === '' ? 'none' : refused}` })
    compare(flooded, calm, { metric: 'p99', atMost: P99_RATIO_MAX })
    return [calm, flooded]
  } finally {
    await flood?.stop().catch(() => {})
    await client?.close().catch(() => {})
    await net?.stop().catch(() => {})
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printTable(await run(), 'admit-flood')
