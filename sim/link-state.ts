/**
 * The link faults a simulation turns on running nodes (clock skew, latency,
 * jitter and loss, clogs, partitions, isolation) as plain state changed by
 * {@link LinkChange}s, and the hooks every node asks of it on each clock
 * read, connection and request. The fault injector decides the changes on
 * the main thread; wherever nodes run (this thread's LocalNetwork, or a node
 * host thread) a {@link LinkShaper} is fed the same changes in the same
 * order, so one policy applies whichever thread a node is in. Loss and jitter
 * draws come from each node's own stream, derived from the seed and the
 * node's index alone, so spreading nodes over threads never changes the
 * draws a node makes.
 *
 * @module
 */
import type { LinkDirection } from '../net/host.ts'
import type { RequestContext } from '../net/rpc.ts'
import type { SiteNode } from '../node/site-node.ts'
import type { NodeHooks } from './local-network.ts'
import { Rng } from './rng.ts'
import { pause, silence, unlessAborted } from './silence.ts'

/** A link fault on one node's inbound requests. */
export interface LinkShape { latencyMs: number, jitterMs: number, loss: number }

/** One change of the link state, as the injector decides it (node indices already checked). */
export type LinkChange =
  | { kind: 'skew', node: number, ms: number }
  /** Set node's inbound shaping; without `shape`, clear it. */
  | { kind: 'link', node: number, shape?: LinkShape }
  /** Clear every node's inbound shaping. */
  | { kind: 'links-cleared' }
  /** Each listed node's group is its list's position; unlisted nodes (and clients) are in group 0. */
  | { kind: 'partition', groups: number[][], oneWay: boolean }
  | { kind: 'isolate', node: number }
  /** Every partition and isolation ends. */
  | { kind: 'heal' }
  | { kind: 'clog', node: number }
  | { kind: 'unclog', node: number }

/** The partition in force: each listed node's group, and whether only group 0's dials are refused. */
interface Partition { groupOf: Map<number, number>, oneWay: boolean }

/** The link faults in force (see the module doc); nodes are named by index, peers map back to indices. */
export class LinkState {
  readonly skew = new Map<number, number>()
  readonly links = new Map<number, LinkShape>()
  readonly isolated = new Set<number>()
  readonly clogged = new Set<number>()
  #partition: Partition | undefined
  readonly #peers: ReadonlyMap<string, number>

  /** `peers[i]` is node i's peer id. */
  constructor (peers: readonly string[]) {
    this.#peers = new Map(peers.map((p, i) => [p, i]))
  }

  /** Apply one change. */
  apply (c: LinkChange): void {
    switch (c.kind) {
      case 'skew': this.skew.set(c.node, c.ms); return
      case 'link':
        if (c.shape === undefined) this.links.delete(c.node)
        else this.links.set(c.node, c.shape)
        return
      case 'links-cleared': this.links.clear(); return
      case 'partition': {
        const groupOf = new Map<number, number>()
        c.groups.forEach((g, k) => { for (const i of g) groupOf.set(i, k) })
        this.#partition = { groupOf, oneWay: c.oneWay }
        return
      }
      case 'isolate': this.isolated.add(c.node); return
      case 'heal': this.#partition = undefined; this.isolated.clear(); return
      case 'clog': this.clogged.add(c.node); return
      case 'unclog': this.clogged.delete(c.node)
    }
  }

  /** Node i's partition group (0 when no partition lists it). */
  groupOf (i: number): number { return this.#partition?.groupOf.get(i) ?? 0 }

  /** Is node i cut off from a client on group 0's side: isolated, on another side, clogged or losing every request? */
  cutOffFromClient (i: number): boolean {
    return this.isolated.has(i) || this.clogged.has(i) || (this.links.get(i)?.loss ?? 0) >= 1 || this.groupOf(i) !== 0
  }

  /** Does node i refuse a connection with `peer` (a node, or else a client, which sits with group 0)? */
  denies (i: number, peer: string, direction: LinkDirection): boolean {
    const other = this.#peers.get(peer)
    if (this.isolated.has(i) || (other !== undefined && this.isolated.has(other))) return true
    if (this.#partition === undefined) return false
    const mine = this.groupOf(i)
    const theirs = other === undefined ? 0 : this.groupOf(other)
    if (mine === theirs) return false
    if (!this.#partition.oneWay) return true
    // One way: only connections group 0 opens to the other groups are refused.
    return (mine === 0 && direction === 'outbound') || (theirs === 0 && direction === 'inbound')
  }
}

/**
 * The link state where nodes run: the state, each node's request queue while
 * clogged, each node's life (what its requests wait on ends when it stops),
 * and each node's own loss and jitter stream.
 */
export class LinkShaper {
  readonly state: LinkState
  /** The hooks a LocalNetwork (or a node host) gives its nodes. */
  readonly hooks: Required<NodeHooks>
  readonly #seed: number
  readonly #rngs = new Map<number, Rng>()
  /** Requests waiting on a clogged node, in arrival order. */
  readonly #waiting = new Map<number, Array<() => void>>()
  readonly #lives = new Map<number, AbortController>()

  /** `seed` derives each node's stream (`fork('node-<i>')`); `peers[i]` is node i's peer id. */
  constructor (o: { seed: number, peers: readonly string[] }) {
    this.state = new LinkState(o.peers)
    this.#seed = o.seed
    this.hooks = {
      now: (i) => Date.now() + (this.state.skew.get(i) ?? 0),
      around: async (i, _protocol, ctx, serve) => await this.#shape(i, ctx, serve),
      isDenied: (i, peer, direction) => this.state.denies(i, peer, direction)
    }
  }

  /** Apply one change; an unclog releases the node's waiting requests, oldest first. */
  apply (c: LinkChange): void {
    this.state.apply(c)
    if (c.kind !== 'unclog') return
    const waiting = this.#waiting.get(c.node) ?? []
    this.#waiting.delete(c.node)
    for (const release of waiting) release()
  }

  /** Node i is stopping: what its requests wait on ends now, not at the end of stop()'s drain. */
  stopping (i: number): void {
    this.#life(i).abort()
    this.#lives.delete(i)
  }

  #life (i: number): AbortController {
    let life = this.#lives.get(i)
    if (life === undefined) {
      life = new AbortController()
      this.#lives.set(i, life)
    }
    return life
  }

  #rng (i: number): Rng {
    let rng = this.#rngs.get(i)
    if (rng === undefined) {
      rng = new Rng(this.#seed).fork(`node-${i}`)
      this.#rngs.set(i, rng)
    }
    return rng
  }

  /**
   * One request node i received: dropped with the link's loss probability
   * (never answered), delayed by latency ± jitter, held while the node is
   * clogged, then served; all of it ends when the node stops.
   */
  async #shape (i: number, ctx: RequestContext, serve: () => Promise<unknown>): Promise<unknown> {
    const life = this.#life(i).signal
    const signals = [ctx.signal, life]
    const link = this.state.links.get(i)
    if (link !== undefined) {
      if (link.loss > 0 && this.#rng(i).chance(link.loss)) return await silence(signals)
      const delay = link.latencyMs + (link.jitterMs > 0 ? (this.#rng(i).next() * 2 - 1) * link.jitterMs : 0)
      if (delay > 0) await pause(delay, signals)
    }
    while (this.state.clogged.has(i)) await this.#unclogged(i, signals)
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

/** Close every open connection of the running `nodes` (index, node) that `denies` now refuses, each from the node's side. */
export async function closeDenied (
  nodes: Iterable<[number, SiteNode]>, denies: (i: number, peer: string, direction: LinkDirection) => boolean
): Promise<void> {
  await Promise.all([...nodes].map(async ([i, node]) => {
    const host = node.libp2p
    if (host === undefined) return
    const crossing = host.getConnections().filter((c) => denies(i, c.remotePeer.toString(), c.direction))
    await Promise.all(crossing.map(async (c) => { await c.close().catch(() => { c.abort(new Error('link cut')) }) }))
  }))
}
