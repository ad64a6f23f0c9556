/**
 * The built-in scenarios, each a seeded fault schedule with defaults, what it
 * shows and the invariant it checks (docs/simulator.md describes them), and
 * {@link loadScenario}, which also replays a recorded schedule from a JSON
 * file (sim/scenario-file.ts).
 *
 * @module
 */
import type { Behaviour, FaultEvent, Scenario, SimParams } from './types.ts'
import type { Rng } from './rng.ts'
import { readScenarioFile } from './scenario-file.ts'

/** Defaults every built-in scenario starts from: small enough for a laptop run in a minute or two. */
const BASE: Scenario['defaults'] = { nodes: 10, sites: 5, templates: 30, t: 3, n: 5, hours: 6, probesPerHour: 10, coalitions: [] }

const nodes = (p: SimParams): number[] => Array.from({ length: p.nodes }, (_, i) => i)
/** An hour in [lo, hi] of the run, clamped to it. */
const hourIn = (p: SimParams, rng: Rng, lo: number, hi: number): number => rng.int(Math.min(lo, p.hours - 1), Math.max(0, Math.min(hi, p.hours - 1)))
const site = (k: number): string => `site-${k}`

/** Churn: each node crashes with probability CHURN_RATE per hour and restarts 1–3 hours later; a few leave for good. */
const CHURN_RATE = 0.1
/** Permanent departures per node per simulated day in `churn`: a week of a 20-node network loses about a quarter of it. */
const DEPART_PER_DAY = 0.04

/** How many nodes leave for good during a churn run: at least one, at most a quarter of the network. */
function departuresFor (p: SimParams): number {
  return Math.min(Math.max(1, Math.floor(p.nodes / 4)), Math.max(1, Math.round(p.nodes * p.hours / 24 * DEPART_PER_DAY)))
}

function churn (p: SimParams, rng: Rng): FaultEvent[] {
  const out: FaultEvent[] = []
  const downUntil = new Map<number, number>()
  const departures = rng.sample(nodes(p), departuresFor(p))
  const departAt = new Map(departures.map((i) => [i, hourIn(p, rng, 1, p.hours - 1)]))
  for (let h = 0; h < p.hours; h++) {
    for (const i of nodes(p)) {
      if ((departAt.get(i) ?? Infinity) <= h) continue
      if (downUntil.get(i) === h) { out.push({ at: h, kind: 'restart', node: i }); downUntil.delete(i) }
      if (!downUntil.has(i) && rng.chance(CHURN_RATE)) {
        out.push({ at: h, kind: 'crash', node: i })
        downUntil.set(i, h + rng.int(1, 3))
      }
    }
    for (const [i, at] of departAt) if (at === h) out.push({ at: h, kind: 'depart', node: i })
  }
  return out
}

/** Partition: a symmetric split, heal, an asymmetric split, heal, one node isolated, heal. */
function partition (p: SimParams, rng: Rng): FaultEvent[] {
  const split = (): number[][] => {
    const s = rng.shuffle(nodes(p))
    const k = rng.int(1, Math.max(1, p.nodes - 1))
    return [s.slice(0, k).sort((a, b) => a - b), s.slice(k).sort((a, b) => a - b)]
  }
  const at = (k: number): number => Math.min(p.hours - 1, k)
  return [
    { at: at(1), kind: 'partition', groups: split() },
    { at: at(2), kind: 'heal' },
    { at: at(3), kind: 'partition', groups: split(), oneWay: true },
    { at: at(4), kind: 'heal' },
    { at: at(5), kind: 'isolate', node: rng.int(0, p.nodes - 1) },
    { at: at(6), kind: 'heal' }
  ]
}

/** Clog: a random subset of nodes stalled one at a time, then released in random order. */
function clog (p: SimParams, rng: Rng): FaultEvent[] {
  const half = Math.max(1, Math.floor(p.hours / 2))
  const victims = rng.sample(nodes(p), Math.min(p.nodes, Math.max(1, p.n - p.t + 1), half))
  const clogs: FaultEvent[] = victims.map((node, k) => ({ at: Math.min(p.hours - 1, 1 + k), kind: 'clog', node }))
  const unclogs: FaultEvent[] = rng.shuffle(victims).map((node, k) => ({ at: Math.min(p.hours - 1, 1 + victims.length + k), kind: 'unclog', node }))
  return [...clogs, ...unclogs]
}

/** Byzantine: one node at each of n − t random sites turns Byzantine, behaviours corrupt, refuse, stall, wrong-template in turn. */
function byzantine (p: SimParams, rng: Rng): FaultEvent[] {
  const behaviours: Behaviour[] = rng.shuffle(['corrupt', 'refuse', 'stall', 'wrong-template'])
  const sites = rng.sample(Array.from({ length: p.sites }, (_, k) => k), Math.max(1, p.n - p.t))
  return sites.map((s, k) => {
    const atSite = nodes(p).filter((i) => i % p.sites === s)
    return { at: 0, kind: 'byzantine', node: rng.pick(atSite), behaviour: behaviours[k % behaviours.length] }
  })
}

/** Mass erase: every template erased at mid-run. */
function massErase (p: SimParams): FaultEvent[] {
  return [{ at: Math.floor(p.hours / 2), kind: 'erase', fraction: 1 }]
}

/** The built-in scenarios by name. */
export const SCENARIOS: Record<string, Scenario> = {
  baseline: {
    name: 'baseline',
    summary: 'No faults: every enrolment and verification succeeds and every template keeps n live shares.',
    invariant: 'nothing lost, every verification accepted, no site holds two shares of a template',
    defaults: { ...BASE },
    schedule: () => []
  },
  churn: {
    name: 'churn',
    summary: `Nodes crash (${CHURN_RATE * 100} % per node per hour) and restart 1–3 hours later; ` +
      `${DEPART_PER_DAY * 100} % of nodes a day leave for good (at least one).`,
    invariant: 'no template is lost while at most n − t of its holders have failed; the live-share measure agrees with verification',
    defaults: { ...BASE },
    schedule: churn
  },
  partition: {
    name: 'partition',
    summary: 'A symmetric split, an asymmetric (one-way) split and one isolated node, each healed an hour later.',
    invariant: 'no template is lost while at most n − t of its holders are cut off from the client; all recover on heal',
    defaults: { ...BASE, hours: 7 },
    schedule: partition
  },
  clog: {
    name: 'clog',
    summary: 'A random subset of nodes stalled one at a time (every request waits), then released in random order.',
    invariant: 'a stalled holder never decides a verification while t holders answer; counts do not depend on timing',
    defaults: { ...BASE },
    schedule: clog
  },
  byzantine: {
    name: 'byzantine',
    summary: 'One node at each of n − t sites lies: corrupted shares, refusals, stalls, another template\'s share.',
    invariant: 'Byzantine holders are named (bad share or no answer) and verification still succeeds from the honest ones',
    defaults: { ...BASE, hours: 3 },
    schedule: byzantine
  },
  collusion: {
    name: 'collusion',
    summary: 'Coalitions of t − 1 and of t sites pool every share they hold and try to decrypt each template.',
    invariant: 'a coalition of fewer than t sites reconstructs nothing; one of t sites reconstructs exactly what it holds t shares of',
    defaults: { ...BASE, hours: 2, coalitions: [[site(1), site(2)], [site(1), site(2), site(3)]] },
    schedule: () => []
  },
  'mass-erase': {
    name: 'mass-erase',
    summary: 'The tenant erases every template at mid-run.',
    invariant: 'after the erase no holder returns a share, no store holds one and no file of any node holds its bytes',
    defaults: { ...BASE, hours: 4 },
    schedule: massErase
  }
}

/**
 * A built-in scenario by name, or a scenario file (JSON) replaying a recorded schedule.
 *
 * @throws {BioshardError} ERR_CONFIG for an unknown name or a bad file
 * @example const s = loadScenario('churn'); const r = loadScenario('./run/scenario.json')
 */
export function loadScenario (nameOrPath: string): Scenario {
  const builtIn = Object.hasOwn(SCENARIOS, nameOrPath) ? SCENARIOS[nameOrPath] : undefined
  return builtIn ?? readScenarioFile(nameOrPath, Object.keys(SCENARIOS))
}

/** Parameters no scenario sets: the seed and the transport come from the run. */
const FALLBACK: SimParams = { ...(BASE as Omit<SimParams, 'seed' | 'transport'>), seed: 0, transport: 'tcp' }

/**
 * A run's parameters: the given ones over the scenario's defaults over the built-in base.
 *
 * @example const params = paramsFor(SCENARIOS.churn, { seed: 7, hours: 3 })
 */
export function paramsFor (scenario: Pick<Scenario, 'defaults'>, given: Partial<SimParams> & { seed: number }): SimParams {
  return { ...FALLBACK, ...scenario.defaults, ...given }
}
