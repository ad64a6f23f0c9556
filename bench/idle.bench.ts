/**
 * What an idle site node costs: resident memory and CPU of each node process
 * in a 6-node network after it has settled, beside a bare js-libp2p process
 * with the same transport stack, idling with the same number of peers, in
 * the same run (so the ratio says what bioshard adds).
 *
 * Run alone: `node bench/idle.bench.ts` (prints a table).
 *
 * @module
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { ProcessNetwork } from '../sim/process-network.ts'
import { createHost, type Host } from '../net/host.ts'
import { request } from '../net/rpc.ts'
import { encodeAdmitMessage, readAdmitMessage } from '../protocol/admit.ts'
import { makeClientProof } from '../protocol/client-proof.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import { startChild, ROOT, type ChildPeer } from './fixtures/child.ts'
import { summarize, compare, progress, printTable, type BenchResult } from './harness.ts'

const NODES = 6
/** Goals from the product's issue, per node process after a minute idle. */
const RSS_GOAL_MB = 80
const CPU_GOAL_PERCENT = 1
/** Idle time before sampling: the "after a minute idle". */
const IDLE_MS = Number(process.env.BIOSHARD_BENCH_IDLE_MS ?? 60_000)
/** CPU window: long enough that a 30 s timer fires in it, and 1 tick (10 ms) is 0.05 %. */
const WINDOW_MS = Number(process.env.BIOSHARD_BENCH_IDLE_WINDOW_MS ?? Math.min(20_000, Math.max(IDLE_MS, 1_000)))
const CONVERGE_TIMEOUT_MS = 60_000
const POLL_MS = 250
const REQUEST_TIMEOUT_MS = 5_000
/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
const MIB = 1024 * 1024
/**
 * The compile cache `bin/bioshard.js` gives node processes, given to the
 * baseline too, so neither side carries the TypeScript stripper that running
 * from source needs.
 */
const COMPILE_CACHE = join(ROOT, 'node_modules', '.cache', 'bioshard')

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resident set size of a process, MB. */
function rssMb (pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kb) * 1024 / MIB
}

/**
 * Proportional set size of a process, MB: its private pages plus its share of
 * pages mapped by several processes (the Node binary, shared libraries), so
 * the PSS of all processes on a host adds up to what they hold together.
 */
function pssMb (pid: number): number {
  const kb = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]
  if (kb === undefined) throw new Error(`no Pss for process ${pid}`)
  return Number(kb) * 1024 / MIB
}

/** CPU time a process has used (user + system), seconds. */
function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** Inodes of the established TCP sockets on loopback whose far end listens on one of `ports`. */
function establishedTo (pid: number, ports: ReadonlySet<number>): number {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m !== null) inodes.add(m[1])
    } catch {}
  }
  let n = 0
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9])) continue
    const local = parseInt(f[1].split(':')[1], 16)
    const remote = parseInt(f[2].split(':')[1], 16)
    if (ports.has(remote) || ports.has(local)) n++
  }
  return n
}

function portOf (addr: string): number {
  return Number(/\/tcp\/(\d+)/.exec(addr)?.[1])
}

/**
 * Ask each node for its roster until every one lists all nodes with their
 * address statements, through an observer that stops afterwards.
 */
async function awaitRosters (net: ProcessNetwork): Promise<void> {
  const anchor = { network: net.info.network, authorities: [net.info.publicKey] }
  const tenant = net.tenant('idle-observer')
  const observer: Host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client' })
  await observer.start()
  try {
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS
    const pending = new Set(net.nodes.map((n) => n.addr as string))
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`rosters did not converge within ${CONVERGE_TIMEOUT_MS} ms (${pending.size} nodes short)`)
      for (const addr of [...pending]) {
        const proof = makeClientProof({ key: tenant.key, cert: tenant.wire }, net.info.network, observer.peerId.toString(), Date.now())
        const body = await request(observer, multiaddr(addr), PROTOCOL.ADMIT, {
          body: encodeAdmitMessage([], proof),
          timeoutMs: REQUEST_TIMEOUT_MS,
          maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
        }).catch(() => undefined)
        if (body === undefined) continue
        const entries = readAdmitMessage(body).entries
        if (entries.length === NODES && entries.every((e) => e.addrs !== undefined)) pending.delete(addr)
      }
      if (pending.size > 0) await sleep(POLL_MS)
    }
  } finally {
    await observer.stop()
  }
}

/** Wait until every process has an established connection to each of the others (or give up: the note gives the counts). */
async function awaitMesh (pids: readonly number[], ports: ReadonlySet<number>): Promise<number[]> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS
  for (;;) {
    const counts = pids.map((pid) => establishedTo(pid, ports))
    if (counts.every((c) => c >= pids.length - 1) || Date.now() > deadline) return counts
    await sleep(POLL_MS)
  }
}

/** Start the baseline: six bare peers, each dialling the ones before it. */
async function startBare (children: ChildPeer[]): Promise<ChildPeer[]> {
  const bare: ChildPeer[] = []
  for (let i = 0; i < NODES; i++) {
    const earlier = bare.map((b) => b.addrs[0])
    const peer = await startChild('bench/fixtures/bare-peer.ts', earlier, { label: `bare-${i + 1}`, env: { NODE_COMPILE_CACHE: COMPILE_CACHE } })
    children.push(peer)
    bare.push(peer)
  }
  return bare
}

interface Sampled { rss: number[], pss: number[], cpu: number[] }

/** RSS now and CPU over the window, for each process at once. */
async function sampleAll (pids: readonly number[]): Promise<Sampled> {
  const before = pids.map(cpuSeconds)
  const t0 = performance.now()
  await sleep(WINDOW_MS)
  const seconds = (performance.now() - t0) / 1_000
  const cpu = pids.map((pid, i) => 100 * (cpuSeconds(pid) - before[i]) / seconds)
  return { rss: pids.map(rssMb), pss: pids.map(pssMb), cpu }
}

function rows (label: string, s: Sampled, note: string): [BenchResult, BenchResult, BenchResult] {
  const mark = (r: BenchResult): BenchResult => ({ ...r, opsPerSec: NaN })
  const rss = mark(summarize(`${label} RSS`, s.rss, { unit: 'MB', note }))
  const pss = mark(summarize(`${label} PSS`, s.pss, { unit: 'MB', note: 'RSS with pages shared by the processes on the host divided among them' }))
  const cpu = mark(summarize(`${label} CPU`, s.cpu, { unit: '%', note: `% of one core over ${(WINDOW_MS / 1_000).toFixed(0)} s` }))
  return [rss, pss, cpu]
}

/** The goal lines, on stdout. */
function goalLines (s: Sampled): string {
  const maxRss = Math.max(...s.rss)
  const maxCpu = Math.max(...s.cpu)
  return `idle goal: RSS per node ≤ ${RSS_GOAL_MB} MB: max ${maxRss.toFixed(1)} MB ${maxRss <= RSS_GOAL_MB ? 'ok' : 'MISS'}\n` +
    `idle goal: CPU per node ≤ ${CPU_GOAL_PERCENT} % of a core: max ${maxCpu.toFixed(2)} % ${maxCpu <= CPU_GOAL_PERCENT ? 'ok' : 'MISS'}\n`
}

/** Node options that make each node process write a CPU profile when it stops, when asked to. */
function profileEnv (): NodeJS.ProcessEnv {
  const dir = process.env.BIOSHARD_BENCH_CPU_PROF
  if (dir === undefined || dir === '') return {}
  mkdirSync(resolve(dir), { recursive: true })
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${resolve(dir)}`.trim() }
}

/**
 * Run the idle benchmark (about 2 minutes with the default idle time).
 *
 * Setup: `ProcessNetwork` with 6 nodes at 6 sites, each `bioshard node
 * start` in its own process; the run waits until every node's roster lists
 * all six nodes with their addresses (asked of each node by a short-lived
 * observer that leaves before the idle period). The baseline is six
 * `bench/fixtures/bare-peer.ts` processes (TCP, noise, yamux, identify,
 * ping) in a full mesh, with the node processes' compile cache and Node's
 * defaults otherwise; the note gives each side's TCP links per process.
 *
 * Measured per process, after everything has idled for a while: RSS
 * (`VmRSS` of /proc/<pid>/status, MB of 2^20 bytes) and CPU (utime + stime
 * of /proc/<pid>/stat over a window, as % of one core). Rows give the median
 * (and, in the p99 column, the maximum) across the six processes, against
 * {@link RSS_GOAL_MB} and {@link CPU_GOAL_PERCENT}.
 *
 * Knobs: `BIOSHARD_BENCH_IDLE_MS` (idle before sampling, default 60 s),
 * `BIOSHARD_BENCH_IDLE_WINDOW_MS` (CPU window, default and minimum 20 s,
 * unless the idle time is shortened too, for a quick check),
 * `BIOSHARD_BENCH_CPU_PROF=<dir>` (one `.cpuprofile` per node process).
 *
 * @returns RSS and CPU of the node processes and of the bare libp2p baseline, node rows with their ratio to it
 * @example printTable(await run(), 'idle')
 */
export async function run (): Promise<BenchResult[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'bioshard-bench-idle-'))
  const children: ChildPeer[] = []
  let net: ProcessNetwork | undefined
  try {
    progress(`idle: starting ${NODES} node processes at ${NODES} sites`)
    net = await ProcessNetwork.start({ nodes: NODES, sites: NODES, dir: join(scratch, 'net'), env: profileEnv(), onProgress: (m) => { progress(`  ${m}`) } })
    progress('idle: waiting for every roster to list every node')
    await awaitRosters(net)
    const nodePids = net.nodes.map((n) => n.child?.pid as number)
    const nodePorts = new Set(net.nodes.map((n) => portOf(n.addr as string)))
    progress(`idle: starting ${NODES} bare libp2p peers (baseline)`)
    const bare = await startBare(children)
    const barePids = bare.map((b) => b.pid)
    const barePorts = new Set(bare.map((b) => portOf(b.addrs[0])))
    // Nodes connect as admission and the DHT lead them (not necessarily to every other node); the baseline is a full mesh.
    const bareLinks = await awaitMesh(barePids, barePorts)
    for (let left = IDLE_MS; left > 0; left -= 10_000) {
      progress(`idle: idling, ${(left / 1_000).toFixed(0)} s to go`)
      await sleep(Math.min(left, 10_000))
    }
    const nodeLinks = nodePids.map((pid) => establishedTo(pid, nodePorts))
    progress(`idle: connections per process: nodes ${nodeLinks.join(' ')}, bare ${bareLinks.join(' ')}`)
    progress(`idle: sampling RSS and CPU over ${(WINDOW_MS / 1_000).toFixed(0)} s`)
    const sampled = await sampleAll([...nodePids, ...barePids])
    const part = (from: number, to?: number): Sampled =>
      ({ rss: sampled.rss.slice(from, to), pss: sampled.pss.slice(from, to), cpu: sampled.cpu.slice(from, to) })
    const nodes = part(0, NODES)
    const base = part(NODES)
    progress(`idle: nodes RSS ${nodes.rss.map((v) => v.toFixed(1)).join(' ')} MB, CPU ${nodes.cpu.map((v) => v.toFixed(2)).join(' ')} %`)
    progress(`idle: bare RSS ${base.rss.map((v) => v.toFixed(1)).join(' ')} MB, CPU ${base.cpu.map((v) => v.toFixed(2)).join(' ')} %`)
    const links = (c: number[]): string => `${NODES} processes, ${Math.min(...c)}–${Math.max(...c)} TCP links each; p99 column: max`
    const [bareRss, barePss, bareCpu] = rows('bare libp2p', base, `${links(bareLinks)}; tcp noise yamux identify ping`)
    const [nodeRss, nodePss, nodeCpu] = rows('site node', nodes, `${links(nodeLinks)}; after ${(IDLE_MS / 1_000).toFixed(0)} s idle`)
    compare(nodeRss, bareRss)
    compare(nodePss, barePss)
    if (bareCpu.median > 0) compare(nodeCpu, bareCpu)
    process.stdout.write(goalLines(nodes))
    return [bareRss, nodeRss, barePss, nodePss, bareCpu, nodeCpu]
  } finally {
    await Promise.all(children.map(async (c) => { await c.stop() }))
    await net?.stop().catch(() => {})
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printTable(await run(), 'idle')
