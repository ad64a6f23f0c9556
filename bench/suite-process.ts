/**
 * Running one benchmark suite, in this process ({@link runSuiteHere}) or in a
 * fresh Node process of its own ({@link runSuiteInChild}, what `bench/run.ts`
 * does for every suite). A suite can leave its process changed for the next
 * (V8's type feedback for shared code, a grown heap, native thread pools such
 * as the face suite's ONNX Runtime), and the verify suite measurably slowed
 * after the others had run in its process; so each suite starts as it would alone.
 *
 * @module
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { printTable, type BenchResult } from './harness.ts'

/** A suite: its name and the module exporting `run(): Promise<BenchResult[]>`. */
export interface Suite {
  name: string
  /** absolute `file:` URL of the suite module */
  url: string
}

/** What running a suite came to. */
export interface SuiteOutcome {
  name: string
  status: 'ok' | 'skipped' | 'failed'
  seconds: number
  results: BenchResult[]
  reason?: string
}

/** The child's entry: `node bench/suite-process.ts <name> <url>`. */
const ENTRY = fileURLToPath(import.meta.url)

function elapsed (started: number): number {
  return Math.round((performance.now() - started) / 100) / 10
}

/**
 * Run `suite` in this process: import it, run it, print its table (or
 * `SKIP`/`FAIL` with the reason) on stdout.
 *
 * @param suite - name and module URL
 * @returns the outcome; never throws for a suite's own failure
 * @example const outcome = await runSuiteHere({ name: 'crypto', url: new URL('./crypto.bench.ts', import.meta.url).href })
 */
export async function runSuiteHere (suite: Suite): Promise<SuiteOutcome> {
  const started = performance.now()
  const outcome = (status: SuiteOutcome['status'], results: BenchResult[], reason?: string): SuiteOutcome =>
    ({ name: suite.name, status, seconds: elapsed(started), results, ...(reason !== undefined ? { reason } : {}) })
  let mod: { run?: () => Promise<BenchResult[]> }
  try {
    mod = await import(suite.url) as { run?: () => Promise<BenchResult[]> }
  } catch (e) {
    const reason = `cannot load ${suite.url}: ${(e as Error).message.split('\n')[0]}`
    process.stdout.write(`SKIP ${suite.name}: ${reason}\n\n`)
    return outcome('skipped', [], reason)
  }
  if (typeof mod.run !== 'function') {
    const reason = `${suite.url} exports no run()`
    process.stdout.write(`SKIP ${suite.name}: ${reason}\n\n`)
    return outcome('skipped', [], reason)
  }
  try {
    const results = await mod.run()
    if (results.length === 0) {
      // The suite printed why (e.g. shared models missing).
      process.stdout.write(`SKIP ${suite.name}: no results\n\n`)
      return outcome('skipped', results, 'no results')
    }
    printTable(results, `${suite.name} (${elapsed(started)} s)`)
    process.stdout.write('\n')
    return outcome('ok', results)
  } catch (e) {
    const reason = (e as Error)?.stack ?? String(e)
    process.stdout.write(`FAIL ${suite.name}: ${reason}\n\n`)
    return outcome('failed', [], reason)
  }
}

function isOutcome (m: unknown, name: string): m is SuiteOutcome {
  const o = m as SuiteOutcome
  return o !== null && typeof o === 'object' && o.name === name && ['ok', 'skipped', 'failed'].includes(o.status) &&
    typeof o.seconds === 'number' && Array.isArray(o.results)
}

/**
 * Run `suite` in a fresh Node process with this process's Node flags (so
 * `--cpu-prof` and the like carry over), and wait for it. The child prints
 * its own table (stdout is shared) and sends its outcome back over the IPC
 * channel; a child that dies without one is a failed suite, and the other
 * suites still run.
 *
 * @param suite - name and module URL
 * @param options - `quiet`: drop the child's stdout and stderr (tests)
 * @returns the child's outcome, or `failed` with its exit code when it sent none
 * @example const outcome = await runSuiteInChild({ name: 'verify', url: new URL('./verify.bench.ts', import.meta.url).href })
 */
export async function runSuiteInChild (suite: Suite, options: { quiet?: boolean } = {}): Promise<SuiteOutcome> {
  const started = performance.now()
  const out = options.quiet === true ? 'ignore' : 'inherit'
  const child = spawn(process.execPath, [...process.execArgv, ENTRY, suite.name, suite.url], { stdio: ['ignore', out, out, 'ipc'] })
  let outcome: SuiteOutcome | undefined
  child.on('message', (m: unknown) => { if (isOutcome(m, suite.name)) outcome = m })
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.once('error', () => { resolve([null, null]) })
    child.once('exit', (c, s) => { resolve([c, s]) })
  })
  if (outcome !== undefined) return outcome
  const reason = `suite process ended without an outcome (code ${code}, signal ${signal})`
  if (options.quiet !== true) process.stdout.write(`FAIL ${suite.name}: ${reason}\n\n`)
  return { name: suite.name, status: 'failed', seconds: elapsed(started), results: [], reason }
}

if (import.meta.main) {
  const [name, url] = process.argv.slice(2)
  if (name === undefined || url === undefined || process.send === undefined) {
    process.stderr.write('usage: started by bench/run.ts as `suite-process.ts <name> <url>` with an IPC channel\n')
    process.exit(2)
  }
  const outcome = await runSuiteHere({ name, url })
  // Exit once the outcome is written: a suite may leave handles open.
  process.send(outcome, () => { process.exit(0) })
}
