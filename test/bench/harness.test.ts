/**
 * The benchmark harness's statistics and table: percentiles, summaries,
 * ratios and verdicts against a baseline, and column alignment. No timing
 * is asserted here (speed is checked by `npm run bench`, never by tests).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  percentile, median, summarize, summarizeLoad, compare, formatTable, formatTime, formatOps, toMs, sample, inTurn, setProgress, type BenchResult
} from '../../bench/harness.ts'

setProgress(null)

const stats = suite('percentile and median')

stats('nearest-rank percentile returns a sample with at least p % at or below it', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  assert.is(percentile(xs, 50), 5)
  assert.is(percentile(xs, 90), 9)
  assert.is(percentile(xs, 91), 10)
  assert.is(percentile(xs, 100), 10)
  assert.is(percentile(xs, 0.1), 1)
})

stats('p99 of 100 samples is the 99th, of 1000 the 990th', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1)
  assert.is(percentile(hundred, 99), 99)
  const thousand = Array.from({ length: 1000 }, (_, i) => i + 1)
  assert.is(percentile(thousand, 99), 990)
})

stats('a single sample is every percentile and the median', () => {
  assert.is(percentile([7], 1), 7)
  assert.is(percentile([7], 99), 7)
  assert.is(median([7]), 7)
})

stats('median averages the two middle samples of an even count', () => {
  assert.is(median([1, 2, 3]), 2)
  assert.is(median([1, 2, 3, 10]), 2.5)
})

stats('rejects an empty array and p outside (0, 100]', () => {
  assert.throws(() => percentile([], 50), RangeError)
  assert.throws(() => median([]), RangeError)
  assert.throws(() => percentile([1], 0), RangeError)
  assert.throws(() => percentile([1], 101), RangeError)
})

stats.run()

const summary = suite('summarize')

summary('sorts unsorted samples and reports median, p99 and ops/s from their sum', () => {
  const r = summarize('x', [4, 1, 3, 2])
  assert.is(r.unit, 'ms')
  assert.is(r.median, 2.5)
  assert.is(r.p99, 4)
  assert.is(r.opsPerSec, 4 / (10 / 1000))
  assert.is(r.samples, 4)
})

summary('does not reorder the caller\'s array', () => {
  const xs = [3, 1, 2]
  summarize('x', xs)
  assert.equal(xs, [3, 1, 2])
})

summary('switches to µs when the median is under a millisecond', () => {
  const r = summarize('fast', [0.002, 0.004, 0.003])
  assert.is(r.unit, 'µs')
  assert.ok(Math.abs(r.median - 3) < 1e-9)
  assert.ok(Math.abs(r.p99 - 4) < 1e-9)
})

summary('keeps a forced unit', () => {
  const r = summarize('x', [0.5], { unit: 'ms' })
  assert.is(r.unit, 'ms')
  assert.is(r.median, 0.5)
})

summary('under load, ops/s is samples over wall time, not over summed latency', () => {
  const r = summarize('load', Array.from({ length: 100 }, () => 10), { wallMs: 250, concurrency: 4 })
  assert.is(r.opsPerSec, 400)
  assert.is(r.concurrency, 4)
})

summary('pools load rounds: latencies joined, wall times added, errors counted', () => {
  const r = summarizeLoad('pooled', [
    { latencies: [1, 2], wallMs: 100, errors: 0 },
    { latencies: [3, 4], wallMs: 100, errors: 2, firstError: 'boom' }
  ], { concurrency: 2 })
  assert.is(r.samples, 4)
  assert.is(r.opsPerSec, 20)
  assert.is(r.errors, 2)
  assert.is(r.median, 2.5)
})

summary('a load run with no success is an error, not a result', () => {
  const dead = { latencies: [], wallMs: 100, errors: 5, firstError: 'refused' }
  assert.throws(() => summarizeLoad('dead', dead, { concurrency: 1 }), /no operation succeeded.*refused/)
})

summary('rejects no samples and negative or non-finite times', () => {
  assert.throws(() => summarize('x', []), RangeError)
  assert.throws(() => summarize('x', [1, -1]), RangeError)
  assert.throws(() => summarize('x', [1, Number.NaN]), RangeError)
})

summary.run()

const ratios = suite('compare')

/** A result from its name, unit and [median, p99, ops/s]. */
const result = (name: string, unit: 'ms' | 'µs', [median, p99, opsPerSec]: [number, number, number]): BenchResult => ({ name, unit, median, p99, opsPerSec })

ratios('divides medians in the same unit, whatever unit each is shown in', () => {
  const base = result('floor', 'µs', [800, 2000, 1000])
  const r = result('fetch', 'ms', [1.2, 3, 500])
  assert.ok(Math.abs(compare(r, base) - 1.5) < 1e-9)
  assert.is(r.baseline, 'floor')
  assert.is(r.metric, undefined)
  assert.is(r.verdict, undefined)
})

ratios('a latency goal is met at the bound and missed above it', () => {
  const base = result('floor', 'ms', [2, 4, 100])
  const at = result('a', 'ms', [3, 4, 100])
  compare(at, base, { atMost: 1.5 })
  assert.is(at.verdict, 'ok')
  assert.is(at.goal, '≤ 1.5')
  const over = result('b', 'ms', [3.2, 4, 100])
  compare(over, base, { atMost: 1.5 })
  assert.is(over.verdict, 'MISS')
})

ratios('a throughput goal compares ops/s and needs at least the bound', () => {
  const base = result('floor', 'ms', [1, 2, 1000])
  const ok = result('a', 'ms', [5, 9, 600])
  assert.is(compare(ok, base, { metric: 'opsPerSec', atLeast: 0.6 }), 0.6)
  assert.is(ok.verdict, 'ok')
  assert.is(ok.metric, 'opsPerSec')
  const low = result('b', 'ms', [5, 9, 599])
  compare(low, base, { metric: 'opsPerSec', atLeast: 0.6 })
  assert.is(low.verdict, 'MISS')
})

ratios('compares p99 when asked', () => {
  const base = result('floor', 'ms', [1, 2, 1000])
  const r = result('a', 'ms', [1, 5, 1000])
  assert.is(compare(r, base, { metric: 'p99' }), 2.5)
})

ratios('refuses two goals at once and a zero baseline', () => {
  const base = result('floor', 'ms', [1, 2, 1000])
  assert.throws(() => compare(result('a', 'ms', [1, 1, 1]), base, { atMost: 2, atLeast: 1 }), RangeError)
  assert.throws(() => compare(result('a', 'ms', [1, 1, 1]), result('zero', 'ms', [0, 0, 0])), RangeError)
})

ratios('toMs converts µs and leaves ms', () => {
  assert.is(toMs(250, 'µs'), 0.25)
  assert.is(toMs(3, 'ms'), 3)
})

ratios.run()

const table = suite('formatTable')

table('numbers keep about three significant digits', () => {
  assert.is(formatTime(1.2345, 'ms'), '1.23 ms')
  assert.is(formatTime(45.67, 'µs'), '45.7 µs')
  assert.is(formatTime(789.4, 'µs'), '789 µs')
  assert.is(formatTime(4072, 'µs'), '4.07 ms')
  assert.is(formatTime(999.7, 'µs'), '1.00 ms')
  assert.is(formatOps(12345.6), '12,346')
  assert.is(formatOps(0.5), '0.50')
})

table('every column starts at the same offset on every row', () => {
  const base = result('floor: echo', 'µs', [812.3, 2950, 1231])
  const a = result('fetch one share', 'ms', [1.52, 12.7, 658])
  const b = { ...result('fetch one share', 'ms', [44.1, 103, 712]), concurrency: 32 }
  compare(a, base, { atMost: 1.5 })
  compare(b, base, { metric: 'opsPerSec', atLeast: 0.6 })
  const lines = formatTable([base, a, b], 'node').trimEnd().split('\n')
  assert.is(lines[0], '== node ==')
  const header = lines[1]
  const starts = ['median', 'p99', 'ops/s', 'baseline', 'ratio', 'goal'].map((h) => header.indexOf(h))
  assert.ok(starts.every((s) => s > 0))
  // Right-aligned numbers end where their header ends; left-aligned text starts where its header starts.
  const ends = ['median', 'p99', 'ops/s'].map((h) => header.indexOf(h) + h.length)
  for (const line of lines.slice(3)) {
    for (const e of ends) assert.is.not(line[e - 1], ' ', `a number ends at column ${e} in: ${line}`)
    for (const e of ends) assert.ok(line[e] === ' ' || line.length === e, `a gap or the line's end follows column ${e} in: ${line}`)
  }
  assert.is(lines[4].indexOf('floor: echo'), header.indexOf('baseline'))
  assert.ok(lines[4].includes('1.87×'))
  assert.ok(lines[4].includes('≤ 1.5 MISS'))
  assert.ok(lines[5].includes('fetch one share ×32'))
  assert.ok(lines[5].includes('0.58× ops/s'))
  assert.ok(lines[5].includes('≥ 0.6 MISS'))
})

table.run()

const sampling = suite('sample')

sampling('calls the operation warmup + iterations times with running indexes and times only the last', async () => {
  const seen: number[] = []
  const s = await sample('count', (i) => { seen.push(i) }, { warmup: 3, iterations: 5 })
  assert.equal(seen, [0, 1, 2, 3, 4, 5, 6, 7])
  assert.is(s.length, 5)
})

sampling('stops at maxIterations even when the minimum time is not reached', async () => {
  const s = await sample('capped', () => {}, { warmup: 0, iterations: 1, minTimeMs: 60_000, maxIterations: 7 })
  assert.is(s.length, 7)
})

sampling('inTurn runs the floor first in even rounds and the benchmark first in odd ones', async () => {
  const order: string[] = []
  for (let r = 0; r < 3; r++) await inTurn(r, async () => { order.push('floor') }, async () => { order.push('bench') })
  assert.equal(order, ['floor', 'bench', 'bench', 'floor', 'floor', 'bench'])
})

sampling.run()
