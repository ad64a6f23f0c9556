/**
 * A node's standing, as gossiped with its roster entry: the authority's
 * revocation of it (signed by the authority, like its certificate) or its own
 * notice that it is retiring (signed with its own peer key, like its address
 * statements). Both are small signed records (network, peer, time) and both
 * are final: no later record undoes them, so relaying either needs no trust
 * in the relay and a peer that saw one never forgets it while the node's
 * certificate lasts.
 *
 * @module
 */
import { asMap, bytesField, enumField, intField, strField } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { readSigned, signBody, type Signed, type SignedWire } from './signed.ts'
import { peerField, peerPublicKey, NETWORK_ID } from './fields.ts'
import type { TrustAnchor } from './certs.ts'
import { KEY_BYTES, WIRE_VERSION } from './constants.ts'

/** The authority's revocation of one node: from `at` on, the node is no longer admitted. */
export interface RevocationBody { v: number, kind: 'revocation', network: string, peer: string, at: number, issuer: Uint8Array }
/** A node's notice that it is retiring: from `at` on, it takes no new shares and will leave. */
export interface RetirementBody { v: number, kind: 'retiring', network: string, peer: string, at: number }

export type Revocation = Signed<RevocationBody>
export type Retirement = Signed<RetirementBody>

/** The largest time accepted (the largest JS Date, in ms). */
const MAX_TIME = 8_640_000_000_000_000

/** Decode a revocation body. @throws {DecodeError} */
export function decodeRevocationBody (value: unknown): RevocationBody {
  const what = 'revocation'
  const m = asMap(value, what, ['v', 'kind', 'network', 'peer', 'at', 'issuer'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['revocation'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    peer: peerField(m, 'peer', what),
    at: intField(m, 'at', what, { min: 0, max: MAX_TIME }),
    issuer: bytesField(m, 'issuer', what, { exact: KEY_BYTES })
  }
}

/** Decode a retirement notice body. @throws {DecodeError} */
export function decodeRetirementBody (value: unknown): RetirementBody {
  const what = 'retirement notice'
  const m = asMap(value, what, ['v', 'kind', 'network', 'peer', 'at'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['retiring'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    peer: peerField(m, 'peer', what),
    at: intField(m, 'at', what, { min: 0, max: MAX_TIME })
  }
}

/** Read a revocation (structure only; see {@link checkRevocation}). */
export const readRevocation = (v: unknown): Revocation => readSigned(v, 'revocation', decodeRevocationBody)
/** Read a retirement notice (structure only; see {@link checkRetirement}). */
export const readRetirement = (v: unknown): Retirement => readSigned(v, 'retirement notice', decodeRetirementBody)

/** Sign a revocation of `peer` (authority side). */
export function signRevocation (authority: SigningKey, body: { network: string, peer: string, at: number }): SignedWire {
  return signBody(SIG.REVOCATION, { v: WIRE_VERSION, kind: 'revocation', ...body, issuer: authority.publicKey } satisfies RevocationBody, authority)
}

/** Sign this node's retirement notice with its peer key (`keys.signing`). */
export function signRetirement (key: SigningKey, body: { network: string, peer: string, at: number }): SignedWire {
  return signBody(SIG.RETIREMENT, { v: WIRE_VERSION, kind: 'retiring', ...body } satisfies RetirementBody, key)
}

/** A signature check: `checkSigned`, or a cache of verified signatures. */
export type VerifyFn = (tag: typeof SIG.REVOCATION | typeof SIG.RETIREMENT, signed: Signed<unknown>, key: Uint8Array, what: string) => void

/**
 * Check a revocation of `peer`: this network, a configured authority, its signature.
 *
 * @throws {BioshardError} ERR_BAD_REQUEST for another peer, ERR_NOT_ADMITTED for another network or an unknown signer, ERR_BAD_SIGNATURE
 */
export function checkRevocation (r: Revocation, peer: string, anchor: TrustAnchor, verify: VerifyFn): void {
  if (r.body.peer !== peer) throw new BioshardError('ERR_BAD_REQUEST', `revocation of ${r.body.peer} sent for ${peer}`)
  if (r.body.network !== anchor.network) throw new BioshardError('ERR_NOT_ADMITTED', `revocation is for network ${r.body.network}, not ${anchor.network}`)
  if (!anchor.authorities.some((a) => equalBytes(a, r.body.issuer))) throw new BioshardError('ERR_NOT_ADMITTED', 'revocation is issued by an unknown authority')
  verify(SIG.REVOCATION, r, r.body.issuer, `revocation of ${peer}`)
}

/**
 * Check a retirement notice of `peer`: this network, signed by the peer's own key.
 *
 * @throws {BioshardError} ERR_BAD_REQUEST for another peer or network, ERR_BAD_SIGNATURE when not signed by the peer
 */
export function checkRetirement (r: Retirement, peer: string, network: string, verify: VerifyFn): void {
  if (r.body.peer !== peer) throw new BioshardError('ERR_BAD_REQUEST', `retirement notice of ${r.body.peer} sent for ${peer}`)
  if (r.body.network !== network) throw new BioshardError('ERR_BAD_REQUEST', `retirement notice is for network ${r.body.network}`)
  verify(SIG.RETIREMENT, r, peerPublicKey(peer), `retirement notice of ${peer}`)
}
