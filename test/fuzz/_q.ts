import fc from 'fast-check'
import { buildTargets } from './targets.ts'
import { judge } from './target.ts'
const targets = await buildTargets()
for (const t of targets) {
  const start = performance.now()
  const counts: Record<string, number> = {}
  let first = ''
  for (const input of fc.sample(t.input, { seed: 1, numRuns: Number(process.argv[2] ?? 300) })) {
    const o = await judge(t, input, 5000)
    const k = o.kind === 'refused' ? 'refused' : o.kind
    counts[k] = (counts[k] ?? 0) + 1
    if ((o.kind === 'crash' || o.kind === 'hang') && first === '') first = JSON.stringify(o).slice(0, 400)
  }
  console.log(t.name, JSON.stringify(counts), (performance.now() - start).toFixed(0) + 'ms', first)
}
