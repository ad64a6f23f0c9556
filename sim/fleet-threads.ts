/**
 * A {@link NodeFleet} spread over worker threads, so a simulation's nodes use
 * every core: node i runs in thread i mod K (sim/node-host.ts), a real
 * SiteNode as LocalNetwork runs it, and nodes reach each other over TCP on
 * loopback (memory channels do not cross threads). The authority, the node
 * directories and certificates, tenants and verifiers are made here on the
 * main thread with LocalNetwork's provisioning; a host only opens the
 * directories it is given. Whether a node is up and where it listens is
 * tracked here, from the hosts' answers.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initAuthority, loadAuthority, type AuthorityInfo } from '../keys/authority.ts'
import type { Limits } from '../node/config.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { issueTenant, issueVerifier, provisionNode, type LocalNetworkOptions } from './local-network.ts'
import { HostThread, type HostThreadError } from './host-thread.ts'
import type { FleetNode, HeldShare, NodeFleet } from './fleet.ts'
import type { LinkChange } from './link-state.ts'
import type { Behaviour } from './types.ts'

/** Nodes opened at once over all threads (as LocalNetwork's start: overlap disk and handshakes without starving the loops). */
const START_CONCURRENCY = 32
/**
 * A host answers a request within this or is taken for hung: opening a node,
 * reconciling its shares or stopping every node of a thread takes seconds on
 * a loaded two-core machine, never minutes.
 */
const HOST_REQUEST_MS = 120_000
/** How long {@link ThreadedFleet.converged} waits by default (as LocalNetwork's). */
const CONVERGE_MS = 60_000
/** How often rosters are polled while they converge. */
const POLL_MS = 200

/** What {@link ThreadedFleet.start} takes. */
export interface ThreadedFleetOptions {
  nodes: number
  /** Distinct sites, assigned round-robin. @default nodes */
  sites?: number
  /** Worker threads (at least 1). */
  threads: number
  /** The run's seed, named by every thread failure. */
  seed: number
  /** Parent directory (a fresh temp dir, removed on stop, when absent). */
  dir?: string
  limits?: Partial<Limits>
  identitySeed?: (index: number) => Uint8Array
  reconcile?: LocalNetworkOptions['reconcile']
}

/** One node in a host thread. */
class ThreadNode implements FleetNode {
  readonly cert: { body: { peer: string } }
  readonly config: { site: string }
  readonly dir: string
  addrs: string[] = []
  #up = false
  readonly #index: number
  readonly #host: HostThread
  readonly #fleet: ThreadedFleet

  constructor (o: { index: number, peer: string, site: string, dir: string, host: HostThread, fleet: ThreadedFleet }) {
    this.#index = o.index
    this.cert = { body: { peer: o.peer } }
    this.config = { site: o.site }
    this.dir = o.dir
    this.#host = o.host
    this.#fleet = o.fleet
  }

  isUp (): boolean { return this.#up }

  async open (): Promise<void> {
    this.addrs = await this.#ask<string[]>({ op: 'open', index: this.#index, dir: this.dir })
    this.#up = true
  }

  async * heldSlots (): AsyncIterable<Uint8Array> {
    yield * await this.#ask<Uint8Array[]>({ op: 'slots', index: this.#index })
  }

  async heldShare (slot: Uint8Array): Promise<HeldShare | undefined> {
    return await this.#ask<HeldShare | undefined>({ op: 'share', index: this.#index, slot })
  }

  async reconcile (): Promise<unknown> { return await this.#ask({ op: 'reconcile', index: this.#index }) }

  async stop (): Promise<void> {
    if (!this.#up) return
    await this.#ask({ op: 'stop', index: this.#index })
    this.#up = false
  }

  async restart (behaviour?: Behaviour): Promise<void> {
    this.#up = false
    const bootstrap = this.#fleet.bootstrap
    this.addrs = await this.#ask<string[]>({ op: 'restart', index: this.#index, bootstrap, ...(behaviour !== undefined ? { behaviour } : {}) })
    this.#up = true
  }

  async connectedPeers (): Promise<string[]> { return await this.#ask<string[]>({ op: 'connections', index: this.#index }) }

  async #ask<T> (r: Parameters<HostThread['request']>[0]): Promise<T> { return await this.#host.request<T>(r, HOST_REQUEST_MS) }
}

/** Nodes over worker threads (see the module doc). */
export class ThreadedFleet implements NodeFleet {
  readonly dir: string
  readonly authority: ReturnType<typeof loadAuthority>
  readonly threads: number
  readonly failed: Promise<never>
  readonly #hosts: HostThread[]
  readonly #nodes: ThreadNode[] = []
  readonly #options: ThreadedFleetOptions
  #stopped = false

  private constructor (options: ThreadedFleetOptions, dir: string) {
    this.#options = options
    this.dir = dir
    this.threads = options.threads
    initAuthority(join(dir, 'authority'))
    this.authority = loadAuthority(join(dir, 'authority'))
    let die: (e: HostThreadError) => void = () => {}
    this.failed = new Promise<never>((_resolve, reject) => { die = reject })
    this.failed.catch(() => {})
    const reconcile = options.reconcile !== undefined ? { reconcile: options.reconcile } : {}
    this.#hosts = Array.from({ length: options.threads }, (_, thread) => new HostThread({ thread, ...reconcile }, options.seed, die))
  }

  /**
   * Provision and start `nodes` nodes over `threads` threads: the first, then
   * the rest bootstrapping to it, a few at a time.
   *
   * @throws {HostThreadError} when a thread dies or hangs while starting (every thread is stopped first)
   */
  static async start (options: ThreadedFleetOptions): Promise<ThreadedFleet> {
    const fleet = new ThreadedFleet(options, options.dir ?? mkdtempSync(join(tmpdir(), 'bioshard-net-')))
    try {
      await fleet.#addNode(0, [])
      const bootstrap = [fleet.#nodes[0].addrs[0]]
      let next = 1
      const worker = async (): Promise<void> => {
        while (next < options.nodes) await fleet.#addNode(next++, bootstrap)
      }
      await Promise.race([Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, options.nodes) }, worker)), fleet.failed])
    } catch (e) {
      await fleet.stop()
      throw e
    }
    return fleet
  }

  get nodes (): readonly FleetNode[] { return this.#nodes }
  get info (): AuthorityInfo { return this.authority.info }
  get anchor (): TrustAnchor { return { network: this.info.network, authorities: [this.info.publicKey] } }
  get bootstrap (): string[] { return this.#nodes.filter((n) => n.isUp()).slice(0, 1).map((n) => n.addrs[0]) }

  readonly tenant: NodeFleet['tenant'] = (name) => issueTenant(this.authority, name)
  readonly verifier: NodeFleet['verifier'] = (tenant, purposes, name) => issueVerifier(tenant, purposes, name)

  shapeLinks (seed: number): void {
    const peers = this.#nodes.map((n) => n.cert.body.peer)
    for (const h of this.#hosts) h.post({ links: { seed, peers } })
  }

  changeLinks (change: LinkChange): void {
    for (const h of this.#hosts) h.post({ change })
  }

  async closeDenied (): Promise<void> {
    await Promise.all(this.#hosts.map(async (h) => await h.request({ op: 'close-denied' }, HOST_REQUEST_MS)))
  }

  /** The roster size of every running node, thread by thread. */
  async rosterSizes (): Promise<number[]> {
    return (await Promise.all(this.#hosts.map(async (h) => await h.request<number[]>({ op: 'rosters' }, HOST_REQUEST_MS)))).flat()
  }

  /** @throws {Error} when the rosters do not converge within `timeoutMs`; {@link HostThreadError} when a thread dies */
  async converged (timeoutMs = CONVERGE_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const live = this.#nodes.filter((n) => n.isUp()).length
      const sizes = await this.rosterSizes()
      if (sizes.every((s) => s >= live)) return
      if (Date.now() > deadline) throw new Error(`roster did not converge: ${sizes.join(',')} of ${live}`)
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
  }

  /** How many of the fleet's threads are still running (none once {@link ThreadedFleet.stop} has returned). */
  get runningThreads (): number { return this.#hosts.filter((h) => h.running).length }

  /** Terminate thread `thread` at once, as its crash would (a run using the fleet then fails with a {@link HostThreadError}). */
  async killThread (thread: number): Promise<void> { await this.#hosts[thread].kill() }

  /** Stop every node and terminate every thread; remove the directory when it was made here. Safe to call twice. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await Promise.all(this.#hosts.map(async (h) => { await h.close(HOST_REQUEST_MS) }))
    if (this.#options.dir === undefined) rmSync(this.dir, { recursive: true, force: true })
  }

  /** Provision node `index` here and open it in its thread. */
  async #addNode (index: number, bootstrap: string[]): Promise<void> {
    const o = this.#options
    const site = `site-${(index % (o.sites ?? o.nodes)) + 1}`
    const dir = join(this.dir, `node-${index + 1}`)
    const peer = await provisionNode({ dir, site, authority: this.authority, bootstrap, limits: o.limits, identitySeed: o.identitySeed?.(index) })
    const node = new ThreadNode({ index, peer, site, dir, host: this.#hosts[index % this.threads], fleet: this })
    this.#nodes[index] = node
    await node.open()
  }
}
