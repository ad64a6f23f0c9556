/**
 * How the in-process simulator network scales: for each network size, start
 * a LocalNetwork, wait for every roster to list every node, then measure
 * resident memory per node, the CPU all nodes use when idle, and the
 * enrolment rate of one verifier-library client with several enrolments in
 * flight. A size that does not converge is reported as such (with how far
 * the rosters got) rather than dropped.
 *
 * Run: `npm run sim:scale -- --nodes 50,100,200 --transport memory --templates 200`
 * (`--out FILE` for the JSON table, `--idle-ms`, `--converge-ms`, `--inflight`; `--threads K`
 * spreads the nodes over K worker threads, over tcp, as `bioshard sim --threads` does).
 *
 * @module
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { LocalNetwork } from '../sim/local-network.ts'
import { ThreadedFleet } from '../sim/fleet-threads.ts'
import { createClient } from '../index.ts'
import { syntheticIdentity, prng } from '../sim/synthetic.ts'

/** One row of the table. */
export interface ScaleRow {
  nodes: number
  transport: string
  threads: number
  startS: number
  /** Seconds until every roster listed every node; null when it did not within the deadline. */
  convergeS: number | null
  /** Roster sizes when measuring stopped: least, median, most. */
  roster: { min: number, median: number, max: number }
  /** Resident memory of the whole process, and its growth since start per node. */
  rssMB: number
  rssPerNodeMB: number
  heapPerNodeMB: number
  /** CPU of the whole process over the idle window, as a percentage of one core. */
  idleCpuPercent: number
  templates: number
  /** Enrolments per second through one client; null when no template was enrolled. */
  enrolPerS: number | null
  enrolFailures: number
  openFds: number
}

const MB = 1024 * 1024
/** This process before any network: what the per-node figures leave out. */
const INITIAL_RSS = process.memoryUsage().rss
const MODEL = 'synthetic-128'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50,100,200' },
    transport: { type: 'string', default: 'tcp' },
    threads: { type: 'string', default: '1' },
    templates: { type: 'string', default: '100' },
    inflight: { type: 'string', default: '8' },
    'idle-ms': { type: 'string', default: '20000' },
    'converge-ms': { type: 'string', default: '300000' },
    out: { type: 'string', default: 'sim-scale.json' }
  }
})
const sizes = (values.nodes ?? '').split(',').map(Number).filter((n) => n > 0)
const threads = Math.max(1, Number(values.threads))
const transport = values.transport === 'memory' && threads === 1 ? 'memory' : 'tcp'
const templates = Number(values.templates)
const inflight = Number(values.inflight)
const idleMs = Number(values['idle-ms'])
const convergeMs = Number(values['converge-ms'])

function progress (msg: string): void {
  process.stderr.write(`[sim-scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

function openFds (): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return -1
  }
}

/** The network measured: in this thread, or over worker threads. */
type Net = LocalNetwork | ThreadedFleet

async function rosterSizes (net: Net): Promise<ScaleRow['roster']> {
  const sizes = net instanceof ThreadedFleet ? await net.rosterSizes() : net.nodes.filter((n) => n?.libp2p !== undefined).map((n) => n.roster.size())
  const s = sizes.sort((a, b) => a - b)
  return { min: s[0] ?? 0, median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 }
}

/** Wait for convergence, printing roster sizes now and then. */
async function waitConverged (net: Net, n: number): Promise<number | null> {
  const t0 = performance.now()
  while (performance.now() - t0 < convergeMs) {
    const r = await rosterSizes(net)
    if (r.min >= n) return (performance.now() - t0) / 1000
    progress(`  rosters min/median/max ${r.min}/${r.median}/${r.max} of ${n}`)
    await sleep(Math.min(5_000, Math.max(500, n * 10)))
  }
  return null
}

async function measureIdle (): Promise<number> {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await sleep(idleMs)
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / 1000 / (performance.now() - t0) * 100
}

async function enrolRate (net: Net): Promise<{ perS: number | null, failures: number }> {
  if (templates <= 0) return { perS: null, failures: 0 }
  const tenant = net.tenant('bench')
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  const rand = prng(15)
  let next = 0
  let done = 0
  let failures = 0
  // One enrolment first, so the rate leaves out the client's first DHT lookups.
  await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 3, n: 5 }).catch((e: Error) => {
    progress(`  first enrolment failed: ${e.message}`)
  })
  const t0 = performance.now()
  try {
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < templates) {
        next++
        try {
          await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 3, n: 5 })
          done++
        } catch (e) {
          failures++
          if (failures <= 3) progress(`  enrol failed: ${(e as Error).message}`)
        }
        if ((done + failures) % 50 === 0) progress(`  ${done + failures}/${templates} enrolments`)
      }
    }))
  } finally {
    await client.close()
  }
  const s = (performance.now() - t0) / 1000
  return { perS: done > 0 ? done / s : null, failures }
}

async function runSize (n: number): Promise<ScaleRow> {
  global.gc?.()
  const base = process.memoryUsage()
  const initialRss = Math.min(base.rss, INITIAL_RSS)
  progress(`${n} nodes over ${transport} in ${threads} thread(s): starting`)
  const t0 = performance.now()
  const net: Net = threads > 1 ? await ThreadedFleet.start({ nodes: n, threads, seed: 0 }) : await LocalNetwork.start({ nodes: n, transport })
  const startS = (performance.now() - t0) / 1000
  progress(`  started in ${startS.toFixed(1)} s`)
  try {
    const convergeS = await waitConverged(net, n)
    const roster = await rosterSizes(net)
    progress(convergeS === null ? `  did not converge in ${convergeMs / 1000} s` : `  converged in ${convergeS.toFixed(1)} s`)
    await sleep(2_000)
    const idleCpuPercent = await measureIdle()
    global.gc?.()
    const mem = process.memoryUsage()
    const fds = openFds()
    progress(`  idle CPU ${idleCpuPercent.toFixed(1)} %, RSS ${(mem.rss / MB).toFixed(0)} MB`)
    const enrol = await enrolRate(net)
    return {
      nodes: n,
      transport,
      threads,
      startS: round(startS),
      convergeS: convergeS === null ? null : round(convergeS),
      roster,
      rssMB: round(mem.rss / MB),
      rssPerNodeMB: round((mem.rss - initialRss) / MB / n),
      heapPerNodeMB: round((mem.heapUsed - base.heapUsed) / MB / n),
      idleCpuPercent: round(idleCpuPercent),
      templates,
      enrolPerS: enrol.perS === null ? null : round(enrol.perS),
      enrolFailures: enrol.failures,
      openFds: fds
    }
  } finally {
    progress('  stopping')
    await net.stop()
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}

const rows: ScaleRow[] = []
for (const n of sizes) {
  try {
    rows.push(await runSize(n))
  } catch (e) {
    progress(`${n} nodes failed: ${(e as Error).stack ?? String(e)}`)
    break
  }
  writeFileSync(values.out ?? 'sim-scale.json', JSON.stringify(rows, null, 2) + '\n')
  console.log(JSON.stringify(rows[rows.length - 1]))
}
console.table(rows.map((r) => ({ ...r, roster: `${r.roster.min}/${r.roster.median}/${r.roster.max}` })))
process.exit(0)
