/**
 * The counters of `bioshard maintain`, for Prometheus: what each pass
 * audited, lost, repaired and refreshed, what failed and how many bytes it
 * moved, on a registry of its own served by the node's operations endpoint
 * (node/metrics/server.ts) when `--metrics host:port` is given. The pass
 * summary line carries the same counts; the endpoint lets an operator alert
 * on them. Labels are bounded sets (an audit outcome, a loss reason, an
 * action): never a template or peer id.
 *
 * @module
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { LOSS_REASONS, type PassReport } from '../../client/maintainer.ts'
import { EVENT_LOOP_SAMPLE_MS } from '../../node/metrics/metrics.ts'
import { startMetricsServer, type MetricsServer } from '../../node/metrics/server.ts'
import { bindError } from '../../node/bind-error.ts'

/** Audit outcomes, as labels, keyed by the pass report's field. */
const AUDIT_OUTCOMES = { passed: 'passed', failed: 'failed', noAnswer: 'no-answer', unauditable: 'unauditable' } as const

/**
 * The maintainer's metrics: counters summed over passes, and gauges of the last pass.
 *
 * @example
 * const m = new MaintainerMetrics()
 * m.record(await maintainer.pass(), Date.now())
 * const body = await m.text()
 */
export class MaintainerMetrics {
  readonly registry = new Registry()
  readonly #passes: Counter
  readonly #audits: Counter<'outcome'>
  readonly #lost: Counter<'reason'>
  readonly #rounds: Counter<'action' | 'outcome'>
  readonly #errors: Counter
  readonly #bytes: Counter
  readonly #templates: Gauge
  readonly #lastPass: Gauge
  #passCount = 0
  #lastErrors = 0

  /** @param options.processMetrics - register prom-client's process metrics (default true) */
  constructor (options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.#passes = new Counter({ name: 'bioshard_maintainer_passes_total', help: 'Maintenance passes completed', registers })
    this.#audits = new Counter({
      name: 'bioshard_maintainer_audits_total',
      help: 'Holder audits, by outcome (passed, failed, no-answer, unauditable)',
      labelNames: ['outcome'],
      registers
    })
    this.#lost = new Counter({ name: 'bioshard_maintainer_holders_lost_total', help: 'Holders counted as lost, by why', labelNames: ['reason'], registers })
    this.#rounds = new Counter({
      name: 'bioshard_maintainer_rounds_total',
      help: 'Repairs and refreshes, by action and outcome (ok or failed)',
      labelNames: ['action', 'outcome'],
      registers
    })
    this.#errors = new Counter({ name: 'bioshard_maintainer_errors_total', help: 'Templates whose pass ended in an error', registers })
    const bytesHelp = 'Maintenance traffic of completed repairs and refreshes, all parties'
    this.#bytes = new Counter({ name: 'bioshard_maintainer_bytes_total', help: bytesHelp, registers })
    this.#templates = new Gauge({ name: 'bioshard_maintainer_templates', help: 'Templates the last pass went over', registers })
    this.#lastPass = new Gauge({ name: 'bioshard_maintainer_last_pass_timestamp_seconds', help: 'When the last pass ended (Unix time)', registers })
    for (const outcome of Object.values(AUDIT_OUTCOMES)) this.#audits.inc({ outcome }, 0)
    for (const reason of LOSS_REASONS) this.#lost.inc({ reason }, 0)
    for (const action of ['repair', 'refresh']) for (const outcome of ['ok', 'failed']) this.#rounds.inc({ action, outcome }, 0)
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  }

  /**
   * Add one pass.
   *
   * @param r - the pass's report
   * @param at - when it ended (ms since the epoch)
   */
  record (r: PassReport, at: number): void {
    this.#passes.inc()
    for (const [field, outcome] of Object.entries(AUDIT_OUTCOMES)) this.#audits.inc({ outcome }, r.audits[field as keyof typeof AUDIT_OUTCOMES])
    for (const reason of LOSS_REASONS) this.#lost.inc({ reason }, r.lost[reason])
    this.#rounds.inc({ action: 'repair', outcome: 'ok' }, r.repairs)
    this.#rounds.inc({ action: 'repair', outcome: 'failed' }, r.failed.repairs)
    this.#rounds.inc({ action: 'refresh', outcome: 'ok' }, r.refreshes)
    this.#rounds.inc({ action: 'refresh', outcome: 'failed' }, r.failed.refreshes)
    this.#errors.inc(r.errors)
    this.#bytes.inc(r.bytes)
    this.#templates.set(r.templates.length)
    this.#lastPass.set(at / 1000)
    this.#passCount++
    this.#lastErrors = r.errors
  }

  /** What `/healthz` shows: the command is up (ok), with the passes so far and the last pass's errors. */
  health (): { ok: true, passes: number, lastErrors: number } {
    return { ok: true, passes: this.#passCount, lastErrors: this.#lastErrors }
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

/**
 * Serve the maintainer's metrics and health at `addr`.
 *
 * @throws {BioshardError} ERR_CONFIG when the address cannot be bound (a port in use, an address this host does not have)
 */
export async function serveMaintainerMetrics (addr: { host: string, port: number }, metrics: MaintainerMetrics): Promise<MetricsServer> {
  try {
    return await startMetricsServer({ ...addr, metrics, health: () => metrics.health() })
  } catch (e) {
    throw bindError(e, 'metrics', [`${addr.host}:${addr.port}`]) ?? e
  }
}
