/**
 * What the holder-side protocol handlers share: the node's identity, trust
 * anchor, storage, replay and rate state, and the checks every signed request
 * goes through first (bound to the authenticated sender, fresh).
 *
 * @module
 */
import type { Sealer } from '../../crypto/seal.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { RateLimiter } from '../../net/policy/rate-limiter.ts'
import type { AttestationVerifier } from '../../protocol/attestation.ts'
import { FRESHNESS_WINDOW_MS } from '../../protocol/constants.ts'
import { refuse } from '../../protocol/errors.ts'
import type { RequestContext } from '../../net/rpc.ts'

export interface HolderDeps {
  /** This node's peer id. */
  self: string
  /** This node's site (from its certificate). */
  site: string
  /** Signs receipts and responses; the public half is inside `self`. */
  key: SigningKey
  anchor: TrustAnchor
  store: ShareStore
  replay: ReplayCache
  rate: RateLimiter
  /** Attestation verifiers by kind; `process` is built in. */
  attestation: Readonly<Record<string, AttestationVerifier>>
  /** Seals shares to enclaves; one per node, so no two nodes share an HPKE sender context. */
  sealer: Sealer
  now: () => number
  /** Fault injection for the simulator and tests (a Byzantine site). Never set in production. */
  faults?: Faults
}

/** Misbehaviours a simulated Byzantine node can be told to show. */
export interface Faults {
  /** Flip a bit in every share before sealing it (a wrong share, correctly sealed and signed). */
  corruptShares?: boolean
}

/**
 * Checks common to every signed request: it names the peer that sent it
 * (a request captured in transit cannot be replayed by another peer) and its
 * timestamp is within the freshness window.
 *
 * @throws {RefusalError} ERR_NOT_AUTHORISED or ERR_STALE
 */
export function checkEnvelope (body: { sender: string, time: number }, ctx: RequestContext, now: number): void {
  if (body.sender !== ctx.peer) refuse('ERR_NOT_AUTHORISED', 'request is signed for another sender peer')
  if (Math.abs(now - body.time) > FRESHNESS_WINDOW_MS) refuse('ERR_STALE', `request time is outside the ${FRESHNESS_WINDOW_MS / 1000} s freshness window`)
}
