/**
 * A local network of real site nodes on 127.0.0.1: an authority made on the
 * spot, N node directories in a temp dir, each node a full SiteNode (libp2p
 * over TCP on loopback, or over in-process memory channels; level on disk) in
 * this process. Tests, the devnet and the simulator build on it; nothing here
 * is mocked.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initAuthority, loadAuthority, admitNode, admitTenant, authoriseVerifier, type AuthorityInfo } from '../keys/authority.ts'
import { initKeys } from '../node/keys.ts'
import { writeConfig, CONFIG_VERSION, DEFAULT_LIMITS, type Limits } from '../node/config.ts'
import { SiteNode, type SiteNodeOptions } from '../node/site-node.ts'
import { HOLDER_HANDLERS, type HandlerEntry } from '../node/handlers/registry.ts'
import type { RequestContext } from '../net/rpc.ts'
import type { LinkDirection } from '../net/host.ts'
import { faultyHandlers, type Faults } from './faults.ts'
import { ensurePrivateDir } from '../keys/files.ts'
import { toHex } from '../crypto/bytes.ts'
import type { SigningKey } from '../crypto/sign.ts'
import type { TenantCert, VerifierCert, TrustAnchor } from '../protocol/certs.ts'
import { toWire, type SignedWire } from '../protocol/signed.ts'

/** Nodes started at once by {@link LocalNetwork.start}: enough to overlap disk and handshakes, few enough not to starve a 2-core event loop. */
const START_CONCURRENCY = 32
/**
 * How long {@link LocalNetwork.converged} waits by default for every roster to
 * list every node. Gossip takes a few exchanges; the deadline only ends a
 * network that cannot converge, so it is generous for a machine busy with other work.
 */
const CONVERGE_MS = 60_000

export interface LocalNetworkOptions {
  /** Number of nodes. */
  nodes: number
  /** Number of distinct sites; nodes are assigned round-robin. @default nodes */
  sites?: number
  /** Parent directory (a fresh temp dir when absent; removed on stop unless `keep`). */
  dir?: string
  keep?: boolean
  limits?: Partial<Limits>
  /** The 32-byte peer-key seed of node `index` (0-based), for repeatable peer ids; fresh keys when absent. */
  identitySeed?: (index: number) => Uint8Array
  /**
   * How nodes reach each other: TCP on 127.0.0.1, or in-process memory
   * channels (`/memory/<unique>` addresses; a client dialling them must be
   * in this process too).
   * @default 'tcp'
   */
  transport?: 'tcp' | 'memory'
  /** Nodes started at once after the first. @default 32 */
  startConcurrency?: number
  /** When every node reconciles its shares on its own (a simulator turns the schedule off and calls `SiteNode.reconcile`). @default the node's */
  reconcile?: SiteNodeOptions['reconcile']
  /** Serve each node's /metrics and /healthz on a free port of 127.0.0.1 (`SiteNode.metricsUrl`). @default false */
  metrics?: boolean
}

export interface Tenant { key: SigningKey, cert: TenantCert, wire: SignedWire }
/** A verifier: its key, certificate, the certificate's wire form, and its tenant's certificate (the chain to the authority). */
export interface Verifier { key: SigningKey, cert: VerifierCert, wire: SignedWire, chain?: SignedWire }

/** Where and how to provision one node directory. */
export interface ProvisionOptions {
  /** The node directory (created private). */
  dir: string
  site: string
  /** The authority that issues the node's certificate. */
  authority: ReturnType<typeof loadAuthority>
  /** Multiaddrs (with /p2p/<id>) to join through. @default [] */
  bootstrap?: string[]
  /** Limits over the defaults. */
  limits?: Partial<Limits> | undefined
  /** The 32-byte seed of the node's peer key (initKeys); fresh when absent. */
  identitySeed?: Uint8Array | undefined
  /** Where the node listens. @default ['/ip4/127.0.0.1/tcp/0'] */
  listen?: string[]
}

/**
 * Initialise a node directory: config, keys, and a certificate from `authority`.
 *
 * @returns the node's peer id
 * @example const peer = await provisionNode({ dir, site: 'site-1', authority })
 */
export async function provisionNode (o: ProvisionOptions): Promise<string> {
  const { dir, site, authority, bootstrap = [], limits = {}, listen = ['/ip4/127.0.0.1/tcp/0'], identitySeed } = o
  ensurePrivateDir(dir)
  writeConfig(dir, {
    version: CONFIG_VERSION,
    site,
    network: authority.info.network,
    authorities: [toHex(authority.info.publicKey)],
    listen,
    bootstrap,
    metrics: null,
    limits: { ...DEFAULT_LIMITS, ...limits }
  })
  const peer = await initKeys(dir, identitySeed)
  writeFileSync(join(dir, 'node.cert'), admitNode(authority, peer, site).bytes)
  return peer
}

/** How one node runs: its clock, its handler table, its link policy (each over the network's hooks when absent). */
export interface NodeRunOptions {
  /** The node's clock. @default the network's `hooks.now`, else Date.now */
  now?: () => number
  /** The holder protocols it serves (always wrapped by the network's `hooks.around`). @default HOLDER_HANDLERS */
  handlers?: readonly HandlerEntry[]
  /** Which peers it refuses to connect with. @default the network's `hooks.isDenied` */
  links?: NonNullable<SiteNodeOptions['links']>
}

/**
 * What a simulator may turn on running nodes, asked on every clock read,
 * request and connection of every node this network opens (none set: the
 * real clock, the request served as is, every link open). Faults set through
 * these need no restart.
 */
export interface NodeHooks {
  /** Node `node`'s clock. */
  now?: (node: number) => number
  /** Serve (or delay, or drop) one request node `node` received for `protocol`; `serve` runs the real handler. */
  around?: (node: number, protocol: string, ctx: RequestContext, serve: () => Promise<unknown>) => Promise<unknown>
  /** Does node `node` refuse a connection with `peer`? */
  isDenied?: (node: number, peer: string, direction: LinkDirection) => boolean
}

/** Admit a tenant under `authority` (key + certificate). */
export function issueTenant (authority: ReturnType<typeof loadAuthority>, name = 'tenant'): Tenant {
  const t = admitTenant(authority, name)
  return { key: t.key, cert: t.cert, wire: toWire(t.cert) }
}

/** Authorise a verifier under `tenant` for `purposes`. */
export function issueVerifier (tenant: Tenant, purposes: string[] = ['login'], name = 'verifier'): Verifier {
  const v = authoriseVerifier(tenant.key, name, purposes)
  return { key: v.key, cert: v.cert, wire: toWire(v.cert), chain: tenant.wire }
}

/** How one node is opened: its index and directory, its run options, the hooks it asks, and the network's options. */
export interface NodeWiring {
  index: number
  dir: string
  run: NodeRunOptions
  /** The hooks in force, read on every call (they may be replaced while the node runs). */
  hooks: () => NodeHooks
  metrics?: boolean | undefined
  reconcile?: SiteNodeOptions['reconcile'] | undefined
}

/** A node's open options: its run options, each over the hooks (the handlers always wrapped by `around`). */
export function wireNode (w: NodeWiring): SiteNodeOptions {
  const { index, run, hooks } = w
  const handlers = (run.handlers ?? HOLDER_HANDLERS).map((entry) => ({
    ...entry,
    create: (c: Parameters<HandlerEntry['create']>[0]) => {
      const handle = entry.create(c)
      return async (bytes: Uint8Array, ctx: RequestContext) => {
        const around = hooks().around
        return around === undefined ? await handle(bytes, ctx) : await around(index, entry.protocol, ctx, async () => await handle(bytes, ctx))
      }
    }
  }))
  return {
    dir: w.dir,
    ...(w.metrics === true ? { metrics: '127.0.0.1:0' } : {}),
    handlers,
    now: run.now ?? (() => hooks().now?.(index) ?? Date.now()),
    links: run.links ?? { isDenied: (peer, direction) => hooks().isDenied?.(index, peer, direction) ?? false },
    ...(w.reconcile !== undefined ? { reconcile: w.reconcile } : {})
  }
}

/** The environment a restarted node opens with: its former listen addresses (so peers' address books stay right) and a bootstrap. */
export function restartEnv (formerAddrs: readonly string[] | undefined, bootstrap: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  if (formerAddrs !== undefined && formerAddrs.length > 0) env.BIOSHARD_LISTEN = formerAddrs.join(',')
  if (bootstrap.length > 0) env.BIOSHARD_BOOTSTRAP = bootstrap.join(',')
  return env
}

export class LocalNetwork {
  readonly dir: string
  readonly authority: ReturnType<typeof loadAuthority>
  readonly nodes: SiteNode[] = []
  /** Set by a simulator to shape every node's clock, requests and links (see {@link NodeHooks}). */
  hooks: NodeHooks = {}
  private readonly options: LocalNetworkOptions
  /** Each node's run options, re-applied when it restarts. */
  private readonly runs: NodeRunOptions[] = []
  /** Each stopped node's listen addresses, rebound when it restarts so peers' address books stay right. */
  private readonly stoppedAddrs = new Map<number, string[]>()

  private constructor (dir: string, authority: ReturnType<typeof loadAuthority>, options: LocalNetworkOptions) {
    this.dir = dir
    this.authority = authority
    this.options = options
  }

  /**
   * Start `nodes` nodes: the first one, then the rest bootstrapping to it,
   * {@link LocalNetworkOptions.startConcurrency} at a time (all at once makes
   * hundreds of nodes contend for the event loop and time out each other's
   * dials and handshakes).
   */
  static async start (options: LocalNetworkOptions): Promise<LocalNetwork> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bioshard-net-'))
    initAuthority(join(dir, 'authority'))
    const net = new LocalNetwork(dir, loadAuthority(join(dir, 'authority')), options)
    const sites = options.sites ?? options.nodes
    const first = await net.addNode(`site-${1}`)
    let next = 1
    const worker = async (): Promise<void> => {
      while (next < options.nodes) {
        const i = next++
        await net.addNode(`site-${(i % sites) + 1}`, [first.addrs[0]])
      }
    }
    await Promise.all(Array.from({ length: Math.min(options.startConcurrency ?? START_CONCURRENCY, options.nodes) }, worker))
    return net
  }

  get info (): AuthorityInfo { return this.authority.info }
  get anchor (): TrustAnchor { return { network: this.info.network, authorities: [this.info.publicKey] } }
  /** A bootstrap address (the first running node). */
  get bootstrap (): string[] { return this.nodes.filter((n) => n.libp2p !== undefined).slice(0, 1).map((n) => n.addrs[0]) }

  /**
   * Provision, open and start one more node at `site`; with `faults`, a
   * Byzantine one (sim/faults.ts); `run` sets its clock, table and links.
   */
  async addNode (site: string, bootstrap: string[] = this.bootstrap, faults?: Faults, run: NodeRunOptions = {}): Promise<SiteNode> {
    const dir = join(this.dir, `node-${this.nodes.length + 1}`)
    const index = this.nodes.length
    this.nodes.push(undefined as unknown as SiteNode)
    this.runs[index] = faults !== undefined && run.handlers === undefined ? { ...run, handlers: faultyHandlers(faults) } : run
    const identitySeed = this.options.identitySeed?.(index)
    const listen = this.options.transport === 'memory' ? [`/memory/bioshard-${randomUUID()}`] : undefined
    await provisionNode({ dir, site, authority: this.authority, bootstrap, limits: this.options.limits, listen, identitySeed })
    const node = await SiteNode.open(this.openOptions(index, dir))
    await node.start()
    this.nodes[index] = node
    return node
  }

  /**
   * Stop node `index` (its directory stays); a no-op for a stopped node.
   * `drainMs` bounds its wait for requests in flight, as in {@link SiteNode.stop}.
   * @throws {RangeError} for a bad index
   */
  async stopNode (index: number, options: { drainMs?: number } = {}): Promise<void> {
    const node = this.nodeAt(index)
    if (node.libp2p === undefined) return
    this.stoppedAddrs.set(index, node.addrs.map((a) => a.split('/p2p/')[0]))
    await node.stop(options)
  }

  /**
   * Stop node `index` if it runs and start it again from its directory, on
   * its former addresses, joining through the first running node; `run`
   * replaces its run options from now on.
   *
   * @throws {RangeError} for a bad index
   */
  async restartNode (index: number, run?: NodeRunOptions): Promise<SiteNode> {
    const old = this.nodeAt(index)
    await this.stopNode(index)
    if (run !== undefined) this.runs[index] = run
    const env = restartEnv(this.stoppedAddrs.get(index), this.bootstrap)
    const node = await SiteNode.open({ ...this.openOptions(index, old.dir), env })
    await node.start()
    this.nodes[index] = node
    this.stoppedAddrs.delete(index)
    return node
  }

  private nodeAt (index: number): SiteNode {
    const node = Number.isInteger(index) ? this.nodes[index] : undefined
    if (node === undefined) throw new RangeError(`no node ${index} (the network has ${this.nodes.length})`)
    return node
  }

  /** Node `index`'s open options: its run options, each over the network's hooks. */
  private openOptions (index: number, dir: string): SiteNodeOptions {
    return wireNode({ index, dir, run: this.runs[index] ?? {}, hooks: () => this.hooks, metrics: this.options.metrics, reconcile: this.options.reconcile })
  }

  /** Wait until every running node's roster lists every running node. */
  async converged (timeoutMs = CONVERGE_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const live = this.nodes.filter((n) => n.libp2p !== undefined)
      if (live.every((n) => n.roster.size() >= live.length)) return
      if (Date.now() > deadline) throw new Error(`roster did not converge: ${live.map((n) => n.roster.size()).join(',')} of ${live.length}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Admit a tenant (key + certificate). */
  tenant (name = 'tenant'): Tenant { return issueTenant(this.authority, name) }

  /** Authorise a verifier under `tenant` for `purposes`. */
  verifier (tenant: Tenant, purposes: string[] = ['login'], name = 'verifier'): Verifier { return issueVerifier(tenant, purposes, name) }

  /** Stop every node; remove the directory unless `keep`. */
  async stop (): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => await n?.stop()))
    if (this.options.keep !== true && this.options.dir === undefined) rmSync(this.dir, { recursive: true, force: true })
  }
}
