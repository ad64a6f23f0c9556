/**
 * Test helper: a network of real `bioshard node start` processes, one node
 * per site, under one authority in a directory of its own. A node can be
 * SIGKILLed and started again on the same directory and address (peers'
 * address books stay right), bootstrapping through every other running
 * node, and, with `--reconcile-now`, waited on until its first
 * reconciliation pass has ended: a restart is over when the node says so,
 * not after a sleep.
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { provisionNode } from '../../sim/local-network.ts'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier, type Authority } from '../../keys/authority.ts'
import { toWire } from '../../protocol/signed.ts'
import type { Tenant, Verifier } from '../../sim/local-network.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { startNodeProcess, type Exit, type NodeProcess } from './node-process.ts'

/** How long a (re)start may take to print `ready` on a loaded machine: it only ends a start that hangs. */
const READY_TIMEOUT_MS = 120_000
/** How long the first reconciliation pass may take: one lookup per share, each bounded by RECONCILE_TIMEOUT_MS (10 s). */
const RECONCILED_TIMEOUT_MS = 180_000

/** One node of the fleet. */
export interface FleetNode {
  index: number
  dir: string
  site: string
  peer: string
  /** Its listen address with /p2p, fixed at the first start. */
  addr?: string
  /** The running process, if any. */
  proc?: NodeProcess
}

/**
 * Start or restart options of one node.
 * `reconcile`: pass `--reconcile-now` and wait for the `reconciled` line (returned).
 */
export interface FleetStart { reconcile?: boolean }

/** Wait (bounded) for a line matching `re` on the child's stdout; the process ending first fails. */
async function lineOf (proc: NodeProcess, re: RegExp, timeoutMs: number): Promise<string> {
  const found = (): string | undefined => re.exec(proc.stdout())?.[0]
  const now = found()
  if (now !== undefined) return now
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { done(new Error(`no ${String(re)} line within ${timeoutMs} ms:\n${proc.stderr()}`)) }, timeoutMs)
    const check = (): void => { const l = found(); if (l !== undefined) done(l) }
    const exited = (e: Exit): void => { done(found() ?? new Error(`node exited (${e.code ?? e.signal}) before ${String(re)}:\n${proc.stderr()}`)) }
    function done (out: string | Error): void {
      clearTimeout(timer)
      proc.child.stdout?.off('data', check)
      if (typeof out === 'string') resolve(out)
      else reject(out)
    }
    proc.child.stdout?.on('data', check)
    void proc.exited.then(exited)
  })
}

/**
 * A fleet of `nodes` node directories at `site-1` … `site-n` under `root`.
 *
 * @example
 * const fleet = await NodeFleet.create(root, 5)
 * await fleet.startAll()
 * await fleet.kill(2); await fleet.start(2, { reconcile: true })
 */
export class NodeFleet {
  readonly root: string
  readonly authority: Authority
  readonly nodes: FleetNode[]

  private constructor (root: string, authority: Authority, nodes: FleetNode[]) {
    this.root = root
    this.authority = authority
    this.nodes = nodes
  }

  /** Provision an authority and `count` node directories (nothing runs yet). */
  static async create (root: string, count: number): Promise<NodeFleet> {
    initAuthority(join(root, 'authority'))
    const authority = loadAuthority(join(root, 'authority'))
    const nodes: FleetNode[] = []
    for (let i = 0; i < count; i++) {
      const dir = join(root, `node-${i + 1}`)
      const site = `site-${i + 1}`
      nodes.push({ index: i, dir, site, peer: await provisionNode({ dir, site, authority }) })
    }
    return new NodeFleet(root, authority, nodes)
  }

  get anchor (): TrustAnchor { return { network: this.authority.info.network, authorities: [this.authority.info.publicKey] } }

  /** Admit a tenant of this fleet's authority. */
  tenant (name: string): Tenant {
    const t = admitTenant(this.authority, name)
    return { key: t.key, cert: t.cert, wire: toWire(t.cert) }
  }

  /** Authorise a verifier of `tenant` for 'login'. */
  verifier (tenant: Tenant): Verifier {
    const v = authoriseVerifier(tenant.key, 'verifier', ['login'])
    return { key: v.key, cert: v.cert, wire: toWire(v.cert), chain: tenant.wire }
  }

  /** Addresses of the running nodes (with /p2p), optionally leaving one out. */
  running (except?: number): string[] {
    return this.nodes.filter((n) => n.index !== except && n.proc !== undefined && n.addr !== undefined).map((n) => n.addr as string)
  }

  /** Start every node, the first alone, then the others through it. */
  async startAll (): Promise<void> {
    await this.start(0)
    await Promise.all(this.nodes.slice(1).map(async (n) => { await this.start(n.index) }))
  }

  /**
   * Start node `index` on its directory (at its first address once it had one), bootstrapping through every running node.
   *
   * @returns the `reconciled …` line when `o.reconcile`, else undefined
   */
  async start (index: number, o: FleetStart = {}): Promise<string | undefined> {
    const n = this.nodes[index]
    if (n.proc !== undefined) throw new Error(`node ${index} is running`)
    const env: NodeJS.ProcessEnv = {}
    if (n.addr !== undefined) env.BIOSHARD_LISTEN = multiaddr(n.addr).decapsulate('/p2p').toString()
    const peers = this.running(index)
    if (peers.length > 0) env.BIOSHARD_BOOTSTRAP = peers.join(',')
    const proc = await startNodeProcess(n.dir, o.reconcile === true ? ['--reconcile-now'] : [], { env, readyTimeoutMs: READY_TIMEOUT_MS })
    if (proc.peer !== n.peer) { await proc.kill('SIGKILL'); throw new Error(`node ${index} started as ${proc.peer}, expected ${n.peer}`) }
    n.proc = proc
    n.addr ??= proc.addrs.find((a) => a.startsWith('/ip4/127.0.0.1/')) ?? proc.addrs[0]
    return o.reconcile === true ? await lineOf(proc, /^reconciled .*$/m, RECONCILED_TIMEOUT_MS) : undefined
  }

  /** SIGKILL node `index` (if running) and wait for its exit. */
  async kill (index: number): Promise<Exit | undefined> {
    const n = this.nodes[index]
    const proc = n.proc
    if (proc === undefined) return undefined
    n.proc = undefined
    proc.child.kill('SIGKILL')
    return await proc.exited
  }

  /** SIGKILL every running node. */
  async close (): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => { await this.kill(n.index) }))
  }
}
