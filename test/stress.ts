/**
 * Stress run: the whole suite (`node test/run.ts`) several times in a row
 * while CPU-bound processes spin beside it, so tests that only pass on an idle
 * machine show up here rather than on a busy CI runner. The spinners are child
 * processes (a busy loop each) and are killed when the run ends, however it ends.
 *
 * Usage: `node test/stress.ts [--runs N] [--burners N] [filter...]`; exits
 * non-zero when any run fails, naming the failing files.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { parseArgs } from 'node:util'

const ROOT = new URL('../', import.meta.url).pathname
// The issue asks for the suite three times in a row beside four CPU-bound processes.
const DEFAULT_RUNS = 3
const DEFAULT_BURNERS = 4
// A busy loop that never yields; it is killed at the end, and exits by itself if
// this process dies first (its parent id changes when it is orphaned).
const BURN = 'const p = process.ppid; for (let i = 0; ; i++) if (i % 1e8 === 0 && process.ppid !== p) process.exit(0)'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string' }, burners: { type: 'string' } }
})
const runs = Number(values.runs ?? DEFAULT_RUNS)
const burnerCount = Number(values.burners ?? DEFAULT_BURNERS)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(burnerCount) || burnerCount < 0) {
  process.stderr.write('usage: node test/stress.ts [--runs N] [--burners N] [filter...]\n')
  process.exit(2)
}

const burners: ChildProcess[] = []
function stopBurners (): void {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL')
}
/** The suite run in progress: a process group of its own, so an interrupted stress run ends its test processes too. */
let suite: ChildProcess | undefined
process.on('exit', stopBurners)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stopBurners()
    if (suite?.pid !== undefined && suite.exitCode === null) { try { process.kill(-suite.pid, 'SIGTERM') } catch {} }
    process.exit(130)
  })
}

interface RunResult { ok: boolean, summary: string, failing: string[], ms: number }

/** One full pass of the suite; its output streams through with a run prefix. */
function runSuite (index: number): Promise<RunResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['test/run.ts', ...positionals], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
    suite = child
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
      process.stdout.write(d.toString().replace(/^(?=.)/gm, `[run ${index}] `))
    })
    child.on('close', (code) => {
      const failing = [...output.matchAll(/^FAIL (\S+)/gm)].map((m) => m[1])
      const summary = /^(\d+ passed, \d+ failed)$/m.exec(output)?.[1] ?? 'no summary'
      resolve({ ok: code === 0, summary, failing, ms: Date.now() - started })
    })
  })
}

for (let i = 0; i < burnerCount; i++) {
  burners.push(spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' }))
}
process.stdout.write(`stress: ${runs} run(s) of the suite beside ${burnerCount} busy process(es)\n`)

const results: RunResult[] = []
try {
  for (let i = 1; i <= runs; i++) {
    process.stdout.write(`stress: run ${i}/${runs} starting\n`)
    const r = await runSuite(i)
    results.push(r)
    const failing = r.failing.length > 0 ? `; failing: ${r.failing.join(', ')}` : ''
    process.stdout.write(`stress: run ${i}/${runs} ${r.ok ? 'passed' : 'FAILED'}: ${r.summary} in ${(r.ms / 1000).toFixed(0)} s${failing}\n`)
  }
} finally {
  stopBurners()
}

process.stdout.write('stress summary:\n')
results.forEach((r, i) => {
  const failing = r.failing.length > 0 ? `  ${r.failing.join(' ')}` : ''
  process.stdout.write(`  run ${i + 1}: ${r.ok ? 'ok  ' : 'FAIL'} ${r.summary}  ${(r.ms / 1000).toFixed(0)} s${failing}\n`)
})
const failed = results.filter((r) => !r.ok).length
process.stdout.write(failed === 0 ? `stress: all ${runs} runs passed\n` : `stress: ${failed} of ${runs} runs failed\n`)
process.exitCode = failed === 0 ? 0 : 1
