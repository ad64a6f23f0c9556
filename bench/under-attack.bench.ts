/**
 * Whether abuse by admitted peers slows a good verifier down: its verify
 * latency without attack, then beside each attack (a replay storm, a stream
 * flood, slow senders, a flood of requests dated outside the freshness
 * window), in one run. Each attack runs in its own process at the lowest
 * scheduling priority (an attacker works from its own machines) and is timed
 * against only after it has run a while, so the nodes' reaction to it
 * (refusals, bans, read deadlines) is part of what is measured. While it
 * runs, verifications are timed in short rounds with the attacker paused
 * (SIGSTOP: no traffic, its connections left open) and going, in turn, so a
 * busy phase of a shared machine slows both alike, and each goal
 * ({@link P99_RATIO_MAX}) is the ratio of the two. Each attack row notes
 * what the attacker got.
 *
 * Run alone: `node bench/under-attack.bench.ts [--attacker-priority normal]`
 * (prints a table). At normal priority the attackers compete with the nodes
 * for the CPU as an attacker with a machine of its own would not have to;
 * the lowest priority (the default) may instead starve them on a busy machine.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ProcessNetwork } from '../sim/process-network.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../sim/synthetic.ts'
import { createClient, type Client } from '../client/client.ts'
import { toHex } from '../crypto/bytes.ts'
import { spawnAttacker, type AttackerProcess, type AttackKind, type AttackPlan, type AttackStats } from '../test/helpers/attack.ts'
import { sample, summarize, compare, inTurn, progress, printTable, type BenchResult } from './harness.ts'

/** The size of one run, its phases and its warm-up. */
export interface UnderAttackParams {
  /** Node processes, one site each. */
  nodes: number
  /** Threshold and shares of the good client's templates. */
  t: number
  n: number
  /** Templates the good client enrols and verifies in turn. */
  templates: number
  /** Untimed verifications before the baseline. */
  warmupOps: number
  /** Timed verifications of the no-attack baseline, at least, for at least `phaseMs`. */
  phaseOps: number
  phaseMs: number
  /** How long each attack runs before verifications are timed beside it. */
  leadMs: number
  /** Rounds with the attacker paused and going, each (in turn) at least `roundOps` verifications for at least `roundMs`. */
  rounds: number
  roundOps: number
  roundMs: number
  /** Pause after an attacker is paused or let go again, so a round starts in the state it measures; and after an attack stops. */
  settleMs: number
  /** Seed of the synthetic templates and probes. */
  seed: number
  /** The attacks, in order. */
  attacks: AttackKind[]
  /** Run the attacker processes at the lowest scheduling priority. */
  niceAttackers: boolean
}

/** The full run (`npm run bench -- under-attack`): four nodes as admit-flood, a baseline of at least 300 verifications and 15 s. */
export const FULL_RUN: UnderAttackParams = {
  nodes: 4,
  t: 2,
  n: 3,
  templates: 4,
  // verify reaches its steady speed after about 1,000 operations (docs/performance.md)
  warmupOps: 1_000,
  phaseOps: 300,
  phaseMs: 15_000,
  // one of the nodes' read deadlines (5 s): silent and trickling streams have been ended and opened again before timing starts
  leadMs: 5_000,
  // 2 × 6 rounds of 2.5 s: each attack row pools at least 300 verifications over 15 s, as the baseline; a paused
  // attacker's requests stay within their 5 s deadline (net/rpc.ts callers), so its identities are not lost to the pause
  rounds: 6,
  roundOps: 50,
  roundMs: 2_500,
  // in-flight requests answered, trickles and floods back to their pace
  settleMs: 300,
  seed: 17,
  attacks: ['replay', 'streams', 'slow', 'skew'],
  niceAttackers: true
}

/** Goal: p99 under each attack at most this multiple of p99 with the attacker paused (as admit-flood's, against no flood). */
export const P99_RATIO_MAX = 2
/** How long an attack may take to get going (its process started, its identities admitted) before the run fails. */
const ATTACK_START_MS = 60_000
/** The last byte of the first attacker's loopback address (127.0.0.1 is the nodes' and the good client's). */
const FIRST_SOURCE = 10

const MODEL = 'synthetic-128'
const DIM = 128
const PURPOSE = 'login'
/** A policy rate the limiter never reaches: the good client's rate limit is not what is measured. */
const RATE_PER_MINUTE = 1_000_000

/** The row name of each attack. */
const ATTACK_NAMES: Record<AttackKind, string> = {
  replay: 'replay storm',
  streams: 'stream flood',
  slow: 'slow senders',
  skew: 'skewed-clock flood'
}

/** One run's rows, and what each attack got. */
export interface UnderAttackRun {
  results: BenchResult[]
  attacks: Partial<Record<AttackKind, AttackStats>>
}

/** What an attacker got, for a row's note: identities used, requests served, refusals by code, streams let open. */
export function describeAttack (s: AttackStats): string {
  const refused = Object.entries(s.refused).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n.toLocaleString('en-US')}`).join(', ')
  return `attacker: ${s.peerIds} peer ids, served ${s.served}, refused ${refused === '' ? 'none' : refused}` +
    (s.opened > 0 ? `, ${s.opened.toLocaleString('en-US')} streams opened` : '')
}

type VerifyOp = (i: number) => Promise<void>

/** Enrol the good client's templates and return one verification of them (the i-th verifies template i mod templates). */
async function goodVerifier (client: Client, p: UnderAttackParams): Promise<VerifyOp> {
  const rand = prng(p.seed)
  const policy = { purposes: [PURPOSE], ratePerMinute: RATE_PER_MINUTE, burst: RATE_PER_MINUTE }
  const identities: Array<{ templateId: Uint8Array, probe: Float32Array }> = []
  for (let i = 0; i < p.templates; i++) {
    const id = syntheticIdentity(DIM, rand)
    const r = await client.enroll({ template: id.slice(), modality: 'face', model: MODEL, t: p.t, n: p.n, policy })
    identities.push({ templateId: r.templateId, probe: syntheticProbe(id, rand, 1) })
  }
  return async (i) => {
    const who = identities[i % identities.length]
    const r = await client.verify({ templateId: who.templateId, probe: who.probe.slice(), purpose: PURPOSE })
    if (!r.accept) throw new Error('a genuine probe was rejected')
  }
}

/**
 * The plan of one attack on every node of `net`, by a tenant of its own,
 * from `source`: each attack comes from a loopback address of its own, as
 * from a machine of its own, so what the nodes remember of one attacker's
 * address (its admissions a minute, a ban) does not blunt the next attack.
 */
function planFor (net: ProcessNetwork, kind: AttackKind, source: string): AttackPlan {
  const tenant = net.tenant(`attacker-${kind}`)
  const plan: AttackPlan = {
    kind,
    source,
    targets: net.nodes.map((n) => ({ addr: n.addr as string, peer: n.peer, site: n.site })),
    network: net.info.network,
    authority: toHex(net.info.publicKey),
    tenant: { seed: toHex(tenant.seed), cert: toHex(tenant.bytes) }
  }
  tenant.seed.fill(0)
  return plan
}

/** Whether an attack has reached its steady abuse: a refusal of what it sends, or a stream the nodes let open. */
function gotGoing (kind: AttackKind, s: AttackStats): boolean {
  return kind === 'streams' || kind === 'slow' ? s.opened > 0 : Object.keys(s.refused).length > 0
}

/** Verifications timed beside one attack: with the attacker paused, and going. */
interface Beside { paused: number[], going: number[], stats: AttackStats }

/**
 * Verifications timed beside `attacker` running `plan`, once it has got going
 * and run for `leadMs`: rounds with it paused and going, in turn.
 */
async function besideAttack (
  attacker: AttackerProcess,
  plan: AttackPlan,
  verify: VerifyOp,
  p: UnderAttackParams
): Promise<Beside> {
  const name = ATTACK_NAMES[plan.kind]
  const settle = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, p.settleMs)) }
  try {
    attacker.start(plan)
    const deadline = Date.now() + ATTACK_START_MS
    while (!gotGoing(plan.kind, attacker.progress())) {
      if (!attacker.running()) throw new Error(`the ${name} stopped before it got going`)
      if (Date.now() > deadline) throw new Error(`the ${name} did not get going within ${ATTACK_START_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await new Promise((resolve) => setTimeout(resolve, p.leadMs))
    progress(`under-attack: verify beside the ${name}, ${p.rounds} rounds paused and going`)
    const round = { warmup: 0, iterations: p.roundOps, minTimeMs: p.roundMs }
    const beside: Beside = { paused: [], going: [], stats: attacker.progress() }
    for (let r = 0; r < p.rounds; r++) {
      await inTurn(r, async () => {
        attacker.pause()
        await settle()
        beside.paused.push(...await sample(`verify, ${name} paused`, verify, round))
        attacker.resume()
        await settle()
      }, async () => {
        beside.going.push(...await sample(`verify, ${name}`, verify, round))
      })
    }
    beside.stats = await attacker.stop()
    return beside
  } finally {
    await attacker.stop()
    await settle()
  }
}

/**
 * Run the phases: the good client's verifications without attack, then
 * beside each attack in turn, each attack's p99 compared with its paused rounds'.
 *
 * Setup: `ProcessNetwork` with `nodes` nodes at as many sites, each
 * `bioshard node start` in its own process; the verifier library
 * (`createClient`, with its enclave child) in this process, verifying
 * synthetic templates one after another. Each attack (test/helpers/attack.ts)
 * is made by a tenant of its own against every node, from a child process at
 * the lowest priority.
 *
 * @param params - the run's size; {@link FULL_RUN} where not given
 * @returns the rows (baseline first) and each attack's stats
 */
export async function measureUnderAttack (params: Partial<UnderAttackParams> = {}): Promise<UnderAttackRun> {
  const p = { ...FULL_RUN, ...params }
  const scratch = mkdtempSync(join(tmpdir(), 'bioshard-bench-under-attack-'))
  let attackers: AttackerProcess[] = []
  let net: ProcessNetwork | undefined
  let client: Client | undefined
  try {
    progress(`under-attack: starting ${p.nodes} node processes`)
    net = await ProcessNetwork.start({ nodes: p.nodes, sites: p.nodes, dir: join(scratch, 'net'), onProgress: (m) => { progress(`  ${m}`) } })
    // Every attacker process starts now and loads its code while the good client enrols and warms up: nothing is timed yet.
    attackers = p.attacks.map(() => spawnAttacker({ nice: p.niceAttackers }))
    const tenant = net.tenant('good-tenant')
    client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
    const verify = await goodVerifier(client, p)
    progress('under-attack: warming up')
    await sample('warmup verify', verify, { warmup: 0, iterations: p.warmupOps })
    progress('under-attack: verify without attack')
    const calm = summarize('verify, no attack', await sample('verify, no attack', verify, { warmup: 0, iterations: p.phaseOps, minTimeMs: p.phaseMs }),
      { note: `${p.nodes} node processes, t=${p.t} n=${p.n}${p.niceAttackers ? '' : '; attackers at normal priority'}` })
    const results = [calm]
    const attacks: UnderAttackRun['attacks'] = {}
    for (const [i, kind] of p.attacks.entries()) {
      progress(`under-attack: starting the ${ATTACK_NAMES[kind]} on every node`)
      const beside = await besideAttack(attackers[i], planFor(net, kind, `127.0.0.${FIRST_SOURCE + i}`), verify, p)
      const paused = summarize(`verify, ${ATTACK_NAMES[kind]} paused`, beside.paused, { note: 'attacker connected, frozen' })
      const row = summarize(`verify, ${ATTACK_NAMES[kind]}`, beside.going, { note: describeAttack(beside.stats) })
      compare(row, paused, { metric: 'p99', atMost: P99_RATIO_MAX })
      results.push(paused, row)
      attacks[kind] = beside.stats
    }
    return { results, attacks }
  } finally {
    await Promise.all(attackers.map(async (a) => await a.stop()))
    await client?.close().catch(() => {})
    await net?.stop().catch(() => {})
    rmSync(scratch, { recursive: true, force: true })
  }
}

/**
 * Run the under-attack benchmark at full size.
 *
 * @param params - changes to {@link FULL_RUN} (the runner gives none)
 * @returns verify without attack and under each attack, each attack row with its p99 ratio, goal verdict and what the attacker got
 * @example printTable(await run(), 'under-attack')
 */
export async function run (params: Partial<UnderAttackParams> = {}): Promise<BenchResult[]> {
  return (await measureUnderAttack(params)).results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { 'attacker-priority': { type: 'string', default: 'lowest' } } })
  const priority = values['attacker-priority']
  if (priority !== 'lowest' && priority !== 'normal') throw new RangeError(`--attacker-priority must be lowest or normal, got ${priority}`)
  printTable(await run({ niceAttackers: priority === 'lowest' }), 'under-attack')
}
