/**
 * The network authority: a key that admits nodes and tenants, and the
 * network id they belong to. Kept in its own directory, offline from the
 * nodes it admits.
 *
 * Layout: `authority.json` (public: network, public key), `authority.key`
 * (the Ed25519 seed, 0600), `certs/` (issued certificates), `revocations/`
 * (revocations issued, each with the revoked node's certificate).
 *
 * @module
 */
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { encodeCanonical, decodeCanonical } from '../crypto/canonical.ts'
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from '../crypto/sign.ts'
import { randomBytes, toHex, fromHex, wipe } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import {
  issueNodeCert, issueTenantCert, issueVerifierCert, readNodeCert, readTenantCert, readVerifierCert,
  type NodeCert, type TenantCert, type VerifierCert
} from '../protocol/certs.ts'
import { readSigned, type SignedWire } from '../protocol/signed.ts'
import { decodeRevocationBody, signRevocation } from '../protocol/revocation.ts'
import type { RosterEntry } from '../protocol/admit.ts'
import { NETWORK_ID } from '../protocol/fields.ts'
import { writeSecretFile, readBytesFile, readJsonFile, ensurePrivateDir } from './files.ts'

const DAY_MS = 86_400_000

/** The public description of an authority (what nodes are configured with). */
export interface AuthorityInfo { network: string, publicKey: Uint8Array }

/** An authority's description together with its signing key (what issues certificates). */
export interface Authority { info: AuthorityInfo, key: SigningKey }

/** A new key and the certificate issued for it (`seed` is the secret key material: store it, then wipe it). */
export interface IssuedKey<C> { key: SigningKey, seed: Uint8Array, cert: C, bytes: Uint8Array }

/** Create a new authority in `dir` (refuses if one exists). */
export function initAuthority (dir: string): AuthorityInfo {
  ensurePrivateDir(dir)
  if (existsSync(join(dir, 'authority.key'))) throw new BioshardError('ERR_CONFIG', `an authority already exists in ${dir}`)
  const { key, seed } = generateSigningKey()
  const network = `bsn-${toHex(randomBytes(8))}`
  writeSecretFile(join(dir, 'authority.key'), seed)
  wipe(seed)
  writeSecretFile(join(dir, 'authority.json'), JSON.stringify({ network, publicKey: toHex(key.publicKey) }, null, 2) + '\n')
  ensurePrivateDir(join(dir, 'certs'))
  return { network, publicKey: key.publicKey }
}

/** Parse an `authority.json` object. */
export function parseAuthorityInfo (value: unknown, where: string): AuthorityInfo {
  const v = value as { network?: unknown, publicKey?: unknown }
  if (typeof v !== 'object' || v === null) throw new BioshardError('ERR_CONFIG', `${where}: must be an object`)
  if (typeof v.network !== 'string' || !NETWORK_ID.test(v.network)) throw new BioshardError('ERR_CONFIG', `${where}: network must look like bsn-<16 hex>`)
  if (typeof v.publicKey !== 'string' || !/^[0-9a-f]{64}$/.test(v.publicKey)) {
    throw new BioshardError('ERR_CONFIG', `${where}: publicKey must be 64 hex characters`)
  }
  return { network: v.network, publicKey: fromHex(v.publicKey) }
}

/** Load an authority (public info and signing key) from `dir`. */
export function loadAuthority (dir: string): { info: AuthorityInfo, key: SigningKey } {
  const info = parseAuthorityInfo(readJsonFile(join(dir, 'authority.json'), 'authority description'), join(dir, 'authority.json'))
  const seed = readBytesFile(join(dir, 'authority.key'), 'authority key')
  if (seed.length !== 32) throw new BioshardError('ERR_CONFIG', `authority key at ${dir} is corrupt`)
  const key = signingKeyFromSeed(seed)
  wipe(seed)
  return { info, key }
}

/** Options for a certificate's validity window. */
export interface Validity { now?: number, days?: number }

function window (v: Validity): { nb: number, na: number } {
  const now = v.now ?? Date.now()
  const days = v.days ?? 365
  if (!(days > 0 && days <= 3650)) throw new RangeError('days must be in (0, 3650]')
  // Back-date a little so a node whose clock is slightly behind still accepts it.
  return { nb: now - 60_000, na: now + Math.round(days * DAY_MS) }
}

/** Issue a node certificate for `peer` at `site`. */
export function admitNode (
  authority: Authority, peer: string, site: string, validity: Validity = {}
): { wire: SignedWire, bytes: Uint8Array, cert: NodeCert } {
  const wire = issueNodeCert({ network: authority.info.network, peer, site, ...window(validity) }, authority.key)
  const bytes = encodeCanonical(wire)
  return { wire, bytes, cert: readNodeCert(decodeCanonical(bytes, 4096, 'node certificate')) }
}

/** Issue a tenant certificate and a fresh tenant key. */
export function admitTenant (authority: Authority, name: string, validity: Validity = {}): IssuedKey<TenantCert> {
  const { key, seed } = generateSigningKey()
  const wire = issueTenantCert({ network: authority.info.network, key: key.publicKey, name, ...window(validity) }, authority.key)
  const bytes = encodeCanonical(wire)
  return { key, seed, bytes, cert: readTenantCert(decodeCanonical(bytes, 4096, 'tenant certificate')) }
}

/** Issue a verifier certificate and a fresh verifier key (tenant side). */
export function authoriseVerifier (tenant: SigningKey, name: string, purposes: string[], validity: Validity = {}): IssuedKey<VerifierCert> {
  const { key, seed } = generateSigningKey()
  const wire = issueVerifierCert({ key: key.publicKey, name, purposes, ...window(validity) }, tenant)
  const bytes = encodeCanonical(wire)
  return { key, seed, bytes, cert: readVerifierCert(decodeCanonical(bytes, 4096, 'verifier certificate')) }
}

/**
 * Revoke a node: the authority's signed revocation of `cert`'s peer, as the
 * roster entry that carries it (the node's certificate and the revocation),
 * which admission spreads like any entry. Final: the peer id is never
 * admitted again by any roster that has seen it.
 *
 * @throws {BioshardError} ERR_BAD_REQUEST when `cert` is for another network
 */
export function revokeNode (authority: Authority, cert: NodeCert, now = Date.now()): RosterEntry {
  if (cert.body.network !== authority.info.network) throw new BioshardError('ERR_BAD_REQUEST', `the certificate is for network ${cert.body.network}`)
  const wire = signRevocation(authority.key, { network: authority.info.network, peer: cert.body.peer, at: now })
  const bytes = encodeCanonical(wire)
  return { cert, revoked: readSigned(decodeCanonical(bytes, 4096, 'revocation'), 'revocation', decodeRevocationBody) }
}
