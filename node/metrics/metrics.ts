/**
 * Prometheus metrics of one node, on a registry of its own (never the
 * prom-client global one), so several nodes in one process — the in-process
 * simulator — never share or clobber each other's series.
 *
 * Gauges read their values through callbacks at scrape time, so keeping them
 * current costs nothing on the request path. Every label is a bounded set
 * (a protocol, an error code, a round kind): never a template, round or peer id.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ROUND_KINDS, ROUND_OUTCOMES, type RoundKind, type RoundOutcome, type TrafficDirection } from '../maintain/events.ts'

/** Where the gauges read their values at scrape time. */
export interface MetricsSources {
  sharesHeld: () => number
  peersConnected: () => number
  peersAdmitted: () => number
}

/** Options for {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /**
   * Register prom-client's default process metrics (CPU, memory, event-loop
   * lag, GC). Each registration installs its own event-loop and GC monitors,
   * so a simulator running hundreds of nodes in one process turns this off.
   * @default true
   */
  processMetrics?: boolean
}

/**
 * How often prom-client's event-loop delay monitor samples, ms. Its default
 * (10 ms) is a timer waking an idle node 100 times a second; ten samples a
 * second still fill the delay histogram between two scrapes (15 s and more).
 */
export const EVENT_LOOP_SAMPLE_MS = 100

/**
 * Request-duration buckets in seconds: from a local fetch served from the
 * store cache (≈0.5 ms) to a slow store with a synced write under load (2 s).
 */
export const DURATION_BUCKETS = [0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2] as const

/**
 * The node's metrics.
 *
 * @example
 * const m = new NodeMetrics({ sharesHeld: () => store.countNow(), peersConnected: () => 3, peersAdmitted: () => 5 })
 * m.observe('fetch', 'ok', 0.004)
 * const body = await m.text() // Prometheus exposition text, m.contentType
 */
export class NodeMetrics {
  /** The registry holding every series of this node. */
  readonly registry: Registry
  readonly #requests: Counter<'protocol' | 'outcome'>
  readonly #duration: Histogram<'protocol'>
  readonly #audits: Counter<'outcome'>
  readonly #rounds: Counter<'kind' | 'outcome'>
  readonly #maintainBytes: Counter<'direction'>

  /**
   * @param sources callbacks read at every scrape
   * @param options see {@link NodeMetricsOptions}
   * @throws {TypeError} when a source is not a function
   */
  constructor (sources: MetricsSources, options: NodeMetricsOptions = {}) {
    for (const k of ['sharesHeld', 'peersConnected', 'peersAdmitted'] as const) {
      if (typeof sources?.[k] !== 'function') throw new TypeError(`sources.${k} must be a function`)
    }
    const registry = new Registry()
    this.registry = registry
    this.#requests = new Counter({
      name: 'bioshard_requests_total',
      help: 'Requests handled, by protocol and outcome (ok or the error code)',
      labelNames: ['protocol', 'outcome'] as const,
      registers: [registry]
    })
    this.#duration = new Histogram({
      name: 'bioshard_request_duration_seconds',
      help: 'Time to handle one request, by protocol',
      labelNames: ['protocol'] as const,
      buckets: [...DURATION_BUCKETS],
      registers: [registry]
    })
    this.#audits = new Counter({
      name: 'bioshard_possession_audits_total',
      help: 'Possession audits answered: proved, or refused with the error code',
      labelNames: ['outcome'] as const,
      registers: [registry]
    })
    this.#rounds = new Counter({
      name: 'bioshard_maintain_rounds_total',
      help: 'Maintenance rounds at this node, by its part (kind) and how the round ended (committed, aborted, timed-out, refused)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry]
    })
    this.#maintainBytes = new Counter({
      name: 'bioshard_maintain_bytes_total',
      help: 'Bytes of maintenance traffic this node sent or received (requests and answers, coordinator and holders)',
      labelNames: ['direction'] as const,
      registers: [registry]
    })
    // Series that exist from the start read 0 rather than missing, so a rate or an alert on them works before the first event.
    this.#audits.inc({ outcome: 'proved' }, 0)
    for (const kind of ROUND_KINDS) for (const outcome of ROUND_OUTCOMES) this.#rounds.inc({ kind, outcome }, 0)
    for (const direction of ['sent', 'received'] as const) this.#maintainBytes.inc({ direction }, 0)
    gauge(registry, 'bioshard_shares_held', 'Shares this node holds', sources.sharesHeld)
    gauge(registry, 'bioshard_peers_connected', 'Peers with an open connection', sources.peersConnected)
    gauge(registry, 'bioshard_peers_admitted', 'Peers whose node certificate this node has accepted', sources.peersAdmitted)
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  }

  /**
   * Count one handled request and record its duration.
   *
   * @param protocol short protocol name ('store', 'fetch', …) — a bounded set, it is a label
   * @param outcome 'ok' or the error code — a bounded set, it is a label
   * @param seconds how long the request took
   * @throws {TypeError|RangeError} on a non-string label or a negative/non-finite duration
   */
  observe (protocol: string, outcome: string, seconds: number): void {
    if (typeof protocol !== 'string' || protocol === '') throw new TypeError('protocol must be a non-empty string')
    if (typeof outcome !== 'string' || outcome === '') throw new TypeError('outcome must be a non-empty string')
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new RangeError('seconds must be a finite number >= 0')
    this.#requests.inc({ protocol, outcome })
    this.#duration.observe({ protocol }, seconds)
    // Every answered audit, whatever refused it (the handler, the stream's size bound, a stopping node).
    if (protocol === 'audit') this.#audits.inc({ outcome: outcome === 'ok' ? 'proved' : outcome })
  }

  /**
   * Count one maintenance round at this node.
   *
   * @param kind this node's part in the round
   * @param outcome how it ended, or `refused` when the node did not join it
   */
  countRound (kind: RoundKind, outcome: RoundOutcome): void {
    this.#rounds.inc({ kind, outcome })
  }

  /**
   * Count maintenance traffic.
   *
   * @param direction `sent` or `received`
   * @param bytes how many
   * @throws {RangeError} for a negative or non-integer count
   */
  countMaintainBytes (direction: TrafficDirection, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError('bytes must be a non-negative integer')
    this.#maintainBytes.inc({ direction }, bytes)
  }

  /** @returns the Prometheus exposition text of every series */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  /** The Content-Type of {@link text}. */
  get contentType (): string {
    return this.registry.contentType
  }
}

function gauge (registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect () { this.set(read()) }
  })
}
