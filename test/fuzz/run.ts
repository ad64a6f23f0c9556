/**
 * The long fuzz run: `npm run fuzz -- --iterations 1000000 [--minutes M] [--only a,b] [--seed X] [--budget ms] [--list]`.
 * With `--minutes`, each target stops at N inputs or at its share of the
 * time (the time left over the targets left), whichever comes first, so a run
 * on a shared machine ends when planned. Each target runs in its own worker thread (a heap limit, and a watchdog
 * over the index of the input in hand), one after another; progress lines
 * go to stdout, then a table of iterations, accepted and refused counts,
 * crashes and hangs per target, and the seed. Each failing input is written
 * to test/fuzz/findings/ as a file that can be moved to
 * test/fuzz/regressions/ unchanged; the exit code is 1 on any finding.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildTargets, inventory } from './targets.ts'
import { serialiseInput, type Outcome, type Target } from './target.ts'
import { inputAt } from './stream.ts'

/** Heap a worker may use before it counts as unbounded memory (a decoder needs a few MB). */
const WORKER_HEAP_MB = 1024
/** A call still running this many budgets after it started is a hang seen from outside. */
const WATCHDOG_BUDGETS = 5

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100000' },
    only: { type: 'string' },
    seed: { type: 'string' },
    budget: { type: 'string', default: '2000' },
    minutes: { type: 'string' },
    list: { type: 'boolean', default: false }
  }
})
const iterations = Number(values.iterations)
const budgetMs = Number(values.budget)
const seed = values.seed !== undefined ? Number(values.seed) : (Date.now() % 0x7fff_ffff)
const minutes = values.minutes !== undefined ? Number(values.minutes) : undefined
if (!Number.isSafeInteger(iterations) || iterations < 1 || !Number.isInteger(seed) || !(budgetMs > 0) || (minutes !== undefined && !(minutes > 0))) {
  console.error('usage: npm run fuzz -- --iterations N [--minutes M] [--only name,…] [--seed integer] [--budget ms] [--list]')
  process.exit(2)
}
const all = await buildTargets()
if (values.list) {
  console.log(inventory(all).join('\n'))
  process.exit(0)
}
const only = values.only?.split(',')
const targets = only === undefined ? all : all.filter((t) => only.includes(t.name))
if (targets.length === 0) { console.error(`no target named ${String(values.only)}; --list shows them`); process.exit(2) }

const FINDINGS = join(import.meta.dirname, 'findings')

interface Tally { name: string, done: number, accepted: number, refused: number, crashes: number, hangs: number, seconds: number }

function record (target: Target, index: number, outcome: Outcome, input: string): void {
  mkdirSync(FINDINGS, { recursive: true })
  const file = join(FINDINGS, `${target.name}-${seed}-${index}.json`)
  writeFileSync(file, JSON.stringify({ target: target.name, seed, index, outcome, input: JSON.parse(input) }, null, 2) + '\n')
  console.log(`  ${outcome.kind.toUpperCase()} in ${target.name} at input ${index}: ${file}`)
}

/** Fuzz one target in a worker, until `iterations` inputs or `deadline` (epoch ms), whichever comes first. */
async function fuzz (target: Target, deadline?: number): Promise<Tally> {
  // [index of the input in hand, 1 once the worker has loaded its target]
  const shared = new SharedArrayBuffer(8)
  const at = new Int32Array(shared)
  const tally: Tally = { name: target.name, done: 0, accepted: 0, refused: 0, crashes: 0, hangs: 0, seconds: 0 }
  const started = performance.now()
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: { name: target.name, seed, iterations, budgetMs, shared, deadline },
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB }
  })
  let lastPrint = 0
  await new Promise<void>((resolve) => {
    let seen = -1
    let since = performance.now()
    const watchdog = setInterval(() => {
      const now = Atomics.load(at, 0)
      if (Atomics.load(at, 1) === 0) return
      if (now !== seen) { seen = now; since = performance.now(); return }
      if (performance.now() - since < Math.max(10_000, WATCHDOG_BUDGETS * budgetMs)) return
      tally.hangs++
      record(target, now, { kind: 'hang', ms: performance.now() - since }, serialiseInput(inputAt(target, seed, now)))
      void worker.terminate()
    }, 1000)
    worker.on('message', (m: { type: string, done: number, accepted: number, refused: number, index: number, outcome: Outcome, input: string }) => {
      if (m.type === 'finding') {
        if (m.outcome.kind === 'hang') tally.hangs++
        else tally.crashes++
        record(target, m.index, m.outcome, m.input)
        return
      }
      tally.done = m.done
      tally.accepted = m.accepted
      tally.refused = m.refused
      if (performance.now() - lastPrint > 15_000) {
        lastPrint = performance.now()
        const rate = tally.done / ((performance.now() - started) / 1000)
        console.log(`  ${target.name}: ${tally.done}/${iterations}, ${tally.accepted} accepted, ${tally.refused} refused, ` +
          `${tally.crashes} crashes, ${tally.hangs} hangs (${rate.toFixed(0)}/s)`)
      }
    })
    worker.on('error', (e) => {
      // Out of heap, or an exception outside any call: the input in hand is the finding.
      tally.crashes++
      const index = Atomics.load(at, 0)
      record(target, index, { kind: 'crash', error: `worker died: ${e.message}` }, serialiseInput(inputAt(target, seed, index)))
    })
    worker.on('exit', () => { clearInterval(watchdog); resolve() })
  })
  tally.seconds = (performance.now() - started) / 1000
  return tally
}

const within = minutes === undefined ? '' : `, within ${minutes} minutes`
console.log(`fuzzing ${targets.length} targets, up to ${iterations} inputs each${within}, seed ${seed}, budget ${budgetMs} ms per call`)
const runStarted = Date.now()
const runEnds = minutes === undefined ? undefined : runStarted + minutes * 60_000
const tallies: Tally[] = []
for (const [i, t] of targets.entries()) {
  console.log(`${t.name}: ${t.fn}`)
  tallies.push(await fuzz(t, runEnds === undefined ? undefined : Date.now() + (runEnds - Date.now()) / (targets.length - i)))
}
console.log('\ntarget           iterations   accepted    refused  crashes  hangs  seconds')
for (const t of tallies) {
  console.log(`${t.name.padEnd(16)} ${String(t.done).padStart(10)} ${String(t.accepted).padStart(10)} ${String(t.refused).padStart(10)} ` +
    `${String(t.crashes).padStart(8)} ${String(t.hangs).padStart(6)} ${t.seconds.toFixed(0).padStart(8)}`)
}
const total = tallies.reduce((n, t) => n + t.done, 0)
console.log(`${total} inputs in ${((Date.now() - runStarted) / 1000).toFixed(0)} s`)
const failed = tallies.some((t) => t.crashes + t.hangs > 0)
console.log(`seed ${seed}: ${failed ? 'FINDINGS (see test/fuzz/findings/)' : 'no crashes, no hangs'}`)
process.exit(failed ? 1 : 0)
