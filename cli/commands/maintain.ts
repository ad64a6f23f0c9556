/**
 * `bioshard maintain`: keeps a tenant's templates alive. Each pass audits
 * every holder of every template listed in the tenant directory's
 * templates.txt, repairs a template whose live holders fell to the floor and
 * refreshes templates on a schedule (client/maintainer.ts drives the pass; the
 * client's audit, refresh, repair and roster do the work). It runs one pass
 * (--once) or a pass every --every until SIGINT/SIGTERM, finishing the pass
 * under way before it leaves the network, so a round is never cut off
 * between its shares and its manifest. With --metrics it serves each pass's
 * counters on /metrics (./maintain-metrics.ts) while it runs.
 *
 * Exit codes: 0 the last pass had no errors, 1 it had some, 2 usage,
 * 3 network unavailable.
 *
 * @module
 */
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { EXIT, UsageError, type Command, type CliIo } from '../io.ts'
import { parse, required, type Values } from '../args.ts'
import { CONNECT_FLAGS, CONNECT_OPTIONS, connectTenant } from './client-commands.ts'
import { readTemplates, TEMPLATES_FILE } from '../tenant-templates.ts'
import { Maintainer, summarisePass, type PassReport, type TemplateDecision } from '../../client/maintainer.ts'
import type { Client } from '../../client/client.ts'
import { fromHex } from '../../crypto/bytes.ts'
import { parseHostPort } from '../../node/config.ts'
import type { MaintainerMetrics } from './maintain-metrics.ts'
import type { MetricsServer } from '../../node/metrics/server.ts'

/** Time between passes unless --every says otherwise: audits are cheap, and an hour keeps a lost holder from lingering for long. */
const DEFAULT_EVERY_MS = 60 * 60 * 1000
/** The longest wait setTimeout can make (a signed 32-bit count of ms); a longer --every would fire at once. */
const MAX_EVERY_MS = 2 ** 31 - 1
/** The longest --refresh-every taken: a year, past which a refresh schedule is no schedule. */
const MAX_REFRESH_EVERY_MS = 365 * 24 * 60 * 60 * 1000
/**
 * Before the first pass the client's roster may still be filling in (it
 * is pulled from the peers it meets), and a holder it does not know yet
 * would count as not admitted: wait until the roster's size holds still for
 * one poll of this interval, at most {@link SETTLE_MAX_MS}.
 */
const SETTLE_POLL_MS = 500
/** The longest wait for the roster to settle: past it, the pass runs on what is known (a transient loss only costs one repair). */
const SETTLE_MAX_MS = 5_000
/** Milliseconds per duration unit. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^([1-9][0-9]{0,9})(ms|s|m|h|d)$/

const HELP = `Usage: bioshard maintain --tenant <dir> --bootstrap <addr> [--once] [--every 1h] [--refresh-every <duration>] [--floor-gap 1]
                        [--metrics <host:port>]

Audits every holder of every template in <dir>/${TEMPLATES_FILE} (which bioshard enroll
writes), repairs a template that lost holders and refreshes templates on a schedule; prints
one summary line per pass and one line per repaired or refreshed template. Runs until
SIGINT/SIGTERM, or one pass with --once. Exit 0 when the last pass had no errors, 1 otherwise.

${CONNECT_OPTIONS}  --once                run one pass and exit
  --every <duration>    time between passes (default 1h); a duration is a whole number
                        and a unit: ms, s, m, h or d (10m, 6h, 1d)
  --refresh-every <d>   refresh each template this often (default: never)
  --floor-gap <k>       repair when live holders fall to n − k or fewer (default 1: any loss)
  --metrics <host:port> serve /metrics (every pass's counters) and /healthz while running
  -h, --help            show this help
`

const OPTIONS = {
  ...CONNECT_FLAGS,
  once: { type: 'boolean' },
  every: { type: 'string' },
  'refresh-every': { type: 'string' },
  'floor-gap': { type: 'string' },
  metrics: { type: 'string' }
} as const

/**
 * A duration such as `10m`: a whole number without leading zeros and one
 * unit (ms, s, m, h, d), at most `maxMs`.
 *
 * @throws {UsageError} naming the option for anything else
 * @example parseDuration('10m', '--every', MAX_EVERY_MS) // 600000
 */
export function parseDuration (text: string, option: string, maxMs: number): number {
  const m = DURATION.exec(text)
  if (m === null) throw new UsageError(`${option} must be a whole number and a unit (ms, s, m, h or d), such as 10m; got '${text}'`)
  const ms = Number(m[1]) * UNIT_MS[m[2]]
  if (ms > maxMs) throw new UsageError(`${option} ${text} is longer than the ${Math.floor(maxMs / UNIT_MS.d)} days it may be`)
  return ms
}

/** The schedule and floor from the command line, checked before the network is joined. */
interface Plan { dir: string, once: boolean, everyMs: number, refreshEveryMs?: number, floorGap: number, metrics?: { host: string, port: number } }

/** A --metrics value, checked before anything starts. */
function metricsAddress (value: string): { host: string, port: number } {
  try {
    return parseHostPort(value, 'metrics')
  } catch {
    throw new UsageError(`--metrics must be host:port (such as 127.0.0.1:9466), got '${value}'`)
  }
}

function planOf (values: Values): Plan {
  const dir = resolve(required(values, 'tenant'))
  const once = values.once === true
  if (once && values.every !== undefined) throw new UsageError('--once and --every exclude each other')
  const everyMs = typeof values.every === 'string' ? parseDuration(values.every, '--every', MAX_EVERY_MS) : DEFAULT_EVERY_MS
  const refresh = values['refresh-every']
  const gap = values['floor-gap'] ?? '1'
  if (typeof gap !== 'string' || !/^[1-9][0-9]{0,2}$/.test(gap)) throw new UsageError('--floor-gap must be a whole number, 1 or more')
  return {
    dir,
    once,
    everyMs,
    floorGap: Number(gap),
    ...(typeof refresh === 'string' ? { refreshEveryMs: parseDuration(refresh, '--refresh-every', MAX_REFRESH_EVERY_MS) } : {}),
    ...(typeof values.metrics === 'string' ? { metrics: metricsAddress(values.metrics) } : {})
  }
}

function maintainerOf (client: Client, plan: Plan): Maintainer {
  return new Maintainer({
    templates: () => readTemplates(plan.dir).map((hex) => fromHex(hex, TEMPLATES_FILE)),
    audit: async (id) => await client.audit(id),
    standing: (peer) => client.standing(peer),
    refresh: async (id) => await client.refresh(id),
    repair: async (id, o) => await client.repair(id, o),
    floorGap: plan.floorGap,
    ...(plan.refreshEveryMs !== undefined ? { refreshEveryMs: plan.refreshEveryMs } : {})
  })
}

/** One line for a template the pass acted on or failed on; undefined when it only audited. */
function decisionLine (d: TemplateDecision): string | undefined {
  if (d.error !== undefined) return `error ${d.templateId}: ${d.error} (live ${d.live} of ${d.n})`
  const r = d.report
  if (r === undefined) return undefined
  if (r.action === 'refresh') return `refresh ${d.templateId}: seq ${r.seq} · bytes ${r.bytes}`
  const lost = d.lost.map((l) => `${l.holder} (${l.reason})`).join(', ')
  const replaced = r.replaced.map((x) => `${x.from} → ${x.to}`).join(', ')
  return `repair ${d.templateId}: seq ${r.seq} · lost ${lost} · replaced ${replaced} · bytes ${r.bytes}`
}

function print (io: CliIo, r: PassReport): void {
  for (const d of r.templates) {
    const line = decisionLine(d)
    if (line !== undefined) (d.error !== undefined ? io.stderr : io.stdout)(`${line}\n`)
  }
  io.stdout(`${new Date().toISOString()} ${summarisePass(r)}\n`)
}

/** Wait `ms`, or less when the stop signal comes. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal })
  } catch (e) {
    if (!signal.aborted) throw e
  }
}

/** Wait for the client's roster to stop growing (see {@link SETTLE_POLL_MS}). */
async function settle (client: Client, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS
  let size = client.roster().length
  while (Date.now() < deadline && !signal.aborted) {
    await pause(SETTLE_POLL_MS, signal)
    const now = client.roster().length
    if (now === size) return
    size = now
  }
}

/** Passes until --once is done or the stop signal comes; the last pass's report. Each pass is counted in `metrics` when served. */
async function loop (maintainer: Maintainer, plan: Plan, io: CliIo, metrics?: MaintainerMetrics): Promise<PassReport> {
  for (;;) {
    const r = await maintainer.pass()
    metrics?.record(r, Date.now())
    print(io, r)
    if (plan.once || io.stopSignal.aborted) return r
    await pause(plan.everyMs, io.stopSignal)
    if (io.stopSignal.aborted) return r
  }
}

/** Start the --metrics endpoint (prom-client is loaded only then) and print its address. */
async function serveMetrics (addr: NonNullable<Plan['metrics']>, io: CliIo): Promise<{ metrics: MaintainerMetrics, server: MetricsServer }> {
  const { MaintainerMetrics, serveMaintainerMetrics } = await import('./maintain-metrics.ts')
  const metrics = new MaintainerMetrics()
  const server = await serveMaintainerMetrics(addr, metrics)
  io.stdout(`metrics ${server.url}/metrics\n`)
  return { metrics, server }
}

async function run (argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS, { positionals: false })
  if (values.help === true) { io.stdout(HELP); return EXIT.OK }
  const plan = planOf(values)
  readTemplates(plan.dir) // a corrupt list is refused before the network is joined
  // Bound before the network is joined, so a port in use is a one-line error (exit 2) and not a pass run unwatched.
  const served = plan.metrics !== undefined ? await serveMetrics(plan.metrics, io) : undefined
  try {
    const client = await connectTenant('maintain', values, io)
    if (client === undefined) return EXIT.UNAVAILABLE
    try {
      await settle(client, io.stopSignal)
      const last = await loop(maintainerOf(client, plan), plan, io, served?.metrics)
      return last.errors === 0 ? EXIT.OK : EXIT.FAILURE
    } finally {
      await client.close()
    }
  } finally {
    await served?.server.close()
  }
}

export const command: Command = {
  name: 'maintain',
  summary: 'audit, repair and refresh a tenant\'s templates, once or on a schedule',
  run
}
