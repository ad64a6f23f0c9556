import { readFileSync, readdirSync } from 'node:fs'
import { ProcessNetwork } from './sim/process-network.ts'
const net = await ProcessNetwork.start({ nodes: 6, sites: 6, env: process.env.PROBE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.PROBE_NODE_OPTIONS } : {} })
await new Promise((r) => setTimeout(r, Number(process.env.PROBE_WAIT ?? 40000)))
const snap = (pid: number) => {
  const threads: Record<string, number[]> = {}
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'); const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    const st = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8')
    const v = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)![1])
    const a = threads[name] ?? [0, 0, 0]; a[0] += Number(f[11]); a[1] += Number(f[12]); a[2] += v; threads[name] = a
  }
  return threads
}
const pids = net.nodes.map((n) => n.child!.pid!)
const before = pids.map(snap)
await new Promise((r) => setTimeout(r, 20000))
const after = pids.map(snap)
pids.forEach((pid, i) => {
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]
  const line = Object.keys(after[i]).map((k) => { const b = before[i][k] ?? [0, 0, 0]; const a = after[i][k]; return `${k}:u${a[0] - b[0]} s${a[1] - b[1]} cs${a[2] - b[2]}` }).join('  ')
  console.log(`node ${i + 1} rss ${(Number(rss) / 1024).toFixed(0)}MB ${line}`)
})
await net.stop()
process.exit(0)
