/**
 * The {@link NodeFleet} of a LocalNetwork: every node in this thread, as the
 * simulator has always run them. Node views read the network's current
 * SiteNode at each call, so they stay right across restarts.
 *
 * @module
 */
import type { LocalNetwork } from './local-network.ts'
import type { FleetNode, HeldShare, NodeFleet } from './fleet.ts'
import { LinkShaper, closeDenied, type LinkChange } from './link-state.ts'
import { faultyHandlers, faultsOf } from './faults.ts'
import type { Behaviour } from './types.ts'
import type { SiteNode } from '../node/site-node.ts'

/** A LocalNetwork seen as a fleet (see the module doc). */
export class LocalFleet implements NodeFleet {
  readonly net: LocalNetwork
  readonly nodes: readonly FleetNode[]
  readonly threads = 1
  readonly failed = new Promise<never>(() => {})
  #shaper: LinkShaper | undefined

  constructor (net: LocalNetwork) {
    this.net = net
    this.nodes = net.nodes.map((_, i) => this.#view(i))
  }

  get info (): LocalNetwork['info'] { return this.net.info }
  get anchor (): LocalNetwork['anchor'] { return this.net.anchor }
  get bootstrap (): string[] { return this.net.bootstrap }
  readonly tenant: NodeFleet['tenant'] = (name) => this.net.tenant(name)
  readonly verifier: NodeFleet['verifier'] = (tenant, purposes, name) => this.net.verifier(tenant, purposes, name)

  shapeLinks (seed: number): void {
    this.#shaper = new LinkShaper({ seed, peers: this.net.nodes.map((n) => n.cert.body.peer) })
    this.net.hooks = this.#shaper.hooks
  }

  changeLinks (change: LinkChange): void { this.#shaper?.apply(change) }

  async closeDenied (): Promise<void> {
    const shaper = this.#shaper
    if (shaper === undefined) return
    await closeDenied(this.net.nodes.map((n, i): [number, SiteNode] => [i, n]), (i, peer, dir) => shaper.state.denies(i, peer, dir))
  }

  async converged (timeoutMs?: number): Promise<void> { await this.net.converged(timeoutMs) }
  async stop (): Promise<void> { await this.net.stop() }

  #view (i: number): FleetNode {
    const node = (): SiteNode => this.net.nodes[i]
    const first = node()
    return {
      cert: first.cert,
      config: first.config,
      dir: first.dir,
      isUp: () => node().libp2p !== undefined,
      heldSlots: () => node().heldSlots(),
      heldShare: async (slot): Promise<HeldShare | undefined> => await node().heldShare(slot),
      reconcile: async () => await node().reconcile(),
      stop: async () => {
        this.#shaper?.stopping(i)
        await this.net.stopNode(i)
      },
      restart: async (behaviour?: Behaviour) => {
        this.#shaper?.stopping(i)
        await this.net.restartNode(i, behaviour === undefined ? undefined : { handlers: faultyHandlers(faultsOf(behaviour)) })
      },
      connectedPeers: async () => node().libp2p?.getConnections().map((c) => c.remotePeer.toString()) ?? []
    }
  }
}
