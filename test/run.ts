/**
 * Test runner: runs every `*.test.ts` under `test/` in its own Node process
 * (uvu suites are per file), a few at a time, and ends with one
 * machine-readable line: `N passed, M failed`.
 *
 * Usage: `node test/run.ts [--checks] [filter...]` — filters match substrings
 * of paths; `--checks` also runs the type check and the linter as two more
 * jobs of the same pool (what `npm test` does), so they overlap the tests
 * instead of running before them.
 *
 * The longest jobs start first (durations from the last run, kept beside the
 * compile cache; on a fresh checkout, those of test/durations.json, a copy
 * kept in the repository), so the run does not end with one long file
 * running alone. `node test/run.ts --checks --save-durations` writes this
 * run's durations to that copy as well.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'

const ROOT = new URL('../', import.meta.url).pathname
const TEST_DIR = join(ROOT, 'test')
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'bioshard')
const DURATIONS = join(CACHE_DIR, 'test-durations.json')
/** The durations a fresh checkout orders its first run by (jobs added since count as long). */
const KEPT_DURATIONS = join(TEST_DIR, 'durations.json')
// Most multi-node files spend part of their time waiting (drains, process
// start-up, gossip), so one more file than cores keeps both cores busy; more
// than that only makes their deadlines tighter.
// TEST_CONCURRENCY overrides it (a bigger machine, or one file at a time to read its output).
const CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 0) > 0
  ? Number(process.env.TEST_CONCURRENCY)
  : Math.max(1, Math.min(3, availableParallelism() + 1))

// Every test file is a new process that loads most of the tree and its libp2p
// dependencies, as do the CLI processes and nodes many tests spawn: with
// Node's compile cache (the CLI's, bin/bioshard.js) each loads the compiled
// code instead of stripping and compiling the sources again.
const CHILD_ENV = { ...process.env, FORCE_COLOR: '0', NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? CACHE_DIR }

/** One process to run: a test file (uvu summary) or a check (exit code only). */
interface Job { name: string, argv: string[], uvu: boolean, size: number }

// Both keep what they learnt beside the compile cache, so a second run checks only the files that changed.
const CHECKS: Job[] = [
  {
    name: 'check: typecheck (tsc --noEmit)',
    argv: ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', join(CACHE_DIR, 'tsc.tsbuildinfo')],
    uvu: false,
    size: 0
  },
  {
    name: 'check: lint (eslint .)',
    argv: ['node_modules/eslint/bin/eslint.js', '.', '--cache', '--cache-strategy', 'content', '--cache-location', join(CACHE_DIR, 'eslint')],
    uvu: false,
    size: 0
  }
]

function findTests (dir: string): Job[] {
  const out: Job[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    const stat = statSync(p)
    if (stat.isDirectory()) out.push(...findTests(p))
    else if (name.endsWith('.test.ts')) out.push({ name: relative(ROOT, p), argv: [p], uvu: true, size: stat.size })
  }
  return out
}

/** Seconds each job took in the last run that ran it: in this checkout, else as kept in the repository. */
function lastDurations (): Record<string, number> {
  for (const file of [DURATIONS, KEPT_DURATIONS]) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
      if (typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length > 0) return parsed as Record<string, number>
    } catch {
      // None kept here: try the next.
    }
  }
  return {}
}

/** Longest first: by last duration where known (a job never timed counts as long), else by file size. */
function longestFirst (jobs: Job[], last: Record<string, number>): Job[] {
  const known = jobs.filter((j) => typeof last[j.name] === 'number')
  const guess = (j: Job): number => typeof last[j.name] === 'number' ? last[j.name] : Number.POSITIVE_INFINITY
  if (known.length === 0) return [...jobs].sort((a, b) => Number(b.uvu === false) - Number(a.uvu === false) || b.size - a.size)
  return [...jobs].sort((a, b) => guess(b) - guess(a))
}

interface Result { job: Job, passed: number, failed: number, skipped: number, ms: number, output: string }

function run (job: Job): Promise<Result> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, job.argv, { cwd: ROOT, env: CHILD_ENV })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    child.on('close', (code) => {
      const ms = Date.now() - started
      if (!job.uvu) {
        resolve({ job, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, ms, output })
        return
      }
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0)
      // uvu counts skipped tests outside Total.
      let failed = total - passed
      // A crash before uvu's summary (or a non-zero exit with a clean summary)
      // must still count as a failure, never as silence.
      if (code !== 0 && failed === 0) failed = 1
      resolve({ job, passed, failed, skipped, ms, output })
    })
  })
}

const args = process.argv.slice(2)
const filters = args.filter((a) => a !== '--checks' && a !== '--save-durations')
const tests = findTests(TEST_DIR).filter((j) => filters.length === 0 || filters.some((s) => j.name.includes(s)))
const last = lastDurations()
const jobs = longestFirst([...(args.includes('--checks') ? CHECKS : []), ...tests], last)
const results: Result[] = []
let next = 0
async function worker (): Promise<void> {
  while (next < jobs.length) {
    const r = await run(jobs[next++])
    results.push(r)
    const mark = r.failed > 0 ? 'FAIL' : 'ok  '
    const counts = !r.job.uvu ? '' : `  ${r.passed} passed${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}${r.failed > 0 ? `, ${r.failed} failed` : ''}`
    process.stdout.write(`${mark} ${r.job.name}${counts}  (${(r.ms / 1000).toFixed(1)} s)\n`)
    if (r.failed > 0 || process.env.TEST_VERBOSE === '1') process.stdout.write(r.output.replace(/^/gm, '    ') + '\n')
  }
}
const started = Date.now()
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(1, jobs.length)) }, worker))
try {
  mkdirSync(CACHE_DIR, { recursive: true })
  const merged = { ...last, ...Object.fromEntries(results.map((r) => [r.job.name, Math.round(r.ms / 100) / 10])) }
  writeFileSync(DURATIONS, JSON.stringify(merged, null, 1) + '\n')
  if (args.includes('--save-durations')) writeFileSync(KEPT_DURATIONS, JSON.stringify(merged, null, 1) + '\n')
} catch {
  // The durations only order the next run; a read-only checkout runs in file-size order.
}
const passed = results.reduce((a, r) => a + (r.job.uvu ? r.passed : 0), 0)
const failed = results.reduce((a, r) => a + r.failed, 0)
process.stdout.write(`${jobs.length} jobs in ${((Date.now() - started) / 1000).toFixed(0)} s, ${CONCURRENCY} at a time\n`)
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed > 0 || jobs.length === 0 ? 1 : 0
