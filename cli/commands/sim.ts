/**
 * `bioshard sim`: run a scenario on a network of real nodes and write its
 * result (result.json), a self-contained report (report.html) and a compact
 * picture (overview.svg). The seed is printed before anything runs and in
 * every failure message, so any run can be replayed; the exit code is 1
 * when an invariant fails. The run loop and the scenarios come in as a
 * dependency (sim-runner.ts), so the command can be tested on its own.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse, type Values } from '../args.ts'
import { freshSeed, MAX_SEED } from '../../sim/rng.ts'
import { renderChartSvg, renderReport } from '../../sim/report.ts'
import { replayCommand } from '../../sim/report-replay.ts'
import type { Scenario, SimParams, SimResult } from '../../sim/types.ts'
import { progressDisplay } from './sim-progress.ts'
import { runSimulation, scenarioSource, type Runner, type ScenarioSource } from './sim-runner.ts'

const HELP = `Usage: bioshard sim --scenario <name|file.json> [options] [--out <dir>]
       bioshard sim --list

Run a scenario on a network of real nodes, one simulated hour per step,
with its faults scheduled from one seed: the same seed and parameters give
the same counts. Writes result.json, report.html and overview.svg into
--out, prints a summary, and exits 1 if an invariant fails.

Options:
  --scenario <name|file>  a built-in scenario (see --list) or a scenario JSON file
  --list                  describe every built-in scenario and exit
  --nodes <N>             nodes in the network
  --sites <S>             sites the nodes belong to
  --templates <K>         templates enrolled
  --t <T>                 shares needed to reconstruct a template
  --n <N>                 shares per template
  --hours <H>             simulated hours (one step each)
  --probes <P>            verifications tried per simulated hour
  --seed <X>              the run's seed, 0 to ${MAX_SEED} (default: a fresh one, printed)
  --transport <kind>      memory | tcp (in-process nodes); process (one OS process per node) is not supported yet
  --threads <K>           spread the nodes over K worker threads (node i in thread i mod K; needs --transport tcp;
                          default 2 from 100 nodes over tcp on a machine with 2 cores or more, else 1)
  --maintain <hours>      run the tenant's maintainer (possession audits, repairs) every <hours> simulated hours (default off)
  --out <dir>             where the files go (default reports/sim)
  -h, --help              show this help

Flags override the scenario's defaults.
`

const OPTIONS = {
  scenario: { type: 'string' },
  list: { type: 'boolean' },
  nodes: { type: 'string' },
  sites: { type: 'string' },
  templates: { type: 'string' },
  t: { type: 'string' },
  n: { type: 'string' },
  hours: { type: 'string' },
  probes: { type: 'string' },
  seed: { type: 'string' },
  transport: { type: 'string' },
  threads: { type: 'string' },
  maintain: { type: 'string' },
  out: { type: 'string' }
} as const

/** Parameters a scenario leaves open: a small network of four sites, shares 3 of 5. */
const BASE: Omit<SimParams, 'seed'> = {
  nodes: 12, sites: 4, templates: 20, t: 3, n: 5, hours: 24, transport: 'tcp', probesPerHour: 10, coalitions: []
}

/** Ranges of the numeric flags (n at most 255: Shamir shares over GF(256) have distinct non-zero x). */
const RANGES: Record<string, { min: number, max: number, key: keyof SimParams }> = {
  nodes: { min: 1, max: 10_000, key: 'nodes' },
  sites: { min: 1, max: 10_000, key: 'sites' },
  templates: { min: 1, max: 1_000_000, key: 'templates' },
  t: { min: 2, max: 255, key: 't' },
  n: { min: 2, max: 255, key: 'n' },
  hours: { min: 1, max: 100_000, key: 'hours' },
  probes: { min: 0, max: 1_000_000, key: 'probesPerHour' },
  maintain: { min: 0, max: 100_000, key: 'maintainEvery' },
  // More threads than a machine's cores only adds switching; 64 is far above any machine this runs on.
  threads: { min: 1, max: 64, key: 'threads' },
  seed: { min: 0, max: MAX_SEED, key: 'seed' }
}

const TRANSPORTS: ReadonlyArray<SimParams['transport']> = ['memory', 'tcp', 'process']

/** An integer flag in its range, or undefined when absent. */
function integerFlag (values: Values, name: string): number | undefined {
  const v = values[name]
  if (v === undefined) return undefined
  const { min, max } = RANGES[name]
  const n = Number(v)
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`)
  }
  return n
}

/** The flags given on the command line, checked one by one. */
function flagParams (values: Values): Partial<SimParams> {
  const out: Partial<Record<keyof SimParams, unknown>> = {}
  for (const name of Object.keys(RANGES)) {
    const n = integerFlag(values, name)
    if (n !== undefined) out[RANGES[name].key] = n
  }
  const transport = values.transport
  if (transport !== undefined) {
    if (!TRANSPORTS.includes(transport as SimParams['transport'])) {
      throw new UsageError(`--transport must be one of ${TRANSPORTS.join(', ')}, got '${String(transport)}'`)
    }
    out.transport = transport
  }
  return out as Partial<SimParams>
}

/** From this many nodes over tcp, a run without `--threads` spreads its nodes over two threads. */
export const AUTO_THREADS_NODES = 100

/**
 * Threads for a run that names none: two (or the machine's cores, if fewer)
 * for a network of {@link AUTO_THREADS_NODES} nodes or more over tcp, where
 * one event loop carrying every node is the bound (200 nodes enrol more than
 * twice as fast in two); one below that, where a second thread only adds
 * memory, and over memory channels, which do not cross threads. Counts do
 * not depend on it (the same seed gives the same counts in any layout).
 */
export function defaultThreads (p: Pick<SimParams, 'nodes' | 'transport'>, cores = availableParallelism()): number {
  return p.transport === 'tcp' && p.nodes >= AUTO_THREADS_NODES ? Math.max(1, Math.min(2, cores)) : 1
}

/**
 * The run's parameters: flags over the scenario's defaults over BASE, with a
 * fresh seed when none was given; checked as a whole (t ≤ n ≤ nodes, sites ≤ nodes).
 *
 * @param flags - checked flag values
 * @param scenario - the scenario run
 * @param seed - draws a seed when the flags hold none
 * @returns the parameters
 * @throws {UsageError} when the combination cannot run
 */
export function resolveParams (flags: Partial<SimParams>, scenario: Scenario, seed: () => number): SimParams {
  const p: SimParams = { ...BASE, ...scenario.defaults, ...flags, seed: flags.seed ?? seed() }
  p.threads ??= defaultThreads(p)
  if (p.t > p.n) throw new UsageError(`t (${p.t}) must not exceed n (${p.n})`)
  if (p.n > p.nodes) throw new UsageError(`n (${p.n}) must not exceed the number of nodes (${p.nodes})`)
  if (p.sites > p.nodes) throw new UsageError(`sites (${p.sites}) must not exceed the number of nodes (${p.nodes})`)
  if ((p.threads ?? 1) > 1 && p.transport !== 'tcp') {
    throw new UsageError(`--threads ${p.threads} needs --transport tcp (memory channels do not cross threads), got '${p.transport}'`)
  }
  return p
}

/** `--list`: every built-in scenario with what it shows, the invariant it checks and its defaults. */
export function listScenarios (scenarios: Record<string, Scenario>): string {
  return Object.entries(scenarios).map(([name, s]) => {
    const defaults = Object.entries(s.defaults).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')
    return `${name}\n  ${s.summary}\n  invariant: ${s.invariant}\n  defaults:  ${defaults === '' ? 'none' : defaults}\n`
  }).join('\n')
}

/** The one-screen summary of a run. */
export function summarise (r: SimResult, paths: { json: string, html: string, svg: string }): string {
  const p = r.params
  const c = r.counts
  const lines = [
    `scenario    ${r.scenario}, seed ${p.seed}`,
    `network     ${p.nodes} nodes, ${p.sites} sites, ${p.transport}, threads ${p.threads ?? 1}; ${p.templates} templates, t ${p.t} of n ${p.n}; ${p.hours} h`,
    `enrolled    ${c.enrolled} (${c.enrollFailed} failed)`,
    `verified    ${c.verified} of ${c.verifyAttempts} (${c.verifyFailed} failed)`,
    `lost        ${c.lost}; reconstructed by a coalition ${c.reconstructed}; erased ${c.erased} (${c.eraseIncomplete} incomplete)`,
    `exposure    at most ${r.exposure.maxPerNode} shares of one template on a node, ${r.exposure.maxPerSite} at a site (t ${p.t})`,
    `byzantine   ${c.byzantineNamed} holders named; ${r.faults.length} faults injected`,
    ...(c.repairs !== undefined ? [`maintained  every ${p.maintainEvery ?? 0} h: ${c.repairs} repairs, ${c.maintenanceBytes ?? 0} bytes of traffic`] : []),
    'invariants',
    ...r.invariants.map((i) => `  ${i.holds ? 'holds' : 'FAILS'}  ${i.name}: ${i.detail}`),
    `report      ${paths.html}`,
    `            ${paths.json}`,
    `            ${paths.svg}`,
    ''
  ]
  return lines.join('\n')
}

/** What the command depends on; tests pass their own. */
export interface SimDeps {
  runner: Runner
  scenarios: ScenarioSource
  /** Whether stderr is a terminal (a bar) or not (lines). */
  tty: boolean
  now: () => number
  seed: () => number
}

/** Run the scenario and write its files; returns the exit code. */
async function simulate (values: Values, io: CliIo, deps: SimDeps): Promise<number> {
  const name = values.scenario
  if (typeof name !== 'string' || name === '') throw new UsageError('--scenario <name|file.json> is required (bioshard sim --list shows the built-in ones)')
  const flags = flagParams(values)
  const scenario = await deps.scenarios.load(name)
  const params = resolveParams(flags, scenario, deps.seed)
  const outArg = typeof values.out === 'string' ? values.out : join('reports', 'sim')
  const out = resolve(outArg)
  await mkdir(out, { recursive: true })
  const replay = `replay with --seed ${params.seed}`
  io.stderr(`bioshard sim: ${scenario.name}, seed ${params.seed} (${replay})\n`)
  const display = progressDisplay({ write: io.stderr, tty: deps.tty, now: deps.now })
  let result: SimResult
  try {
    result = await deps.runner({ scenario, params, onProgress: display.update, signal: io.stopSignal })
  } catch (e) {
    display.end()
    const what = io.stopSignal.aborted ? 'stopped' : 'run failed'
    io.stderr(`bioshard sim: ${what}, seed ${params.seed} (${replay})\n`)
    if (io.stopSignal.aborted) return EXIT.FAILURE
    throw e
  }
  display.end()
  const paths = { json: join(out, 'result.json'), html: join(out, 'report.html'), svg: join(out, 'overview.svg') }
  await writeFile(paths.json, JSON.stringify(result, null, 1) + '\n')
  await writeFile(paths.html, renderReport(result, { scenario: name, out: outArg }))
  await writeFile(paths.svg, renderChartSvg(result, 'overview'))
  io.stdout(summarise(result, paths))
  const failed = result.invariants.filter((i) => !i.holds)
  for (const i of failed) io.stderr(`bioshard sim: invariant fails: ${i.name}: ${i.detail} (${replay})\n`)
  if (failed.length > 0) io.stderr(`bioshard sim: replay: ${replayCommand(result, { scenario: name, out: outArg })}\n`)
  return failed.length === 0 ? EXIT.OK : EXIT.FAILURE
}

/**
 * The `sim` command with its dependencies.
 *
 * @param deps - run loop, scenarios, terminal, clock and seed source (each defaults to the real one)
 * @returns the command
 * @example await createSimCommand({ runner: fakeRunner }).run(['--scenario', 'baseline', '--seed', '1'], io)
 */
export function createSimCommand (deps: Partial<SimDeps> = {}): Command {
  const all: SimDeps = {
    runner: runSimulation, scenarios: scenarioSource, tty: process.stderr.isTTY === true, now: Date.now, seed: freshSeed, ...deps
  }
  return {
    name: 'sim',
    summary: 'run a seeded scenario on a network of real nodes (JSON + HTML report)',
    async run (argv: string[], io: CliIo): Promise<number> {
      const { values } = parse(argv, OPTIONS, { positionals: false })
      if (values.help === true) {
        io.stdout(HELP)
        return EXIT.OK
      }
      if (values.list === true) {
        io.stdout(listScenarios(await all.scenarios.all()))
        return EXIT.OK
      }
      return await simulate(values, io, all)
    }
  }
}

/** `bioshard sim`, on the real engine and scenarios. */
export const command: Command = createSimCommand()
