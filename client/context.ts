/**
 * What the enroll, verify and erase flows share inside one client: its host
 * and roster, its credentials, its manifests, its enclave and its timeouts.
 * The flows take this one object instead of a long list of parameters.
 *
 * @module
 */
import type { SigningKey } from '../crypto/sign.ts'
import type { SignedWire } from '../protocol/signed.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import type { Host } from '../net/host.ts'
import type { Roster } from '../net/roster.ts'
import type { ManifestStore } from './manifest-store.ts'
import type { Enclave, MatchRequest, MatchResult } from '../enclave/enclave.ts'

/**
 * A key and the certificate that authorises it; for a verifier key, `chain`
 * is the certificate of the tenant that issued it (the chain to the
 * authority, which a verifier proves to nodes when it joins).
 */
export interface Credential { key: SigningKey, cert: SignedWire, chain?: SignedWire }

/** The enclave as the flows use it: its keys, measurement, a current attestation, and match. */
export interface EnclaveHandle {
  enclave: Enclave
  attestation: SignedWire
  /** The enclave generation the attestation was made for (shares sealed to it open only there). */
  generation: number
  match: (req: MatchRequest) => Promise<MatchResult>
}

/** The client's timeouts; defaults and where they come from in client/constants.ts (DEFAULT_TIMEOUTS). */
export interface ClientTimeouts {
  /** Deadline of one request to one holder (REQUEST_TIMEOUT_MS); must exceed `hedgeMs`. */
  requestMs: number
  /** Wait this long for the first t shares before asking a spare holder too (HEDGE_DELAY_MS). */
  hedgeMs: number
  /** Deadline to publish or read a manifest in the DHT (DHT_TIMEOUT_MS). */
  dhtMs: number
}

/**
 * Presentation-attack detection (liveness): a pluggable check of the raw
 * sample. No detector ships with bioshard; an application plugs its own
 * (a PAD model, a challenge-response) and policy can require one.
 */
export type LivenessDetector = (
  sample: Float32Array | { image: Uint8Array },
  context: { phase: 'enroll' | 'verify', templateId?: Uint8Array }
) => Promise<{ live: boolean, score: number }>

/** One client's parts, as createClient composes them. */
export interface ClientContext {
  liveness?: LivenessDetector
  host: Host
  roster: Roster
  anchor: TrustAnchor
  tenant?: Credential
  verifier?: Credential
  manifests: ManifestStore
  /** The running enclave (started on first use, restarted if it died). */
  enclave: () => Promise<EnclaveHandle>
  timeouts: ClientTimeouts
}
