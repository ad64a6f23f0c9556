/**
 * A minimal fault injector: crash, restart, depart and the corrupting
 * Byzantine holder, over a LocalNetwork of in-process nodes. The engine
 * depends only on this class's interface, so a fuller injector (partitions,
 * clogging, links, skew, every Byzantine behaviour) can take its place.
 *
 * @module
 */
import { rmSync } from 'node:fs'
import { SiteNode } from '../node/site-node.ts'
import { faultyHandlers } from './faults.ts'
import type { LocalNetwork } from './local-network.ts'
import type { Rng } from './rng.ts'
import type { Behaviour, FaultEvent } from './types.ts'

/** Applies fault events to the nodes of one network and answers what state each node is in. */
export class FaultInjector {
  readonly #net: LocalNetwork
  readonly #down = new Set<number>()
  readonly #departed = new Set<number>()
  readonly #behaviour = new Map<number, Behaviour>()

  constructor (net: LocalNetwork, options: { rng: Rng }) {
    this.#net = net
    void options.rng
  }

  /** Apply one event (every kind but 'erase', which the tenant performs). */
  async apply (event: FaultEvent): Promise<void> {
    switch (event.kind) {
      case 'crash': return await this.#crash(event.node)
      case 'restart': return await this.#restart(event.node)
      case 'depart': return await this.#depart(event.node)
      case 'byzantine': return await this.#byzantine(event.node, event.behaviour)
      case 'heal': return
      default: throw new Error(`fault '${event.kind}' is not supported by this injector`)
    }
  }

  isUp (i: number): boolean { return !this.#down.has(i) && !this.#departed.has(i) }
  hasDeparted (i: number): boolean { return this.#departed.has(i) }
  behaviourOf (i: number): Behaviour | undefined { return this.#behaviour.get(i) }
  reachableFromClient (i: number): boolean { return this.isUp(i) }
  async healAll (): Promise<void> {}

  async #crash (i: number): Promise<void> {
    if (!this.isUp(i)) return
    this.#down.add(i)
    await this.#net.nodes[i].stop()
  }

  async #restart (i: number): Promise<void> {
    if (!this.#down.has(i) || this.#departed.has(i)) return
    await this.#net.nodes[i].start()
    this.#down.delete(i)
  }

  async #depart (i: number): Promise<void> {
    if (this.#departed.has(i)) return
    await this.#net.nodes[i].stop()
    this.#departed.add(i)
    rmSync(this.#net.nodes[i].dir, { recursive: true, force: true })
  }

  /** Restart the node on the same address with a lying handler table. */
  async #byzantine (i: number, behaviour: Behaviour): Promise<void> {
    if (behaviour !== 'corrupt') throw new Error(`Byzantine behaviour '${behaviour}' is not supported by this injector`)
    if (!this.isUp(i)) return
    const old = this.#net.nodes[i]
    const listen = old.addrs.map((a) => a.split('/p2p/')[0]).join(',')
    await old.stop()
    const node = await SiteNode.open({ dir: old.dir, env: { BIOSHARD_LISTEN: listen }, handlers: faultyHandlers({ corruptShares: true }) })
    await node.start()
    this.#net.nodes[i] = node
    this.#behaviour.set(i, behaviour)
  }
}
