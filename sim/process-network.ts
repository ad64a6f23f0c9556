/**
 * A local network of real node processes: each node is `bioshard node start`
 * in its own OS process (TCP on loopback, level on disk), provisioned by an
 * authority made on the spot. The devnet, multi-process tests and benchmarks
 * use it; nodes can be killed (SIGKILL) and restarted to test durability and
 * churn.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { initAuthority, loadAuthority, admitTenant, type AuthorityInfo } from '../keys/authority.ts'
import { provisionNode, type Tenant } from './local-network.ts'
import { toWire } from '../protocol/signed.ts'
import type { Limits } from '../node/config.ts'

// The package root is one level up from the sources, two from the compiled code in dist/.
const CLI = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../bin/bioshard.js' : '../bin/bioshard.js', import.meta.url))
const READY_TIMEOUT_MS = 30_000

export interface NodeProcess {
  index: number
  dir: string
  site: string
  peer: string
  addr?: string
  child?: ChildProcess
  /** Last lines of stderr, for diagnosing a node that failed to start. */
  log: string[]
}

export interface ProcessNetworkOptions {
  nodes: number
  sites?: number
  dir?: string
  keep?: boolean
  limits?: Partial<Limits>
  /** Called as nodes come up (progress for long starts). */
  onProgress?: (message: string) => void
  env?: NodeJS.ProcessEnv
}

export class ProcessNetwork {
  readonly dir: string
  readonly authority: ReturnType<typeof loadAuthority>
  readonly nodes: NodeProcess[] = []
  private readonly options: ProcessNetworkOptions

  private constructor (dir: string, options: ProcessNetworkOptions) {
    this.dir = dir
    this.options = options
    initAuthority(join(dir, 'authority'))
    this.authority = loadAuthority(join(dir, 'authority'))
  }

  /** Provision and start `nodes` node processes; resolves when all are ready. */
  static async start (options: ProcessNetworkOptions): Promise<ProcessNetwork> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bioshard-devnet-'))
    const net = new ProcessNetwork(dir, options)
    const sites = options.sites ?? options.nodes
    try {
      for (let i = 0; i < options.nodes; i++) {
        const site = `site-${(i % sites) + 1}`
        const nodeDir = join(dir, `node-${i + 1}`)
        const peer = await provisionNode({ dir: nodeDir, site, authority: net.authority, limits: options.limits })
        net.nodes.push({ index: i, dir: nodeDir, site, peer, log: [] })
      }
      await net.startNode(net.nodes[0])
      await Promise.all(net.nodes.slice(1).map(async (n) => await net.startNode(n)))
    } catch (e) {
      await net.stop()
      throw e
    }
    return net
  }

  get info (): AuthorityInfo { return this.authority.info }

  /** Addresses of running nodes (bootstrap list for clients). */
  get bootstrap (): string[] {
    return this.nodes.filter((n) => n.child !== undefined && n.addr !== undefined).map((n) => n.addr as string)
  }

  /** Start (or restart) one node process and wait for its `ready` line. */
  async startNode (node: NodeProcess): Promise<void> {
    const bootstrap = this.bootstrap.filter((a) => !a.endsWith(node.peer)).slice(0, 3)
    const child = spawn(process.execPath, [CLI, 'node', 'start', '--dir', node.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.options.env, BIOSHARD_BOOTSTRAP: bootstrap.join(','), BIOSHARD_METRICS: 'off' }
    })
    node.child = child
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { node.log.push(...d.split('\n').filter(Boolean)); node.log.splice(0, node.log.length - 50) })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => { reject(new Error(`node ${node.index + 1} did not become ready: ${node.log.slice(-5).join(' | ')}`)) }, READY_TIMEOUT_MS)
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d
        const addr = /listening (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/.exec(out)?.[1]
        if (addr !== undefined) node.addr = addr
        if (/^ready$/m.test(out)) { clearTimeout(timer); resolve() }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        node.child = undefined
        reject(new Error(`node ${node.index + 1} exited with ${code}: ${node.log.slice(-5).join(' | ')}`))
      })
    })
    child.removeAllListeners('exit')
    child.once('exit', () => { node.child = undefined })
    this.options.onProgress?.(`node ${node.index + 1} (${node.site}) ready at ${node.addr ?? '?'}`)
  }

  /** Stop one node: SIGTERM for a clean shutdown, SIGKILL to simulate a crash. */
  async stopNode (node: NodeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = node.child
    if (child === undefined) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
    node.child = undefined
  }

  /** Admit a tenant (key + certificate). */
  tenant (name = 'tenant'): Tenant & { seed: Uint8Array, bytes: Uint8Array } {
    const t = admitTenant(this.authority, name)
    return { key: t.key, cert: t.cert, wire: toWire(t.cert), seed: t.seed, bytes: t.bytes }
  }

  /** Stop every node; remove the directory unless `keep` or a caller-given dir. */
  async stop (): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => await this.stopNode(n)))
    if (this.options.keep !== true && this.options.dir === undefined) rmSync(this.dir, { recursive: true, force: true })
  }
}
