/**
 * What the measures read: the network, the injector's view of each node,
 * the run's parameters and the templates enrolled. Nodes are named by index
 * throughout (as fault events name them); a holder's peer id maps back to
 * its index here.
 *
 * @module
 */
import type { NodeFleet } from './fleet.ts'
import type { FaultInjector } from './injector.ts'
import type { SimParams } from './types.ts'
import type { SimTemplate } from './enrolment.ts'

/** The state one run measures. */
export interface World {
  net: NodeFleet
  injector: FaultInjector
  params: SimParams
  templates: SimTemplate[]
  /** Node index by peer id. */
  indexOf: ReadonlyMap<string, number>
}

/** Node index by peer id (certificates outlive restarts, so this is fixed for the run). */
export function peerIndex (net: Pick<NodeFleet, 'nodes'>): Map<string, number> {
  return new Map(net.nodes.map((n, i) => [n.cert.body.peer, i]))
}

/** The site of node `i`. */
export function siteOf (world: World, i: number): string {
  return world.net.nodes[i].config.site
}

/** True when node `i` holds its shares for the client: up, reachable, honest. */
export function serves (world: World, i: number): boolean {
  const inj = world.injector
  return inj.isUp(i) && inj.reachableFromClient(i) && inj.behaviourOf(i) === undefined
}

/** Templates not erased, in index order. */
export function liveTemplates (world: World): SimTemplate[] {
  return world.templates.filter((t) => !t.erased)
}
