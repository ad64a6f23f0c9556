/**
 * The simulator's vocabulary: the faults a schedule can hold, what a
 * scenario is, and what a run reports. A schedule is data (a scenario file
 * can replay a recorded one); a run's counts are a function of the seed and
 * the parameters alone, its timings are not, so the two are kept apart.
 *
 * @module
 */

/** Byzantine behaviours a holder can be switched to (sim/faults.ts). */
export type Behaviour = 'corrupt' | 'refuse' | 'stall' | 'wrong-template'

/**
 * One fault, at simulated hour `at` (0-based, applied at the start of that
 * step). Nodes are named by index (0 .. nodes-1), sites by name (`site-1` ..).
 */
export type FaultEvent =
  /** The node's process stops (as kill -9 would leave it: nothing flushed beyond what was acknowledged). */
  | { at: number, kind: 'crash', node: number }
  /** A crashed node comes back with its data. */
  | { at: number, kind: 'restart', node: number }
  /** The node leaves for good; its data directory is destroyed. */
  | { at: number, kind: 'depart', node: number }
  /** Nodes in different groups cannot connect; with `oneWay`, only dials from group 0 to the others are refused. */
  | { at: number, kind: 'partition', groups: number[][], oneWay?: boolean }
  /** One node reaches no other node and no client. */
  | { at: number, kind: 'isolate', node: number }
  /** Every partition and isolation ends. */
  | { at: number, kind: 'heal' }
  /** Requests the node receives are delayed by latency ± jitter and dropped with probability `loss`. */
  | { at: number, kind: 'link', node: number, latencyMs: number, jitterMs: number, loss: number }
  /** Every request the node receives stalls until `unclog`. */
  | { at: number, kind: 'clog', node: number }
  | { at: number, kind: 'unclog', node: number }
  /** The node's clock runs `ms` ahead (negative: behind). */
  | { at: number, kind: 'skew', node: number, ms: number }
  /** The node turns Byzantine (restarts with a lying handler table). */
  | { at: number, kind: 'byzantine', node: number, behaviour: Behaviour }
  /** The tenant erases a fraction of the live templates (1 = all). */
  | { at: number, kind: 'erase', fraction: number }

export type FaultKind = FaultEvent['kind']

/** Parameters of a run (CLI flags over a scenario's defaults). */
export interface SimParams {
  nodes: number
  sites: number
  templates: number
  t: number
  n: number
  /** Simulated hours; one step per hour. */
  hours: number
  seed: number
  /** In-process nodes over the memory transport or TCP on loopback, or one OS process per node over TCP. */
  transport: 'memory' | 'tcp' | 'process'
  /** Worker threads the nodes are spread over (node i in thread i mod threads; more than 1 needs tcp). @default 1 */
  threads?: number
  /** Verifications tried per simulated hour. */
  probesPerHour: number
  /** Coalitions whose pooled shares are tried: each a list of site names. */
  coalitions: string[][]
  /** Run the tenant's maintainer (audits, repairs) every this many simulated hours; off when absent or 0. */
  maintainEvery?: number
}

/** What a maintenance pass did in one step (all deterministic: outcomes and message sizes, not timings). */
export interface StepMaintenance {
  /** Templates repaired (a new holder for lost ones, manifest seq+1). */
  repairs: number
  /** Repairs tried that failed (fewer than t helpers answered, no free site). */
  failedRepairs: number
  /** Possession audits answered (passed, failed or unanswered). */
  audits: number
  /** Maintenance traffic of the pass, every party, in bytes. */
  bytes: number
}

/** A built-in or file scenario. */
export interface Scenario {
  name: string
  /** One line: what the scenario shows. */
  summary: string
  /** The invariant it checks, in words (printed by `bioshard sim --list`). */
  invariant: string
  defaults: Partial<Omit<SimParams, 'seed' | 'transport' | 'threads'>>
  /** The fault schedule for these parameters, drawn from `rng` (same seed, same schedule). */
  schedule: (params: SimParams, rng: import('./rng.ts').Rng) => FaultEvent[]
}

/** Percentiles of one step's verification latencies, in ms (timing: may differ between runs). */
export interface Latency { p50: number, p99: number }

/** What one simulated hour measured. Every field but `latency` is deterministic. */
export interface StepRecord {
  hour: number
  nodesUp: number
  faultsApplied: number
  verify: { attempts: number, accepted: number, failed: number }
  latency: Latency
  /** Live, correct, reachable shares per enrolled (not erased) template: minimum and histogram (index = shares). */
  liveShares: { min: number, histogram: number[] }
  /** Templates with fewer than t live correct shares. */
  unrecoverable: number
  /** The maintenance pass of this hour, when one ran. */
  maintenance?: StepMaintenance
}

/** Exposure read from the nodes' stores: the most shares of one template held by one party. */
export interface Exposure {
  maxPerNode: number
  maxPerSite: number
  perSite: Array<{ site: string, maxShares: number }>
  coalitions: Array<{ sites: string[], maxShares: number, reconstructed: number }>
}

/** The deterministic outcome of a run: identical for the same seed and parameters. */
export interface SimCounts {
  enrolled: number
  enrollFailed: number
  verifyAttempts: number
  verified: number
  verifyFailed: number
  /** Templates unrecoverable at the end (fewer than t live correct shares, confirmed by trying). */
  lost: number
  /** Templates some coalition reconstructed by combining and decrypting. */
  reconstructed: number
  erased: number
  /** Erased templates for which some holder still returned or held a share. */
  eraseIncomplete: number
  /** Byzantine holders that verifications named. */
  byzantineNamed: number
  /** Templates repaired by maintenance over the run (absent when maintenance was off). */
  repairs?: number
  /** Maintenance traffic over the run, in bytes (absent when maintenance was off). */
  maintenanceBytes?: number
}

export interface InvariantCheck { name: string, holds: boolean, detail: string }

/** Everything a run reports (written as result.json and drawn in report.html). */
export interface SimResult {
  version: 1
  scenario: string
  params: SimParams
  faults: FaultEvent[]
  steps: StepRecord[]
  counts: SimCounts
  exposure: Exposure
  invariants: InvariantCheck[]
  /**
   * Wall-clock figures: differ between runs of the same seed. `enrollCpuMs` is the CPU time of the whole process (every
   * thread) during the enrolment phase: divided by the enrolments, a cost that a busy machine changes less than the rate.
   */
  timings: { startMs: number, convergeMs: number, enrollMs: number, runMs: number, rssMbPerNode: number, cpuPercent: number, enrollCpuMs?: number }
}
