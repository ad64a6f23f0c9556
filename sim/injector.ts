/**
 * Applies a fault schedule's events to a running network of real nodes (a
 * {@link NodeFleet}, or a LocalNetwork seen as one). Every fault is a real mechanism: a crash stops the node and a
 * restart opens its directory again; a departure deletes that directory;
 * partitions and isolation are the nodes' libp2p connection gaters (with the
 * connections that cross them closed); latency, loss and clogs delay or
 * silence the requests a node's handlers receive; skew moves the node's clock;
 * a Byzantine node restarts with a lying handler table (sim/faults.ts).
 *
 * Link faults, clogs and skew are link state (sim/link-state.ts) the
 * injector decides here and the fleet applies where its nodes run; each node
 * asks it on every request, connection and clock read, so they apply to
 * running nodes at once and persist across restarts.
 * Clients are not nodes: the simulated client sits with group 0 of a partition.
 *
 * @module
 */
import { rmSync } from 'node:fs'
import { LocalNetwork } from './local-network.ts'
import { LocalFleet } from './fleet-local.ts'
import type { NodeFleet } from './fleet.ts'
import { LinkState, type LinkChange, type LinkShape } from './link-state.ts'
import type { Behaviour, FaultEvent } from './types.ts'
import type { Rng } from './rng.ts'

/** Drives the faults of a schedule into a running network (see the module doc). */
export class FaultInjector {
  readonly #fleet: NodeFleet
  readonly #crashed = new Set<number>()
  readonly #departed = new Set<number>()
  readonly #behaviour = new Map<number, Behaviour>()
  /** The link state as decided here; the fleet's nodes run against copies fed the same changes. */
  readonly #links: LinkState

  /**
   * Wraps a started network; from now on nodes are (re)started through the
   * injector so faults persist across restarts. `rng`'s seed derives each
   * node's loss and jitter draws.
   */
  constructor (net: NodeFleet | LocalNetwork, options: { rng: Rng }) {
    this.#fleet = net instanceof LocalNetwork ? new LocalFleet(net) : net
    this.#links = new LinkState(this.#fleet.nodes.map((n) => n.cert.body.peer))
    this.#fleet.shapeLinks(options.rng.seed)
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
      case 'heal': this.#change({ kind: 'heal' }); return
      case 'link': return this.#link(this.#index(event.node), event)
      case 'clog': this.#change({ kind: 'clog', node: this.#index(event.node) }); return
      case 'unclog': this.#change({ kind: 'unclog', node: this.#index(event.node) }); return
      case 'skew': this.#change({ kind: 'skew', node: this.#index(event.node), ms: event.ms }); return
      case 'byzantine': return await this.#turn(this.#index(event.node), event.behaviour)
      case 'erase': break
    }
  }

  /** Is node i running (not crashed, not departed)? */
  isUp (i: number): boolean {
    return !this.#departed.has(this.#index(i)) && this.#fleet.nodes[i].isUp()
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
    return this.isUp(i) && !this.#links.cutOffFromClient(i)
  }

  /** Undo every link fault (partitions, isolation, latency and loss, clogs), restart crashed nodes (not departed ones). */
  async healAll (): Promise<void> {
    this.#change({ kind: 'heal' })
    this.#change({ kind: 'links-cleared' })
    for (const i of [...this.#links.clogged].sort((a, b) => a - b)) this.#change({ kind: 'unclog', node: i })
    for (const i of [...this.#crashed].sort((a, b) => a - b)) await this.#restart(i)
  }

  #index (i: number): number {
    const size = this.#fleet.nodes.length
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new RangeError(`no node ${i} (the network has ${size})`)
    return i
  }

  /** Decide one link change here and apply it where the nodes run. */
  #change (c: LinkChange): void {
    this.#links.apply(c)
    this.#fleet.changeLinks(c)
  }

  async #crash (i: number): Promise<void> {
    if (this.#departed.has(i) || !this.isUp(i)) return
    this.#crashed.add(i)
    await this.#fleet.nodes[i].stop()
  }

  /** Start a crashed node again from its directory, with its behaviour's table; the link state re-applies clock, shaping and links. */
  async #restart (i: number): Promise<void> {
    if (this.#departed.has(i) || this.isUp(i)) return
    const node = this.#fleet.nodes[i]
    await node.restart(this.#behaviour.get(i))
    this.#crashed.delete(i)
    // What a real node does after start-up: erase what was erased, destroy what a repair replaced, while it was down.
    await node.reconcile()
  }

  async #depart (i: number): Promise<void> {
    if (this.#departed.has(i)) return
    this.#departed.add(i)
    this.#crashed.delete(i)
    await this.#fleet.nodes[i].stop()
    rmSync(this.#fleet.nodes[i].dir, { recursive: true, force: true })
  }

  /** Node i turns Byzantine: restarted now with the lying table if it runs, else when it restarts. */
  async #turn (i: number, behaviour: Behaviour): Promise<void> {
    if (this.#departed.has(i)) return
    this.#behaviour.set(i, behaviour)
    if (!this.isUp(i)) return
    await this.#fleet.nodes[i].stop()
    await this.#fleet.nodes[i].restart(behaviour)
  }

  async #partitionInto (groups: number[][], oneWay: boolean): Promise<void> {
    this.#change({ kind: 'partition', groups: groups.map((g) => g.map((i) => this.#index(i))), oneWay })
    await this.#fleet.closeDenied()
  }

  async #isolate (i: number): Promise<void> {
    this.#change({ kind: 'isolate', node: i })
    await this.#fleet.closeDenied()
  }

  #link (i: number, e: LinkShape): void {
    if (e.latencyMs <= 0 && e.jitterMs <= 0 && e.loss <= 0) this.#change({ kind: 'link', node: i })
    else {
      const shape = { latencyMs: Math.max(0, e.latencyMs), jitterMs: Math.max(0, e.jitterMs), loss: Math.min(1, Math.max(0, e.loss)) }
      this.#change({ kind: 'link', node: i, shape })
    }
  }
}
