/**
 * The benchmark harness: per-operation timing, load at a fixed concurrency,
 * percentiles, ratios against a baseline measured in the same run, and an
 * aligned table. Speed goals are ratios to a baseline measured beside the code
 * under test, never absolute times: the 2-core machines this runs on are
 * noisy, and a ratio taken in one run cancels most of the noise that an
 * absolute threshold would turn into a flaky verdict. Progress goes to stderr
 * so stdout holds only the tables.
 *
 * @module
 */

/** Unit of a result's `median` and `p99`: a time, or (resource figures, no ops/s) MB of memory or % of a core. */
export type Unit = 'ms' | 'µs' | 'MB' | '%'

/** The metric a ratio compares. */
export type Metric = 'median' | 'p99' | 'opsPerSec'

/**
 * One benchmark figure: what every suite's `run()` returns.
 */
export interface BenchResult {
  name: string
  unit: Unit
  median: number
  p99: number
  opsPerSec: number
  /** name of the result this one is compared with */
  baseline?: string
  /** this result's `metric` divided by the baseline's (see {@link compare}) */
  ratio?: number
  note?: string
  /** the metric `ratio` compares; absent means `median` */
  metric?: Metric
  /** the goal on `ratio`, e.g. `≤ 1.5` */
  goal?: string
  /** whether `ratio` meets `goal` */
  verdict?: 'ok' | 'MISS'
  /** number of timed operations */
  samples?: number
  /** operations in flight at once, for load results */
  concurrency?: number
  /** operations that threw (not counted in the figures) */
  errors?: number
}

/** Options of {@link sample} and {@link measure}. */
export interface MeasureOptions {
  /** Timed operations, at least. @default 200 */
  iterations?: number
  /** Untimed operations first (JIT, connections, caches). @default 20 */
  warmup?: number
  /** Keep going past `iterations` until this much time is spent timing. @default 0 */
  minTimeMs?: number
  /** Never time more operations than this (inputs prepared in advance run out). @default Infinity */
  maxIterations?: number
  /** Shown in the table's last column. */
  note?: string
  /** Force the unit instead of choosing by magnitude. */
  unit?: Unit
}

/** Options of {@link load} and {@link concurrent}. */
export interface LoadOptions {
  /** Operations in flight at once. */
  concurrency: number
  /** Length of the timed window. */
  durationMs: number
  /** Untimed load first. @default 500 */
  warmupMs?: number
  note?: string
  unit?: Unit
}

/** Raw outcome of a {@link load} run. */
export interface LoadSamples {
  /** per-operation latency, ms, of the operations that succeeded */
  latencies: number[]
  /** wall time of the timed window, ms */
  wallMs: number
  errors: number
  /** message of the first error, if any */
  firstError?: string
}

type Op = (i: number) => unknown

type ProgressWriter = (line: string) => void

let writeProgress: ProgressWriter | null = (line) => { process.stderr.write(line + '\n') }

/**
 * Redirect or silence progress lines (tests silence them).
 *
 * @param writer - receives each line without its newline; `null` silences
 * @example setProgress(null)
 */
export function setProgress (writer: ProgressWriter | null): void {
  writeProgress = writer
}

/**
 * Write one progress line (stderr by default): one per benchmark, and a line
 * a second for long ones.
 *
 * @param line - the text, without a newline
 * @example progress('node: starting 2 nodes')
 */
export function progress (line: string): void {
  writeProgress?.(line)
}

const PROGRESS_EVERY_MS = 1_000

// ---------------------------------------------------------------------------
// Statistics (pure)
// ---------------------------------------------------------------------------

function asorted (sorted: ArrayLike<number>, name: string): void {
  if (sorted.length === 0) throw new RangeError(`${name} must not be empty`)
}

/**
 * Nearest-rank percentile of sorted samples: the smallest sample with at
 * least `p` % of the samples at or below it (a real sample, never an
 * interpolation that no operation took).
 *
 * @param sorted - samples in ascending order, at least one
 * @param p - percentile, 0 < p ≤ 100
 * @returns one of the samples
 * @throws {RangeError} for an empty array or `p` out of range
 * @example percentile([1, 2, 3, 4], 50) // 2
 */
export function percentile (sorted: ArrayLike<number>, p: number): number {
  asorted(sorted, 'sorted')
  if (!(p > 0 && p <= 100)) throw new RangeError(`p must be in (0, 100], got ${p}`)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/**
 * Median of sorted samples; the mean of the two middle ones for an even count.
 *
 * @param sorted - samples in ascending order, at least one
 * @returns the median
 * @throws {RangeError} for an empty array
 * @example median([1, 2, 3, 10]) // 2.5
 */
export function median (sorted: ArrayLike<number>): number {
  asorted(sorted, 'sorted')
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Convert a time to milliseconds.
 *
 * @param value - the time
 * @param unit - its unit
 * @returns milliseconds
 * @example toMs(250, 'µs') // 0.25
 */
export function toMs (value: number, unit: Unit): number {
  return unit === 'µs' ? value / 1_000 : value
}

/** Options of {@link summarize}. */
export interface SummaryOptions {
  /** Wall time the samples took, for load runs (ops/s = samples / wall time). */
  wallMs?: number
  unit?: Unit
  note?: string
  concurrency?: number
  errors?: number
}

/**
 * Turn per-operation samples into a result: median, p99 and ops/s, in µs
 * when the median is under a millisecond, else in ms. Sequential ops/s is
 * `samples / Σ time` (one caller's throughput); under load it is completed
 * operations / wall time.
 *
 * @param name - the benchmark's name
 * @param samplesMs - per-operation times in milliseconds (not modified)
 * @param options - wall time for load runs, a fixed unit, a note
 * @returns the result
 * @throws {RangeError} when `samplesMs` is empty or holds a negative or non-finite time
 * @example summarize('aes 2 kB', [0.002, 0.003, 0.002]).unit // 'µs'
 */
export function summarize (name: string, samplesMs: readonly number[], options: SummaryOptions = {}): BenchResult {
  if (samplesMs.length === 0) throw new RangeError(`samplesMs of '${name}' must not be empty`)
  const sorted = Float64Array.from(samplesMs)
  let total = 0
  for (const s of sorted) {
    if (!(s >= 0 && Number.isFinite(s))) throw new RangeError(`samplesMs of '${name}' must hold finite times ≥ 0, got ${s}`)
    total += s
  }
  sorted.sort()
  const med = median(sorted)
  const p99 = percentile(sorted, 99)
  const unit: Unit = options.unit ?? (med < 1 ? 'µs' : 'ms')
  const scale = unit === 'µs' ? 1_000 : 1
  const time = options.wallMs ?? total
  const opsPerSec = time > 0 ? sorted.length / (time / 1_000) : Infinity
  const r: BenchResult = { name, unit, median: med * scale, p99: p99 * scale, opsPerSec, samples: sorted.length }
  if (options.concurrency !== undefined) r.concurrency = options.concurrency
  if (options.errors !== undefined && options.errors > 0) r.errors = options.errors
  if (options.note !== undefined) r.note = options.note
  return r
}

/** Options of {@link compare}. */
export interface CompareOptions {
  /** What to compare. @default 'median' */
  metric?: Metric
  /** Goal: the ratio must be at most this (latencies). */
  atMost?: number
  /** Goal: the ratio must be at least this (throughputs). */
  atLeast?: number
}

function metricOf (r: BenchResult, metric: Metric): number {
  return metric === 'opsPerSec' ? r.opsPerSec : toMs(r[metric], r.unit)
}

/**
 * Compare `result` with `baseline` and record it on `result`: `baseline`
 * (its name), `ratio` = result's metric / baseline's metric (times in the
 * same unit), and, with a goal, `goal` and `verdict`.
 *
 * @param result - the result to annotate (modified)
 * @param baseline - the result it is compared with
 * @param options - metric and goal
 * @returns the ratio
 * @throws {RangeError} when both goals are given or the baseline's metric is 0
 * @example compare(fetch, floor, { metric: 'median', atMost: 1.5 })
 */
export function compare (result: BenchResult, baseline: BenchResult, options: CompareOptions = {}): number {
  const metric = options.metric ?? 'median'
  if (options.atMost !== undefined && options.atLeast !== undefined) throw new RangeError('options must give atMost or atLeast, not both')
  const base = metricOf(baseline, metric)
  if (!(base > 0)) throw new RangeError(`baseline '${baseline.name}' has ${metric} ${base}; cannot divide by it`)
  const ratio = metricOf(result, metric) / base
  result.baseline = baseline.name
  result.ratio = ratio
  if (metric !== 'median') result.metric = metric
  if (options.atMost !== undefined) {
    result.goal = `≤ ${options.atMost}`
    result.verdict = ratio <= options.atMost ? 'ok' : 'MISS'
  } else if (options.atLeast !== undefined) {
    result.goal = `≥ ${options.atLeast}`
    result.verdict = ratio >= options.atLeast ? 'ok' : 'MISS'
  }
  return ratio
}

// ---------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------

/**
 * A time with about three significant digits; µs of 1,000 and more are
 * shown in ms (a µs row's p99 can be milliseconds long).
 *
 * @param value - the time
 * @param unit - its unit
 * @returns e.g. `1.23 ms`, `45.6 µs`, `789 µs`
 * @example formatTime(4072, 'µs') // '4.07 ms'
 */
export function formatTime (value: number, unit: Unit): string {
  if (unit === 'µs' && value >= 999.5) return formatTime(value / 1_000, 'ms')
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0
  return `${value.toFixed(digits)} ${unit}`
}

/**
 * Operations per second, rounded, with thousands separators.
 *
 * @param value - ops/s
 * @returns e.g. `12,345` or `0.52`
 * @example formatOps(12345.6) // '12,346'
 */
export function formatOps (value: number): string {
  if (Number.isNaN(value)) return '–'
  if (!Number.isFinite(value)) return '∞'
  if (value < 10) return value.toFixed(2)
  return Math.round(value).toLocaleString('en-US')
}

const METRIC_LABEL: Record<Metric, string> = { median: 'median', p99: 'p99', opsPerSec: 'ops/s' }

/**
 * Render results as an aligned table: name, median, p99, ops/s, baseline,
 * ratio (with the metric compared when not the median), goal and verdict,
 * then the note.
 *
 * @param results - the rows, in order
 * @param title - printed above the table
 * @returns the table, ending in a newline
 * @example process.stdout.write(formatTable(results, 'crypto'))
 */
export function formatTable (results: readonly BenchResult[], title?: string): string {
  const head = ['benchmark', 'median', 'p99', 'ops/s', 'baseline', 'ratio', 'goal', 'note']
  const right = [false, true, true, true, false, true, false, false]
  const rows = results.map((r) => [
    r.name + (r.concurrency !== undefined ? ` ×${r.concurrency}` : ''),
    formatTime(r.median, r.unit),
    formatTime(r.p99, r.unit),
    formatOps(r.opsPerSec),
    r.baseline ?? '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×${r.metric !== undefined && r.metric !== 'median' ? ' ' + METRIC_LABEL[r.metric] : ''}`,
    r.goal === undefined ? '' : `${r.goal} ${r.verdict ?? ''}`,
    [r.errors !== undefined ? `${r.errors} errors` : '', r.note ?? ''].filter((s) => s !== '').join('; ')
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string => cells.map((c, i) => {
    if (i === cells.length - 1) return c
    return right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])
  }).join('  ').trimEnd()
  const out: string[] = []
  if (title !== undefined) out.push(`== ${title} ==`)
  out.push(line(head), line(widths.map((w, i) => i === widths.length - 1 ? '----' : '-'.repeat(w))))
  for (const row of rows) out.push(line(row))
  return out.join('\n') + '\n'
}

/**
 * Print {@link formatTable} to stdout.
 *
 * @param results - the rows
 * @param title - printed above the table
 * @example printTable(await run(), 'node')
 */
export function printTable (results: readonly BenchResult[], title?: string): void {
  process.stdout.write(formatTable(results, title))
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

/**
 * Time `fn` once per operation, sequentially. `fn` gets the operation's
 * index (warmup first, then the timed ones), so prepared inputs can be
 * consumed one per call; a promise it returns is awaited inside the timing.
 *
 * @param name - for progress lines
 * @param fn - one operation
 * @param options - counts and minimum time
 * @returns per-operation times in ms
 * @throws whatever `fn` throws
 * @example const samples = await sample('fetch', () => fetchOnce(), { minTimeMs: 2000 })
 */
export async function sample (name: string, fn: Op, options: MeasureOptions = {}): Promise<number[]> {
  const iterations = options.iterations ?? 200
  const warmup = options.warmup ?? 20
  const minTimeMs = options.minTimeMs ?? 0
  const maxIterations = options.maxIterations ?? Infinity
  let i = 0
  for (; i < warmup; i++) {
    const r = fn(i)
    if (r instanceof Promise) await r
  }
  const samples: number[] = []
  const started = performance.now()
  let timed = 0
  let lastProgress = started
  while (samples.length < maxIterations && (samples.length < iterations || timed < minTimeMs)) {
    const t0 = performance.now()
    const r = fn(i++)
    if (r instanceof Promise) await r
    const t1 = performance.now()
    samples.push(t1 - t0)
    timed += t1 - t0
    if (t1 - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = t1
      progress(`    … ${name}: ${samples.length} ops, ${((t1 - started) / 1_000).toFixed(1)} s`)
    }
  }
  return samples
}

/**
 * Measure `fn` sequentially: {@link sample} then {@link summarize}, with a
 * progress line.
 *
 * @param name - the benchmark's name
 * @param fn - one operation (sync or async); gets the operation index
 * @param options - counts, minimum time, note
 * @returns median, p99 and ops/s
 * @throws whatever `fn` throws
 * @example const r = await measure('seal 2 kB', () => seal(pk, share, info, aad), { minTimeMs: 500 })
 */
export async function measure (name: string, fn: Op, options: MeasureOptions = {}): Promise<BenchResult> {
  const samples = await sample(name, fn, options)
  const r = summarize(name, samples, {
    ...(options.unit !== undefined ? { unit: options.unit } : {}),
    ...(options.note !== undefined ? { note: options.note } : {})
  })
  progress(`  ${name}: median ${formatTime(r.median, r.unit)}, p99 ${formatTime(r.p99, r.unit)} (${samples.length} ops)`)
  return r
}

/**
 * Run a benchmark and its floor one after the other, the floor first in even
 * rounds and second in odd ones, so neither always runs on a warmer (or
 * busier) machine.
 *
 * @example for (let r = 0; r < 3; r++) await inTurn(r, runFloor, runBench)
 */
export async function inTurn (round: number, floor: () => Promise<void>, bench: () => Promise<void>): Promise<void> {
  if (round % 2 === 0) { await floor(); await bench() } else { await bench(); await floor() }
}

/**
 * Keep `concurrency` operations in flight for `durationMs` (after an untimed
 * warmup) and record each one's latency. An operation that throws is counted
 * as an error and the load goes on.
 *
 * @param name - for progress lines
 * @param fn - one async operation; gets a running index
 * @param options - concurrency, duration, warmup
 * @returns latencies (ms), wall time and errors
 * @example const s = await load('fetch', () => fetchOnce(), { concurrency: 32, durationMs: 3000 })
 */
export async function load (name: string, fn: Op, options: LoadOptions): Promise<LoadSamples> {
  const concurrency = options.concurrency
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  if (!(options.durationMs > 0)) throw new RangeError(`durationMs must be positive, got ${options.durationMs}`)
  let index = 0
  let errors = 0
  let firstError: string | undefined
  const latencies: number[] = []
  let recording = false
  let stopAt = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const t0 = performance.now()
      try {
        await fn(index++)
        if (recording) latencies.push(performance.now() - t0)
      } catch (e) {
        if (recording) {
          errors++
          firstError ??= (e as Error)?.message ?? String(e)
        }
      }
    }
  }
  const warmupMs = options.warmupMs ?? 500
  if (warmupMs > 0) {
    stopAt = performance.now() + warmupMs
    await Promise.all(Array.from({ length: concurrency }, worker))
  }
  recording = true
  const started = performance.now()
  stopAt = started + options.durationMs
  const ticker = setInterval(() => {
    progress(`    … ${name}: ${latencies.length} ops, ${((performance.now() - started) / 1_000).toFixed(1)} s`)
  }, PROGRESS_EVERY_MS)
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    clearInterval(ticker)
  }
  // Operations still in flight at the deadline finish and count: the window
  // closes when the last of them does.
  const wallMs = performance.now() - started
  return { latencies, wallMs, errors, ...(firstError !== undefined ? { firstError } : {}) }
}

/**
 * Throughput and latency percentiles under load: {@link load} then
 * {@link summarize} (ops/s = completed operations / wall time).
 *
 * @param name - the benchmark's name
 * @param fn - one async operation
 * @param options - concurrency, duration, warmup, note
 * @returns the result; `errors` counts operations that threw
 * @throws {Error} when no operation succeeded
 * @example const r = await concurrent('fetch', () => fetchOnce(), { concurrency: 32, durationMs: 3000 })
 */
export async function concurrent (name: string, fn: Op, options: LoadOptions): Promise<BenchResult> {
  const s = await load(name, fn, options)
  return summarizeLoad(name, s, options)
}

/**
 * Summarize one or more {@link load} runs of the same operation as one result
 * (used to interleave a benchmark with its baseline in rounds).
 *
 * @param name - the benchmark's name
 * @param runs - one load run, or several to pool
 * @param options - concurrency (shown), unit, note
 * @returns the result
 * @throws {Error} when no operation succeeded
 * @example summarizeLoad('fetch', [round1, round2], { concurrency: 32 })
 */
export function summarizeLoad (
  name: string,
  runs: LoadSamples | readonly LoadSamples[],
  options: Pick<LoadOptions, 'concurrency' | 'unit' | 'note'>
): BenchResult {
  const list = Array.isArray(runs) ? runs as readonly LoadSamples[] : [runs as LoadSamples]
  const latencies = list.flatMap((s) => s.latencies)
  const wallMs = list.reduce((a, s) => a + s.wallMs, 0)
  const errors = list.reduce((a, s) => a + s.errors, 0)
  const firstError = list.find((s) => s.firstError !== undefined)?.firstError
  if (latencies.length === 0) throw new Error(`${name}: no operation succeeded (${errors} errors${firstError !== undefined ? `, first: ${firstError}` : ''})`)
  const r = summarize(name, latencies, {
    wallMs,
    concurrency: options.concurrency,
    errors,
    ...(options.unit !== undefined ? { unit: options.unit } : {}),
    ...(options.note !== undefined ? { note: options.note } : {})
  })
  progress(`  ${name} ×${options.concurrency}: ${formatOps(r.opsPerSec)} ops/s, median ${formatTime(r.median, r.unit)}, p99 ${formatTime(r.p99, r.unit)}` +
    (errors > 0 ? `, ${errors} errors (first: ${firstError})` : ''))
  return r
}
