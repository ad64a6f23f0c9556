/**
 * The simulator's view of a network of real nodes, whichever thread runs
 * them: the run loop, the fault injector and the measures reach nodes only
 * through a {@link NodeFleet}. One implementation holds every node in this
 * thread (sim/fleet-local.ts, over LocalNetwork); the other spreads them
 * over worker threads (sim/fleet-threads.ts). Provisioning (the authority,
 * node directories, certificates, tenants and verifiers) stays on the main
 * thread in both.
 *
 * @module
 */
import type { AuthorityInfo } from '../keys/authority.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import type { Tenant, Verifier } from './local-network.ts'
import type { LinkChange } from './link-state.ts'
import type { Behaviour } from './types.ts'

/** One share a node's store holds (the caller wipes `share`). */
export interface HeldShare { x: number, share: Uint8Array }

/** One node as the simulator uses it. */
export interface FleetNode {
  /** The node's certificate (its peer id is fixed for the run). */
  readonly cert: { readonly body: { readonly peer: string } }
  readonly config: { readonly site: string }
  /** The node's directory. */
  readonly dir: string
  /** Is the node running now? */
  isUp: () => boolean
  /** The slots its store holds. */
  heldSlots: () => AsyncIterable<Uint8Array>
  /** The share its store holds for `slot`, if any: a copy the caller wipes. */
  heldShare: (slot: Uint8Array) => Promise<HeldShare | undefined>
  /** Reconcile its shares with the newest manifests now (node/reconcile.ts). */
  reconcile: () => Promise<unknown>
  /** Stop it (its directory stays); a no-op when it is down. */
  stop: () => Promise<void>
  /**
   * Start it again from its directory on its former addresses, joining
   * through the first running node; with `behaviour`, with that Byzantine
   * handler table from now on (sim/faults.ts), else with the table it had.
   */
  restart: (behaviour?: Behaviour) => Promise<void>
  /** The peers it has open connections with (none when down). */
  connectedPeers: () => Promise<string[]>
}

/** A running network of real nodes (see the module doc). */
export interface NodeFleet {
  /** Node i is `nodes[i]`, for the whole run. */
  readonly nodes: readonly FleetNode[]
  /** Worker threads the nodes run in (1: this thread). */
  readonly threads: number
  readonly info: AuthorityInfo
  readonly anchor: TrustAnchor
  /** A bootstrap address (the first running node). */
  readonly bootstrap: string[]
  /** Rejects when the fleet can no longer run (a node thread died); never settles otherwise. */
  readonly failed: Promise<never>
  /** Admit a tenant. */
  tenant: (name?: string) => Tenant
  /** Authorise a verifier under `tenant`. */
  verifier: (tenant: Tenant, purposes?: string[], name?: string) => Verifier
  /** Shape every node's clock, links and requests from a link state fed by {@link NodeFleet.changeLinks}; `seed` derives each node's draws. */
  shapeLinks: (seed: number) => void
  /** Apply one link change everywhere nodes run (in order with every other call). */
  changeLinks: (change: LinkChange) => void
  /** Close every open connection the link state now refuses. */
  closeDenied: () => Promise<void>
  /** Wait until every running node's roster lists every running node. */
  converged: (timeoutMs?: number) => Promise<void>
  /** Stop every node and thread, however the run ended. */
  stop: () => Promise<void>
}
