/**
 * Applies a fault schedule's events to a running {@link LocalNetwork} of real
 * nodes. Every fault is a real mechanism: a crash stops the node and a
 * restart opens its directory again; a departure deletes that directory;
 * partitions and isolation are the nodes' libp2p connection gaters (with the
 * connections that cross them closed); latency, loss and clogs delay or
 * silence the requests a node's handlers receive; skew moves the node's clock;
 * a Byzantine node restarts with a lying handler table (sim/faults.ts).
 *
 * Link faults, clogs and skew act through the network's hooks
 * ({@link NodeHooks}), asked on every request, connection and clock read, so
 * they apply to running nodes at once and persist across restarts.
 * Clients are not nodes: the simulated client sits with group 0 of a partition.
 *
 * @module
 */
import { rmSync } from 'node:fs'
import type { LocalNetwork } from './local-network.ts'
import type { LinkDirection } from '../net/host.ts'
import type { RequestContext } from '../net/rpc.ts'
import type { Behaviour, FaultEvent } from './types.ts'
import type { Rng } from './rng.ts'
import { faultyHandlers, faultsOf } from './faults.ts'
import { pause, silence, unlessAborted } from './silence.ts'

/** A link fault on one node's inbound requests. */
interface LinkShape { latencyMs: number, jitterMs: number, loss: number }

/** The partition in force: each listed node's group (unlisted nodes, and clients, are in group 0). */
interface Partition { groupOf: Map<number, number>, oneWay: boolean }

/** Drives the faults of a schedule into a running network (see the module doc). */
export class FaultInjector {
  readonly #net: LocalNetwork
  readonly #rng: Rng
  readonly #peers = new Map<string, number>()
  readonly #crashed = new Set<number>()
  readonly #departed = new Set<number>()
  readonly #behaviour = new Map<number, Behaviour>()
  readonly #skew = new Map<number, number>()
  readonly #links = new Map<number, LinkShape>()
  readonly #isolated = new Set<number>()
  readonly #clogged = new Set<number>()
  /** Requests waiting on a clogged node, in arrival order. */
  readonly #waiting = new Map<number, Array<() => void>>()
  /** Aborted when the node stops: what its requests still wait on ends with it. */
  readonly #lives = new Map<number, AbortController>()
  #partition: Partition | undefined

  /** Wraps a started LocalNetwork; from now on nodes are (re)started through the injector so faults persist across restarts. */
  constructor (net: LocalNetwork, options: { rng: Rng }) {
    this.#net = net
    this.#rng = options.rng
    net.nodes.forEach((n, i) => { this.#peers.set(n.cert.body.peer, i) })
    net.hooks = {
      now: (i) => Date.now() + (this.#skew.get(i) ?? 0),
      around: async (i, _protocol, ctx, serve) => await this.#shape(i, ctx, serve),
      isDenied: (i, peer, direction) => this.#denies(i, peer, direction)
    }
  }

  /**
   * Apply one event (every FaultEvent kind except 'erase', which the engine
   * performs as the tenant, and which is ignored here).
   *
   * @throws {RangeError} for a bad node index
   */
  async apply (event: FaultEvent): Promise<void> {
    switch (event.kind) {
      case 'crash': return await this.#crash(this.#index(event.node))
      case 'restart': return await this.#restart(this.#index(event.node))
      case 'depart': return await this.#depart(this.#index(event.node))
      case 'partition': return await this.#partitionInto(event.groups, event.oneWay === true)
      case 'isolate': return await this.#isolate(this.#index(event.node))
      case 'heal': this.#heal(); return
      case 'link': return this.#link(this.#index(event.node), event)
      case 'clog': this.#clogged.add(this.#index(event.node)); return
      case 'unclog': return this.#unclog(this.#index(event.node))
      case 'skew': this.#skew.set(this.#index(event.node), event.ms); return
      case 'byzantine': return await this.#turn(this.#index(event.node), event.behaviour)
      case 'erase': break
    }
  }

  /** Is node i running (not crashed, not departed)? */
  isUp (i: number): boolean {
    return !this.#departed.has(this.#index(i)) && this.#net.nodes[i].libp2p !== undefined
  }

  /** Has node i left for good? */
  hasDeparted (i: number): boolean { return this.#departed.has(this.#index(i)) }

  /** Node i's Byzantine behaviour, if any. */
  behaviourOf (i: number): Behaviour | undefined { return this.#behaviour.get(this.#index(i)) }

  /**
   * Can a client outside every partition (on group 0's side) reach node i now:
   * up, not isolated, not on another side, not clogged, not losing every request?
   */
  reachableFromClient (i: number): boolean {
    if (!this.isUp(i) || this.#isolated.has(i) || this.#clogged.has(i)) return false
    if ((this.#links.get(i)?.loss ?? 0) >= 1) return false
    return this.#groupOf(i) === 0
  }

  /** Undo every link fault (partitions, isolation, latency and loss, clogs), restart crashed nodes (not departed ones). */
  async healAll (): Promise<void> {
    this.#heal()
    this.#links.clear()
    for (const i of [...this.#clogged].sort((a, b) => a - b)) this.#unclog(i)
    for (const i of [...this.#crashed].sort((a, b) => a - b)) await this.#restart(i)
  }

  #index (i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.#net.nodes.length) throw new RangeError(`no node ${i} (the network has ${this.#net.nodes.length})`)
    return i
  }

  #life (i: number): AbortController {
    let life = this.#lives.get(i)
    if (life === undefined) {
      life = new AbortController()
      this.#lives.set(i, life)
    }
    return life
  }

  /** Stop node i; what its requests were waiting on ends now, not at the end of stop()'s drain. */
  async #stop (i: number): Promise<void> {
    this.#life(i).abort()
    this.#lives.delete(i)
    await this.#net.stopNode(i)
  }

  async #crash (i: number): Promise<void> {
    if (this.#departed.has(i) || !this.isUp(i)) return
    this.#crashed.add(i)
    await this.#stop(i)
  }

  /** Start a crashed node again from its directory, with its behaviour's table; hooks re-apply clock, shaping and links. */
  async #restart (i: number): Promise<void> {
    if (this.#departed.has(i) || this.isUp(i)) return
    const behaviour = this.#behaviour.get(i)
    const node = await this.#net.restartNode(i, behaviour === undefined ? undefined : { handlers: faultyHandlers(faultsOf(behaviour)) })
    this.#crashed.delete(i)
    // What a real node does after start-up: erase what was erased, destroy what a repair replaced, while it was down.
    await node.reconcile()
  }

  async #depart (i: number): Promise<void> {
    if (this.#departed.has(i)) return
    this.#departed.add(i)
    this.#crashed.delete(i)
    await this.#stop(i)
    rmSync(this.#net.nodes[i].dir, { recursive: true, force: true })
  }

  /** Node i turns Byzantine: restarted now with the lying table if it runs, else when it restarts. */
  async #turn (i: number, behaviour: Behaviour): Promise<void> {
    if (this.#departed.has(i)) return
    this.#behaviour.set(i, behaviour)
    if (!this.isUp(i)) return
    await this.#stop(i)
    await this.#net.restartNode(i, { handlers: faultyHandlers(faultsOf(behaviour)) })
  }

  async #partitionInto (groups: number[][], oneWay: boolean): Promise<void> {
    const groupOf = new Map<number, number>()
    groups.forEach((g, k) => { for (const i of g) groupOf.set(this.#index(i), k) })
    this.#partition = { groupOf, oneWay }
    await this.#closeDenied()
  }

  async #isolate (i: number): Promise<void> {
    this.#isolated.add(i)
    await this.#closeDenied()
  }

  #heal (): void {
    this.#partition = undefined
    this.#isolated.clear()
  }

  #link (i: number, e: LinkShape): void {
    if (e.latencyMs <= 0 && e.jitterMs <= 0 && e.loss <= 0) this.#links.delete(i)
    else this.#links.set(i, { latencyMs: Math.max(0, e.latencyMs), jitterMs: Math.max(0, e.jitterMs), loss: Math.min(1, Math.max(0, e.loss)) })
  }

  /** Release node i's waiting requests, oldest first. */
  #unclog (i: number): void {
    this.#clogged.delete(i)
    const waiting = this.#waiting.get(i) ?? []
    this.#waiting.delete(i)
    for (const release of waiting) release()
  }

  #groupOf (i: number): number { return this.#partition?.groupOf.get(i) ?? 0 }

  /** Does node i refuse a connection with `peer` (a node, or else a client, which sits with group 0)? */
  #denies (i: number, peer: string, direction: LinkDirection): boolean {
    const other = this.#peers.get(peer)
    if (this.#isolated.has(i) || (other !== undefined && this.#isolated.has(other))) return true
    if (this.#partition === undefined) return false
    const mine = this.#groupOf(i)
    const theirs = other === undefined ? 0 : this.#groupOf(other)
    if (mine === theirs) return false
    if (!this.#partition.oneWay) return true
    // One way: only connections group 0 opens to the other groups are refused.
    return (mine === 0 && direction === 'outbound') || (theirs === 0 && direction === 'inbound')
  }

  /** Close every open connection a link policy now refuses (each from the running node's side). */
  async #closeDenied (): Promise<void> {
    await Promise.all(this.#net.nodes.map(async (node, i) => {
      const host = node.libp2p
      if (host === undefined) return
      const crossing = host.getConnections().filter((c) => this.#denies(i, c.remotePeer.toString(), c.direction))
      await Promise.all(crossing.map(async (c) => { await c.close().catch(() => { c.abort(new Error('link cut')) }) }))
    }))
  }

  /**
   * One request node i received: dropped with the link's loss probability
   * (never answered), delayed by latency ± jitter, held while the node is
   * clogged, then served; all of it ends when the node stops.
   */
  async #shape (i: number, ctx: RequestContext, serve: () => Promise<unknown>): Promise<unknown> {
    const life = this.#life(i).signal
    const signals = [ctx.signal, life]
    const link = this.#links.get(i)
    if (link !== undefined) {
      if (link.loss > 0 && this.#rng.chance(link.loss)) return await silence(signals)
      const delay = link.latencyMs + (link.jitterMs > 0 ? (this.#rng.next() * 2 - 1) * link.jitterMs : 0)
      if (delay > 0) await pause(delay, signals)
    }
    while (this.#clogged.has(i)) await this.#unclogged(i, signals)
    return await unlessAborted(serve(), life)
  }

  /** Wait until node i is unclogged (or a signal aborts). */
  async #unclogged (i: number, signals: AbortSignal[]): Promise<void> {
    let release = (): void => {}
    const released = new Promise<void>((resolve) => { release = resolve })
    const queue = this.#waiting.get(i) ?? []
    queue.push(release)
    this.#waiting.set(i, queue)
    try {
      await unlessAborted(released, AbortSignal.any(signals))
    } finally {
      const q = this.#waiting.get(i)
      const at = q?.indexOf(release) ?? -1
      if (q !== undefined && at >= 0) q.splice(at, 1)
    }
  }
}
