/**
 * The simulator's run loop. One seed drives every choice: node identities,
 * the fault schedule, template ids and embeddings, which templates are
 * probed and erased. A run starts a network of real nodes, waits for their
 * rosters to converge, enrols the templates, then advances one step per
 * simulated hour — apply that hour's faults, let the network run briefly,
 * verify, measure the real state — and ends with the checks that confirm the
 * measures by trying. Counts come from state, never from timers, so the same
 * seed and parameters give the same counts; only timings differ.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { LocalNetwork } from './local-network.ts'
import { LocalFleet } from './fleet-local.ts'
import { ThreadedFleet } from './fleet-threads.ts'
import type { NodeFleet } from './fleet.ts'
import { FaultInjector } from './injector.ts'
import { Rng } from './rng.ts'
import { joinAsTenant, type SimTenant } from './tenant.ts'
import { enrolTemplates } from './enrolment.ts'
import { runProbes, latencyOf } from './probes.ts'
import { liveShareCounts, shareSummary } from './measure.ts'
import { eraseFraction, type ErasedCapture } from './erasure.ts'
import { peerIndex, liveTemplates, type World } from './world.ts'
import { finish, type Tally } from './finish.ts'
import { simMaintainer, maintainOnce } from './maintenance.ts'
import type { Maintainer } from '../client/maintainer.ts'
import { RECONCILE_OFF_MS } from '../node/reconcile.ts'
import type { FaultEvent, Scenario, SimParams, SimResult, StepRecord } from './types.ts'

/** What the CLI's progress bar is drawn from. */
export interface Progress { phase: 'start' | 'enroll' | 'step' | 'check', done: number, total: number, message?: string }

/** What {@link runSimulation} takes. */
export interface RunOptions {
  scenario: Scenario
  params: SimParams
  /** Parent directory of the node directories (a temp dir, removed afterwards, when absent). */
  dir?: string
  onProgress?: (p: Progress) => void
  /** Stops the run between steps (the run rejects with the signal's reason). */
  signal?: AbortSignal
  /** Told the network once it has started (tools and tests watch or disturb it). */
  onNetwork?: (net: NodeFleet) => void
}

/** How long the network runs after a step's faults before it is measured: reconnections after restarts settle. */
export const STEP_SETTLE_MS = 300
/** Roster convergence deadline: a base plus a little per node (admission gossip grows with the network). */
const CONVERGE_BASE_MS = 20_000
const CONVERGE_PER_NODE_MS = 300
/** How often the client's roster is polled while it fills. */
const POLL_MS = 50

/** The state of a run in progress. */
interface Run {
  world: World
  tenant: SimTenant
  rng: Rng
  faults: FaultEvent[]
  captured: ErasedCapture[]
  steps: StepRecord[]
  report: (p: Progress) => void
  /** The tenant's maintainer, when the run maintains its templates. */
  maintainer?: Maintainer
}

/** Wait until the tenant's roster lists every node. */
async function clientConverged (tenant: SimTenant, nodes: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (tenant.ctx.roster.size() < nodes) {
    if (Date.now() > deadline) throw new BioshardError('ERR_QUORUM_UNAVAILABLE', `the client's roster lists ${tenant.ctx.roster.size()} of ${nodes} nodes`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** Apply the faults scheduled for `hour` (erasures as the tenant); returns how many there were. */
async function applyFaults (run: Run, hour: number): Promise<number> {
  const events = run.faults.filter((e) => e.at === hour)
  for (const e of events) {
    if (e.kind === 'erase') run.captured.push(...await eraseFraction(run.world, run.tenant.ctx, run.rng.fork(`erase-${hour}`), e.fraction))
    else await run.world.injector.apply(e)
  }
  return events.length
}

/** Peers of the nodes that serve the client now. */
function servingPeers (world: World): string[] {
  return world.net.nodes.flatMap((n, i) => world.injector.isUp(i) && world.injector.reachableFromClient(i) ? [n.cert.body.peer] : [])
}

/** One simulated hour: faults, a pause until every serving node serves the tenant, probes, measures. */
async function step (run: Run, hour: number): Promise<StepRecord> {
  const { world } = run
  const faultsApplied = await applyFaults(run, hour)
  await new Promise((resolve) => setTimeout(resolve, STEP_SETTLE_MS))
  await run.tenant.ready(servingPeers(world))
  const every = world.params.maintainEvery ?? 0
  const maintenance = run.maintainer !== undefined && every > 0 && (hour + 1) % every === 0
    ? await maintainOnce(world, run.tenant.ctx, run.maintainer)
    : undefined
  const outcomes = await runProbes(run.tenant.ctx, liveTemplates(world), run.rng.fork(`probes-${hour}`), world.params.probesPerHour)
  const counts = await liveShareCounts(world)
  return {
    hour,
    nodesUp: world.net.nodes.filter((_, i) => world.injector.isUp(i)).length,
    faultsApplied,
    verify: {
      attempts: outcomes.length,
      accepted: outcomes.filter((o) => o.result === 'accepted').length,
      failed: outcomes.filter((o) => o.result === 'failed').length
    },
    latency: latencyOf(outcomes.filter((o) => o.result !== 'failed').map((o) => o.ms)),
    ...shareSummary(counts, world.params),
    ...(maintenance !== undefined ? { maintenance } : {})
  }
}

/** Repairs and maintenance traffic over the run, when it maintained its templates. */
function maintenanceTotals (params: SimParams, steps: StepRecord[]): { repairs?: number, maintenanceBytes?: number } {
  if ((params.maintainEvery ?? 0) <= 0) return {}
  const done = steps.flatMap((s) => s.maintenance !== undefined ? [s.maintenance] : [])
  return { repairs: done.reduce((a, m) => a + m.repairs, 0), maintenanceBytes: done.reduce((a, m) => a + m.bytes, 0) }
}

/** Start the nodes: in this thread, or spread over worker threads. */
async function startFleet (options: RunOptions, rng: Rng): Promise<NodeFleet> {
  const { params } = options
  const common = {
    nodes: params.nodes,
    sites: params.sites,
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    identitySeed: (i: number) => rng.fork(`node-${i}`).bytes(32),
    // Nodes reconcile their shares where the simulation says (restarts, repairs), not on the wall clock.
    reconcile: { delayMs: RECONCILE_OFF_MS, everyMs: RECONCILE_OFF_MS }
  }
  const threads = params.threads ?? 1
  if (threads > 1) return await ThreadedFleet.start({ ...common, threads, seed: params.seed })
  return new LocalFleet(await LocalNetwork.start({ ...common, transport: params.transport === 'memory' ? 'memory' : 'tcp' }))
}

/** What {@link start} hands over: the converged network, the tenant, and the start and convergence times (ms). */
interface Started { net: NodeFleet, tenant: SimTenant, ms: number[] }

/** Start the network and the tenant, converged. */
async function start (options: RunOptions, rng: Rng, report: (p: Progress) => void): Promise<Started> {
  const { params } = options
  const t0 = performance.now()
  const on = (params.threads ?? 1) > 1 ? ` in ${params.threads} threads` : ''
  report({ phase: 'start', done: 0, total: 2, message: `starting ${params.nodes} nodes at ${params.sites} sites${on} (seed ${params.seed})` })
  const net = await startFleet(options, rng)
  options.onNetwork?.(net)
  const t1 = performance.now()
  report({ phase: 'start', done: 1, total: 2, message: 'waiting for the rosters to converge' })
  let tenant: SimTenant | undefined
  try {
    const deadline = CONVERGE_BASE_MS + CONVERGE_PER_NODE_MS * params.nodes
    await Promise.race([net.failed, (async () => {
      await net.converged(deadline)
      tenant = await joinAsTenant(net)
      await clientConverged(tenant, params.nodes, deadline)
      const refusing = await tenant.ready(net.nodes.map((n) => n.cert.body.peer))
      if (refusing.length > 0) throw new BioshardError('ERR_QUORUM_UNAVAILABLE', `${refusing.length} node(s) never admitted the simulator's tenant`)
    })()])
  } catch (e) {
    await tenant?.close()
    await net.stop()
    throw e
  }
  report({ phase: 'start', done: 2, total: 2 })
  if (tenant === undefined) throw new BioshardError('ERR_INTERNAL', 'the simulator tenant did not join')
  return { net, tenant, ms: [t1 - t0, performance.now() - t1] }
}

/** Run the started network through enrolment, the steps and the checks. */
async function simulate (options: RunOptions, started: Started, run0: Pick<Run, 'rng' | 'faults' | 'report'>): Promise<SimResult> {
  const { params, scenario } = options
  const { net, tenant, ms } = started
  const { rng, report } = run0
  const enrolStart = performance.now()
  const enrolCpu = process.cpuUsage()
  report({ phase: 'enroll', done: 0, total: params.templates })
  const onDone = (done: number): void => { report({ phase: 'enroll', done, total: params.templates }) }
  const enrolment = await enrolTemplates(tenant.ctx, params, rng.fork('enrol'), { onDone, signal: options.signal })
  const enrollMs = performance.now() - enrolStart
  const enrolCpuUsed = process.cpuUsage(enrolCpu)
  const injector = new FaultInjector(net, { rng: rng.fork('injector') })
  const world: World = { net, injector, params, templates: enrolment.templates, indexOf: peerIndex(net) }
  const run: Run = { ...run0, world, tenant, captured: [], steps: [] }
  if ((params.maintainEvery ?? 0) > 0) run.maintainer = simMaintainer(world, tenant.ctx)
  const runStart = performance.now()
  for (let hour = 0; hour < params.hours; hour++) {
    options.signal?.throwIfAborted()
    run.steps.push(await step(run, hour))
    report({ phase: 'step', done: hour + 1, total: params.hours, message: `hour ${hour + 1} of ${params.hours}` })
  }
  const tally: Tally = { enrolled: enrolment.templates.length, enrollFailed: enrolment.failed, captured: run.captured }
  const end = await finish({ world, tenant, rng: rng.fork('checks'), steps: run.steps, report }, tally)
  return {
    version: 1,
    scenario: scenario.name,
    params,
    faults: run.faults,
    steps: run.steps,
    ...end,
    counts: { ...end.counts, ...maintenanceTotals(params, run.steps) },
    timings: {
      startMs: Math.round(ms[0]),
      convergeMs: Math.round(ms[1]),
      enrollMs: Math.round(enrollMs),
      enrollCpuMs: Math.round((enrolCpuUsed.user + enrolCpuUsed.system) / 1000),
      runMs: Math.round(performance.now() - runStart),
      rssMbPerNode: Math.round(process.memoryUsage().rss / 1_048_576 / params.nodes * 10) / 10,
      cpuPercent: 0
    }
  }
}

/**
 * Run one simulation. With `params.threads` above 1 the nodes run in that
 * many worker threads (over TCP); the tenant, the injector's decisions and
 * the measures stay on this thread.
 *
 * @throws {BioshardError} ERR_QUORUM_UNAVAILABLE when the network does not converge; ERR_CONFIG for a transport the run cannot use;
 *   {@link HostThreadError} when a node thread dies or hangs; the signal's reason when aborted
 * @example const result = await runSimulation({ scenario: SCENARIOS.churn, params })
 */
export async function runSimulation (options: RunOptions): Promise<SimResult> {
  const { params, scenario } = options
  if (params.transport === 'process') {
    throw new BioshardError('ERR_CONFIG', 'transport process is not supported by the simulator yet: use memory or tcp (docs/known-issues.md)')
  }
  if ((params.threads ?? 1) > 1 && params.transport !== 'tcp') {
    throw new BioshardError('ERR_CONFIG', `nodes in ${params.threads} threads reach each other over tcp only: use transport tcp`)
  }
  const report = options.onProgress ?? (() => {})
  const rng = new Rng(params.seed)
  const faults = scenario.schedule(params, rng.fork('schedule'))
  const cpu = process.cpuUsage()
  const began = performance.now()
  const started = await start(options, rng, report)
  try {
    // A node thread that dies ends the run at once with its error, whatever the run was waiting on.
    const result = await Promise.race([simulate(options, started, { rng, faults, report }), started.net.failed])
    const used = process.cpuUsage(cpu)
    result.timings.cpuPercent = Math.round((used.user + used.system) / 1000 / (performance.now() - began) * 1000) / 10
    return result
  } finally {
    await started.tenant.close()
    await started.net.stop()
  }
}
