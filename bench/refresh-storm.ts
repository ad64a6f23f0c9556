/**
 * Refresh storm (issue 17 "Fault injection on real nodes", DESIGN invariants
 * 3, 6 and 7): a network of real `bioshard node start` processes, one per
 * site, holds a few templates of one tenant; the tenant's maintainer runs
 * refresh (and now and then repair) rounds over them while one party of each
 * round is SIGKILLed at a seeded moment after the round opened, so kills
 * land in open, the steps, the commit and after. A repair round first takes
 * its lost holder down. A holder that missed a refresh's commit is repaired
 * at once, as the maintainer's error asks. Then the killed nodes' audit
 * chains are verified offline, they start again on their directories with
 * `--reconcile-now` and are waited on until that pass ends, and every
 * template is checked (bench/refresh-storm-checks.ts).
 *
 * Run: `npm run refresh-storm -- [--kills 100] [--seed N]` (exit 1 when a
 * template was lost, acknowledged state undone, a chain broke or a replaced
 * share's bytes stayed on disk). test/node/refresh-storm.test.ts runs a 2-kill slice.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Rng, freshSeed } from '../sim/rng.ts'
import { createClient, type Client, type MaintenanceReport } from '../client/client.ts'
import { syntheticIdentity, prng } from '../sim/synthetic.ts'
import { toHex } from '../crypto/bytes.ts'
import { NodeFleet } from '../test/helpers/node-fleet.ts'
import { HolderReader } from '../test/helpers/holder-reader.ts'
import { StormChecks, emptyTally, type StormTally, type Watched } from './refresh-storm-checks.ts'

/** What a storm is asked to do. */
export interface RefreshStormOptions {
  /** SIGKILLs delivered during rounds (the lost holders a repair takes down first are counted apart). */
  kills: number
  seed: number
  /** Templates enrolled. @default 3 */
  templates?: number
  /** Called with one line per kill. */
  onProgress?: (line: string) => void
}

/** What a storm found: `lost`, `undone`, `inconsistent`, `extra`, `leaked`, `chainBroken`, `rejected` and `unanswered` must be 0. */
export interface RefreshStormSummary extends StormTally {
  seed: number
  kills: number
  /** Lost holders taken down before a repair round. */
  downed: number
  rounds: { refresh: RoundCounts, repair: RoundCounts }
  /** Repairs of holders that missed a refresh's commit: done, and failed (the holder stays listed with its old share). */
  followUps: { done: number, failed: number }
}

/** How rounds of one kind ended, as the maintainer saw them. */
export interface RoundCounts { committed: number, partial: number, aborted: number }

/** Nodes, one per site: n holders and one spare site for repairs to move a share to. */
const NODES = 5
/** Threshold and share count of every template: a lost or stale holder still leaves t + 1 good shares. */
const T = 2
const N = 4
/** The kill lands this many ms (seeded, uniform) after the round opened: a round takes from a few hundred ms to seconds here. */
const KILL_WINDOW_MS = 2_500
/** Chance a round is a repair (of a holder taken down first) rather than a refresh. */
const REPAIR_CHANCE = 0.3
/** The synthetic embedding model of the enrolled templates. */
const MODEL = 'synthetic-128'

/** The outcome of one maintenance call: its report, or its error. */
interface Outcome { report?: MaintenanceReport, err?: Error }

async function outcome (call: Promise<MaintenanceReport>): Promise<Outcome> {
  try { return { report: await call } } catch (e) { return { err: e as Error } }
}

/** One storm over one fleet. */
class Storm {
  readonly #fleet: NodeFleet
  readonly #client: Client
  readonly #checks: StormChecks
  readonly #watched: Watched[]
  readonly #kills: Rng
  readonly #ops: Rng
  readonly summary: RefreshStormSummary

  constructor (init: { fleet: NodeFleet, client: Client, checks: StormChecks, watched: Watched[], seed: number }) {
    this.#fleet = init.fleet
    this.#client = init.client
    this.#checks = init.checks
    this.#watched = init.watched
    const rng = new Rng(init.seed)
    this.#kills = rng.fork('kills')
    this.#ops = rng.fork('ops')
    const counts = (): RoundCounts => ({ committed: 0, partial: 0, aborted: 0 })
    this.summary = { seed: init.seed, kills: 0, downed: 0, rounds: { refresh: counts(), repair: counts() }, followUps: { done: 0, failed: 0 }, ...emptyTally() }
  }

  #index (peer: string): number { return this.#fleet.nodes.findIndex((n) => n.peer === peer) }

  /** One round on a seeded template with a seeded party killed at a seeded moment; returns the nodes now down. */
  async #round (): Promise<{ down: number[], label: string }> {
    const w = this.#ops.pick(this.#watched)
    const before = await this.#client.manifest(w.id)
    const holders = before.body.shares.map((s) => s.holder)
    const repair = this.#ops.chance(REPAIR_CHANCE)
    const down: number[] = []
    let lost: string | undefined
    if (repair) {
      lost = this.#ops.pick(holders)
      down.push(this.#index(lost))
      await this.#checks.killed(down[0], await this.#fleet.kill(down[0]))
      this.summary.downed++
    }
    const parties = repair ? this.#fleet.nodes.map((n) => n.peer).filter((p) => p !== lost) : holders
    const victim = this.#index(this.#kills.pick(parties))
    const at = this.#kills.int(0, KILL_WINDOW_MS)
    const call = outcome(repair ? this.#client.repair(w.id, { lost: [lost as string] }) : this.#client.refresh(w.id))
    // The kill's moment is the storm's seeded input, not a wait for anything.
    await new Promise((resolve) => setTimeout(resolve, at))
    await this.#checks.killed(victim, await this.#fleet.kill(victim))
    down.push(victim)
    this.summary.kills++
    const label = await this.#settle(w, { before: before.body.seq, repair, ...await call, down })
    const what = `${repair ? 'repair' : 'refresh'} of ${toHex(w.id).slice(0, 8)}`
    return { down: [...new Set(down)], label: `${what}, node ${victim + 1} killed at ${at} ms: ${label}` }
  }

  /**
   * Count the round as the maintainer saw it; repair at once a holder that missed a refresh's commit. A holder took the commit
   * when the call returned without naming it behind (a repair's observer that did not join), or failed without naming it.
   */
  async #settle (w: Watched, r: Outcome & { before: number, repair: boolean, down: number[] }): Promise<string> {
    const after = await this.#client.manifest(w.id)
    const counts = r.repair ? this.summary.rounds.repair : this.summary.rounds.refresh
    if (after.body.seq === r.before) {
      counts.aborted++
      return `aborted (${r.err?.message ?? 'no error'})`
    }
    const listed = after.body.shares.map((s) => s.holder)
    const missed = r.err === undefined ? (r.report?.behind ?? []) : listed.filter((p) => r.err?.message.includes(p) === true)
    this.#checks.committed(w, after, listed.filter((p) => !missed.includes(p)))
    if (missed.length === 0) { counts.committed++; return `committed seq ${after.body.seq}` }
    counts.partial++
    if (r.repair) return `committed seq ${after.body.seq}, ${missed.length} party(ies) missed the commit (same share: reconciliation adopts it)`
    // Each node is looked at once per stop: the round's victim is down (and was looked at) already.
    for (const i of missed.map((p) => this.#index(p)).filter((i) => !r.down.includes(i))) {
      r.down.push(i)
      await this.#checks.killed(i, await this.#fleet.kill(i))
    }
    const fixed = await outcome(this.#client.repair(w.id, { lost: missed }))
    const now = await this.#client.manifest(w.id)
    const behind = fixed.err === undefined ? (fixed.report?.behind ?? []) : now.body.shares.map((s) => s.holder).filter((p) => fixed.err?.message.includes(p))
    if (now.body.seq > after.body.seq) this.#checks.committed(w, now, now.body.shares.map((s) => s.holder).filter((p) => !behind.includes(p)))
    if (fixed.err === undefined) this.summary.followUps.done++
    else this.summary.followUps.failed++
    const late = behind.length > 0 ? `, ${behind.length} holder(s) behind` : ''
    const then = fixed.err === undefined ? `seq ${now.body.seq}${late}` : `failed: ${fixed.err.message}`
    return `committed seq ${after.body.seq} without ${missed.length} holder(s); follow-up repair ${then}`
  }

  /** `kills` rounds, each followed by the restarts and the checks. */
  async run (kills: number, onProgress: (line: string) => void): Promise<RefreshStormSummary> {
    let reported = 0
    for (let i = 0; i < kills; i++) {
      const { down, label } = await this.#round()
      const tallies: string[] = []
      for (const d of down) tallies.push(`node ${d + 1} ${(await this.#fleet.start(d, { reconcile: true }) ?? '').replace(/, \w+ 0/g, '')}`)
      await this.#checks.all(this.#watched)
      const s = this.#checks.tally
      for (const p of s.problems.slice(reported)) onProgress(`  problem: ${p}`)
      reported = s.problems.length
      onProgress(`kill ${i + 1}/${kills}: ${label}; ${tallies.join('; ')}; lost ${s.lost}, undone ${s.undone}, inconsistent ${s.inconsistent}, ` +
        `extra ${s.extra}, leaked ${s.leaked}, chain ${s.chainBroken === 0 ? 'ok' : 'BROKEN'}`)
    }
    return { ...this.summary, ...this.#checks.tally }
  }
}

/** Enrol `count` synthetic templates readable by the checker's test enclave and verifiable by the client's own. */
async function enrolAll (client: Client, reader: HolderReader, count: number, seed: number): Promise<Watched[]> {
  const rand = prng(seed)
  const measurements = [await client.measurement(), reader.measurement]
  const out: Watched[] = []
  for (let i = 0; i < count; i++) {
    const identity = syntheticIdentity(128, rand)
    const policy = { ratePerMinute: 100_000, burst: 100_000, measurements }
    const r = await client.enroll({ template: identity.slice(), modality: 'face', model: MODEL, t: T, n: N, policy })
    out.push({ id: r.templateId, identity, context: { templateId: r.templateId, modality: 'face', model: MODEL }, rand })
  }
  return out
}

/**
 * Run a refresh storm on a fresh fleet (its directory removed afterwards).
 *
 * @returns what it found
 * @example const s = await refreshStorm({ kills: 3, seed: 1 })
 */
export async function refreshStorm (options: RefreshStormOptions): Promise<RefreshStormSummary> {
  const root = mkdtempSync(join(tmpdir(), 'bioshard-refresh-storm-'))
  const fleet = await NodeFleet.create(root, NODES)
  let client: Client | undefined
  let reader: HolderReader | undefined
  try {
    await fleet.startAll()
    const tenant = fleet.tenant('acme')
    const credentials = { tenant: { key: tenant.key, cert: tenant.wire } }
    client = await createClient({ bootstrap: fleet.running(), authority: fleet.authority.info, credentials })
    reader = await HolderReader.create(fleet.anchor, tenant, fleet.verifier(tenant))
    const watched = await enrolAll(client, reader, options.templates ?? 3, options.seed)
    const checks = new StormChecks({ fleet, client, reader })
    for (const w of watched) checks.committed(w, await client.manifest(w.id), (await client.manifest(w.id)).body.shares.map((s) => s.holder))
    await checks.all(watched)
    const summary = await new Storm({ fleet, client, checks, watched, seed: options.seed }).run(options.kills, options.onProgress ?? (() => {}))
    await fleet.close()
    await checks.stopped()
    return { ...summary, ...checks.tally }
  } finally {
    await reader?.close()
    await client?.close()
    await fleet.close()
    rmSync(root, { recursive: true, force: true })
  }
}

/** One line of summary, as printed and as recorded in docs/security.md. */
export function formatSummary (s: RefreshStormSummary): string {
  const r = (c: RoundCounts): string => `${c.committed} committed, ${c.partial} committed without a party, ${c.aborted} aborted`
  return `kills ${s.kills} (+${s.downed} lost holders downed), refresh rounds ${r(s.rounds.refresh)}; repair rounds ${r(s.rounds.repair)}; ` +
    `follow-up repairs ${s.followUps.done} (${s.followUps.failed} failed); templates lost ${s.lost}, undone ${s.undone}, inconsistent ${s.inconsistent}, ` +
    `extra shares ${s.extra}, verifications rejected ${s.rejected}, replaced bytes found ${s.leaked}, chain broken ${s.chainBroken}, ` +
    `holders not answering ${s.unanswered}, ` +
    `holders behind ${s.behind}, seed ${s.seed}`
}

/** Whether nothing the storm checks went wrong. */
export function held (s: RefreshStormSummary): boolean {
  return s.lost + s.undone + s.inconsistent + s.extra + s.leaked + s.chainBroken + s.rejected + s.unanswered === 0
}

async function main (): Promise<number> {
  const options = { kills: { type: 'string', default: '100' }, seed: { type: 'string' }, templates: { type: 'string', default: '3' } } as const
  const { values } = parseArgs({ options })
  const kills = Number(values.kills)
  const templates = Number(values.templates)
  const seed = values.seed !== undefined ? Number(values.seed) : freshSeed()
  if (!Number.isInteger(kills) || kills < 1) throw new RangeError('--kills must be a positive integer')
  if (!Number.isInteger(templates) || templates < 1) throw new RangeError('--templates must be a positive integer')
  process.stdout.write(`refresh storm: ${kills} SIGKILLs, seed ${seed}, ${templates} templates, ${NODES} nodes, t ${T} n ${N}\n`)
  const started = performance.now()
  const s = await refreshStorm({ kills, seed, templates, onProgress: (line) => { process.stdout.write(`${line}\n`) } })
  const load = loadavg().map((l) => l.toFixed(1)).join(' ')
  process.stdout.write(`summary: ${formatSummary(s)}, ${((performance.now() - started) / 1000).toFixed(0)} s, load average ${load}\n`)
  for (const p of s.problems) process.stdout.write(`  ${p}\n`)
  return held(s) ? 0 : 1
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main()
