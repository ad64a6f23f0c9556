/**
 * Certificates. The network authority admits nodes (`NodeCert`: peer id →
 * site) and tenants (`TenantCert`: tenant key → name); a tenant authorises
 * verifiers (`VerifierCert`: verifier key → purposes). Every chain ends at an
 * authority key the node was configured with, so no peer is trusted for a
 * self-chosen identity or DHT position alone.
 *
 * @module
 */
import { asMap, bytesField, intField, arrayField, enumField, strField } from '../crypto/canonical.ts'
import { SIG, type SigTag } from '../crypto/tags.ts'
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signBody, readSigned, checkSigned, type Signed, type SignedWire } from './signed.ts'
import { peerField, nameField, PURPOSE, NETWORK_ID } from './field-formats.ts'
import { KEY_BYTES, MAX_POLICY_ITEMS, WIRE_VERSION } from './constants.ts'

/** Authority-signed admission of one node to a network. */
export interface NodeCertBody { v: number, kind: 'node', network: string, peer: string, site: string, nb: number, na: number, issuer: Uint8Array }
/** Authority-signed admission of one tenant (relying party). */
export interface TenantCertBody { v: number, kind: 'tenant', network: string, key: Uint8Array, name: string, nb: number, na: number, issuer: Uint8Array }
/** Tenant-signed authorisation of one verifier instance for some purposes. */
export interface VerifierCertBody { v: number, kind: 'verifier', tenant: Uint8Array, key: Uint8Array, name: string, purposes: string[], nb: number, na: number }

export type NodeCert = Signed<NodeCertBody>
export type TenantCert = Signed<TenantCertBody>
export type VerifierCert = Signed<VerifierCertBody>

const MAX_TIME = 8_640_000_000_000_000 // the largest JS Date, in ms

function validity (m: Record<string, unknown>, what: string): { nb: number, na: number } {
  const nb = intField(m, 'nb', what, { min: 0, max: MAX_TIME })
  const na = intField(m, 'na', what, { min: nb, max: MAX_TIME })
  return { nb, na }
}

/** Decode a node certificate body. @throws {DecodeError} */
export function decodeNodeCertBody (value: unknown): NodeCertBody {
  const what = 'node certificate'
  const m = asMap(value, what, ['v', 'kind', 'network', 'peer', 'site', 'nb', 'na', 'issuer'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['node'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    peer: peerField(m, 'peer', what),
    site: nameField(m, 'site', what),
    ...validity(m, what),
    issuer: bytesField(m, 'issuer', what, { exact: KEY_BYTES })
  }
}

/** Decode a tenant certificate body. @throws {DecodeError} */
export function decodeTenantCertBody (value: unknown): TenantCertBody {
  const what = 'tenant certificate'
  const m = asMap(value, what, ['v', 'kind', 'network', 'key', 'name', 'nb', 'na', 'issuer'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['tenant'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    key: bytesField(m, 'key', what, { exact: KEY_BYTES }),
    name: nameField(m, 'name', what),
    ...validity(m, what),
    issuer: bytesField(m, 'issuer', what, { exact: KEY_BYTES })
  }
}

/** Decode a verifier certificate body. @throws {DecodeError} */
export function decodeVerifierCertBody (value: unknown): VerifierCertBody {
  const what = 'verifier certificate'
  const m = asMap(value, what, ['v', 'kind', 'tenant', 'key', 'name', 'purposes', 'nb', 'na'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['verifier'] as const),
    tenant: bytesField(m, 'tenant', what, { exact: KEY_BYTES }),
    key: bytesField(m, 'key', what, { exact: KEY_BYTES }),
    name: nameField(m, 'name', what),
    purposes: arrayField(m, 'purposes', what, { max: MAX_POLICY_ITEMS, item: (p) => purposeValue(p, what) }),
    ...validity(m, what)
  }
}

function purposeValue (p: unknown, what: string): string {
  return strField({ p }, 'p', `${what}.purposes[]`, { max: 64, pattern: PURPOSE })
}

export const readNodeCert = (v: unknown): NodeCert => readSigned(v, 'node certificate', decodeNodeCertBody)
export const readTenantCert = (v: unknown): TenantCert => readSigned(v, 'tenant certificate', decodeTenantCertBody)
export const readVerifierCert = (v: unknown): VerifierCert => readSigned(v, 'verifier certificate', decodeVerifierCertBody)

/** Where certificates are checked: which authorities and network, and when. */
export interface TrustAnchor {
  network: string
  authorities: readonly Uint8Array[]
}

function checkWindow (nb: number, na: number, now: number, what: string): void {
  if (now < nb) throw new BioshardError('ERR_EXPIRED', `${what} is not valid until ${new Date(nb).toISOString()}`)
  if (now > na) throw new BioshardError('ERR_EXPIRED', `${what} expired at ${new Date(na).toISOString()}`)
}

function checkIssuer (network: string, issuer: Uint8Array, anchor: TrustAnchor, what: string): void {
  if (network !== anchor.network) throw new BioshardError('ERR_NOT_ADMITTED', `${what} is for network ${network}, not ${anchor.network}`)
  if (!anchor.authorities.some((a) => equalBytes(a, issuer))) throw new BioshardError('ERR_NOT_ADMITTED', `${what} is issued by an unknown authority`)
}

/**
 * Check a node certificate: known authority, this network, signature, validity at `now`.
 *
 * @throws {BioshardError} ERR_NOT_ADMITTED, ERR_BAD_SIGNATURE or ERR_EXPIRED
 */
export function checkNodeCert (cert: NodeCert, anchor: TrustAnchor, now: number): void {
  checkIssuer(cert.body.network, cert.body.issuer, anchor, 'node certificate')
  checkSigned(SIG.AUTHORITY_CERT, cert, cert.body.issuer, 'node certificate')
  checkWindow(cert.body.nb, cert.body.na, now, `node certificate of ${cert.body.peer}`)
}

/** Check a tenant certificate (as {@link checkNodeCert}). */
export function checkTenantCert (cert: TenantCert, anchor: TrustAnchor, now: number, signatures: SignatureChecker = DIRECT): void {
  checkIssuer(cert.body.network, cert.body.issuer, anchor, 'tenant certificate')
  signatures.checkSigned(SIG.AUTHORITY_CERT, cert, cert.body.issuer, 'tenant certificate')
  checkWindow(cert.body.nb, cert.body.na, now, `tenant certificate of ${cert.body.name}`)
}

/**
 * How a certificate's signature is checked: directly, or through a memory of
 * signatures already verified (net/policy/verified-cache.ts), which a node
 * passes for the tenant certificate every store and record repeats.
 */
export interface SignatureChecker {
  checkSigned: (tag: SigTag, signed: Signed<unknown>, publicKey: Uint8Array, what: string) => void
}

/** Every signature verified, every time. */
const DIRECT: SignatureChecker = { checkSigned }

/** Check a verifier certificate against the tenant key that must have issued it. */
export function checkVerifierCert (cert: VerifierCert, tenantKey: Uint8Array, now: number): void {
  if (!equalBytes(cert.body.tenant, tenantKey)) throw new BioshardError('ERR_NOT_AUTHORISED', 'verifier certificate is from another tenant')
  checkSigned(SIG.VERIFIER_CERT, cert, tenantKey, 'verifier certificate')
  checkWindow(cert.body.nb, cert.body.na, now, `verifier certificate of ${cert.body.name}`)
}

/** Issue a node certificate (authority side). */
export function issueNodeCert (body: Omit<NodeCertBody, 'v' | 'kind' | 'issuer'>, authority: SigningKey): SignedWire {
  return signBody(SIG.AUTHORITY_CERT, { v: WIRE_VERSION, kind: 'node', ...body, issuer: authority.publicKey } satisfies NodeCertBody, authority)
}

/** Issue a tenant certificate (authority side). Node and tenant certificates share the authority tag; the signed `kind` field separates them. */
export function issueTenantCert (body: Omit<TenantCertBody, 'v' | 'kind' | 'issuer'>, authority: SigningKey): SignedWire {
  return signBody(SIG.AUTHORITY_CERT, { v: WIRE_VERSION, kind: 'tenant', ...body, issuer: authority.publicKey } satisfies TenantCertBody, authority)
}

/** Issue a verifier certificate (tenant side). */
export function issueVerifierCert (body: Omit<VerifierCertBody, 'v' | 'kind' | 'tenant'>, tenant: SigningKey): SignedWire {
  return signBody(SIG.VERIFIER_CERT, { v: WIRE_VERSION, kind: 'verifier', tenant: tenant.publicKey, ...body } satisfies VerifierCertBody, tenant)
}
