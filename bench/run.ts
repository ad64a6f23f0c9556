/**
 * Benchmark runner (`npm run bench`): runs the suites in order (crypto, node,
 * face, then any other `bench/*.bench.ts` in name order), each in a fresh
 * Node process of its own (`suite-process.ts` says why), and prints one table
 * per suite on stdout. A suite that is missing what it needs, fails or
 * crashes is reported with its reason and the others still run; the exit code
 * is 1 when a suite failed or a goal was missed.
 *
 * Usage: `node bench/run.ts [filter...] [--json <file>]` (suites whose name
 * contains a filter; `--json` also writes every result with its machine).
 * @module
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { progress, type BenchResult } from './harness.ts'
import { runSuiteInChild, type Suite, type SuiteOutcome } from './suite-process.ts'

/** Suites that run first, in this order; others found in bench/ follow. */
const ORDER = ['crypto', 'node', 'face']
const SUFFIX = '.bench.ts'

/** Every suite module in bench/, in run order; each exports `run(): Promise<BenchResult[]>`. */
function suites (): Suite[] {
  const dir = new URL('./', import.meta.url)
  const found = readdirSync(dir).filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length))
  const names = [...ORDER.filter((n) => found.includes(n)), ...found.filter((n) => !ORDER.includes(n)).sort()]
  return names.map((name) => ({ name, url: new URL(`./${name}${SUFFIX}`, dir).href }))
}

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({ options: { json: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true })
  const all = suites()
  if (values.help === true) {
    process.stdout.write(`Usage: node bench/run.ts [filter...] [--json <file>]\nSuites: ${all.map((s) => s.name).join(', ')}\n`)
    return 0
  }
  const chosen = all.filter((s) => positionals.length === 0 || positionals.some((f) => s.name.includes(f)))
  if (chosen.length === 0) {
    process.stderr.write(`no suite matches ${positionals.join(', ')} (suites: ${all.map((s) => s.name).join(', ')})\n`)
    return 2
  }
  const cpu = cpus()[0]?.model ?? 'unknown'
  process.stdout.write(`bioshard benchmarks — Node ${process.version}, ${availableParallelism()} × ${cpu}\n\n`)
  const outcomes: SuiteOutcome[] = []
  for (const suite of chosen) {
    progress(`== ${suite.name}`)
    outcomes.push(await runSuiteInChild(suite))
  }
  const missLine = (suite: string, r: BenchResult): string =>
    `${suite}: ${r.name}${r.concurrency !== undefined ? ` ×${r.concurrency}` : ''} (${r.ratio?.toFixed(2)}× vs goal ${r.goal})`
  const missed = outcomes.flatMap((o) => o.results.filter((r) => r.verdict === 'MISS').map((r) => missLine(o.name, r)))
  const failed = outcomes.filter((o) => o.status === 'failed').map((o) => o.name)
  process.stdout.write(`suites: ${outcomes.map((o) => `${o.name} ${o.status} (${o.seconds} s)`).join(', ')}\n`)
  const checked = outcomes.reduce((n, o) => n + o.results.filter((r) => r.verdict !== undefined).length, 0)
  process.stdout.write(missed.length > 0 ? `goals missed: ${missed.join('; ')}\n` : checked > 0 ? `goals: all ${checked} met\n` : 'goals: none checked\n')
  if (values.json !== undefined) {
    writeFileSync(values.json, JSON.stringify({
      date: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      cpu,
      memoryBytes: totalmem(),
      suites: outcomes
    }, null, 2) + '\n')
    progress(`results written to ${values.json}`)
  }
  return failed.length > 0 || missed.length > 0 ? 1 : 0
}

process.exitCode = await main()
