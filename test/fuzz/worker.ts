/**
 * One target's fuzz loop, in a worker thread so the runner can watch it from
 * outside: the index of the input in hand is kept in shared memory, and a
 * call that never returns, or a heap that grows past the worker's limit, is
 * caught by the runner (test/fuzz/run.ts), which rebuilds that input from
 * its seed and index. Findings the worker sees itself are posted back. The
 * loop ends at the job's iterations or its deadline, whichever comes first.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { buildTargets } from './targets.ts'
import { judge, serialiseInput } from './target.ts'
import { batchOf, BATCH } from './stream.ts'

/** What the runner asks of a worker. */
export interface WorkerJob { name: string, seed: number, iterations: number, budgetMs: number, shared: SharedArrayBuffer, deadline?: number }

const job = workerData as WorkerJob
const at = new Int32Array(job.shared)
const target = (await buildTargets()).find((t) => t.name === job.name)
if (target === undefined) throw new Error(`no target ${job.name}`)
// Warm-up, uncounted and unjudged: the first call compiles the decoder and loads its dependencies.
try { await target.run(batchOf(target, job.seed, 0)[0]) } catch {}
Atomics.store(at, 1, 1)
const counts = { accepted: 0, refused: 0 }
const late = (): boolean => job.deadline !== undefined && Date.now() >= job.deadline
for (let batch = 0, i = 0; i < job.iterations && !late(); batch++) {
  const inputs = batchOf(target, job.seed, batch)
  for (let j = 0; j < BATCH && i < job.iterations && !late(); j++, i++) {
    Atomics.store(at, 0, i)
    const o = await judge(target, inputs[j], job.budgetMs)
    if (o.kind === 'accepted' || o.kind === 'refused') counts[o.kind]++
    else parentPort?.postMessage({ type: 'finding', index: i, outcome: o, input: serialiseInput(inputs[j]) })
  }
  parentPort?.postMessage({ type: 'progress', done: i, ...counts })
}
