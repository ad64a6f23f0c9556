/**
 * Joining the network as a client: one libp2p host (DHT client mode) that
 * proves its certificate to the nodes it meets and learns the roster through
 * admission. Ready when the roster has arrived, a node has accepted the
 * proof, and the DHT has a peer to query (identify runs after the connection
 * opens; a lookup with an empty routing table ends at once, empty).
 *
 * @module
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { BioshardError } from '../errors.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { createHost, dialBootstrap, transportFor, type Host } from '../net/host.ts'
import { Roster } from '../net/roster.ts'
import { Admission, CLIENT_ACCEPTANCE_WAIT_MS } from '../net/admission.ts'
import { awaitAdmissionBeforeRequests, InvalidRequestBudget } from '../net/rpc.ts'
import type { Credential } from './context.ts'
import { networkMismatch } from './network-mismatch.ts'
import { REFUSAL_BUDGET, ROSTER_POLL_MS, ROSTER_SLOW_WAIT_MS, ROSTER_WAIT_MS } from './constants.ts'

/** How to join. */
export interface JoinOptions {
  bootstrap: string[]
  anchor: TrustAnchor
  /** libp2p identity; a fresh one when absent. */
  identity?: PrivateKey
  /** The certificate proved to nodes. */
  proof: Credential
}

/** A joined client host and how to leave. */
export interface Joined { host: Host, roster: Roster, leave: () => Promise<void> }

/**
 * Start a client host and join through the bootstrap nodes.
 *
 * @throws {BioshardError} ERR_QUORUM_UNAVAILABLE when no bootstrap node answers; ERR_NOT_ADMITTED when its network or authority is not the anchor's
 * @example const { host, roster, leave } = await joinNetwork({ bootstrap, anchor, proof })
 */
/**
 * Make `host`'s gated requests wait (bounded) for each node to accept the
 * credential `admission` proves, and wait for a fresh acceptance before the
 * one resend of a request a node refused as unadmitted (net/rpc.ts `request`).
 */
export function requestsAwaitAcceptance (host: Host, admission: Admission): void {
  awaitAdmissionBeforeRequests(host, async (peer, { signal, again }) => {
    if (again === true) admission.forgetAcceptance(peer)
    return await admission.acceptedWithin(peer, CLIENT_ACCEPTANCE_WAIT_MS, signal)
  })
}

export async function joinNetwork (o: JoinOptions): Promise<Joined> {
  const roster = new Roster(o.anchor)
  const privateKey = o.identity ?? await generateKeyPair('Ed25519')
  const host = await createHost({
    privateKey, listen: [], transport: transportFor(o.bootstrap), anchor: o.anchor, role: 'client', isAdmitted: (peer) => roster.isAdmitted(peer.toString())
  })
  const budget = new InvalidRequestBudget(REFUSAL_BUDGET.limit, REFUSAL_BUDGET.windowMs, REFUSAL_BUDGET.banMs)
  const admission = new Admission({ libp2p: host, roster, budget, credential: o.proof })
  await host.start()
  await admission.start()
  // A node serves a client once it has seen the client's credential: requests wait (bounded) for that exchange.
  if (o.proof !== undefined) requestsAwaitAcceptance(host, admission)
  const leave = async (): Promise<void> => { await admission.stop(); await host.stop() }
  if (await dialBootstrap(host, o.bootstrap) === 0) {
    await leave()
    throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no bootstrap node could be reached')
  }
  const dht = host.services.dht as KadDHT & { routingTable?: { size: number } }
  const ready = (): boolean => roster.size() > 0 && admission.acceptances > 0 && (dht.routingTable?.size ?? 1) > 0
  const started = Date.now()
  // Nothing heard by the first deadline: likely the wrong network (checked below). Something heard: a slow network, worth waiting for.
  const waiting = (): boolean => Date.now() - started < (roster.size() > 0 ? ROSTER_SLOW_WAIT_MS : ROSTER_WAIT_MS)
  while (!ready() && waiting()) await new Promise((resolve) => setTimeout(resolve, ROSTER_POLL_MS))
  const mismatch = roster.size() === 0 ? await networkMismatch(host, o.anchor) : undefined
  if (mismatch !== undefined) {
    await leave()
    throw mismatch
  }
  return { host, roster, leave }
}
