/**
 * Who a client acts as: its tenant credential (to enrol and erase), its
 * verifier credential (to verify; a tenant-only client authorises one for
 * itself, since a tenant may verify its own enrolments), the tenant whose
 * manifests it trusts, and the certificate it proves to nodes when it joins.
 *
 * @module
 */
import { equalBytes, wipe } from '../crypto/bytes.ts'
import { readVerifierCert } from '../protocol/certs.ts'
import { toWire } from '../protocol/signed.ts'
import { authoriseVerifier } from '../keys/authority.ts'
import type { Credential } from './context.ts'
import { SELF_VERIFIER } from './constants.ts'

/** A client's resolved credentials. */
export interface ClientIdentity {
  tenant?: Credential
  verifier?: Credential
  /** The 32-byte key of the tenant this client acts for: only its manifests are trusted. */
  ownTenant: Uint8Array
  /** The credential proved to nodes on joining: a verifier key with its tenant's certificate, else the tenant key. */
  proof: Credential
}

/**
 * Resolve a client's credentials.
 *
 * @throws {TypeError} when neither credential is given, the verifier is certified by another tenant than the one given,
 *   or a verifier without its tenant certificate (`chain`) is given alone
 * @example const id = resolveIdentity({ tenant })
 */
export function resolveIdentity (credentials: { tenant?: Credential, verifier?: Credential } | undefined): ClientIdentity {
  const tenant = credentials?.tenant
  const given = credentials?.verifier
  const verifierTenant = given !== undefined ? readVerifierCert(given.cert).body.tenant : undefined
  if (tenant !== undefined && verifierTenant !== undefined && !equalBytes(verifierTenant, tenant.key.publicKey)) {
    throw new TypeError('credentials.verifier is certified by another tenant than credentials.tenant')
  }
  const ownTenant = tenant?.key.publicKey ?? verifierTenant
  if (ownTenant === undefined) throw new TypeError('credentials must hold a tenant or a verifier credential')
  const verifier = given ?? (tenant !== undefined ? selfVerifier(tenant) : undefined)
  const proof = verifier?.chain !== undefined ? verifier : tenant
  if (proof === undefined) throw new TypeError('credentials.verifier needs chain (its tenant certificate) when no tenant credential is given')
  return { ...(tenant !== undefined ? { tenant } : {}), ...(verifier !== undefined ? { verifier } : {}), ownTenant, proof }
}

/** A verifier key the tenant authorises for this client. */
function selfVerifier (tenant: Credential): Credential {
  const v = authoriseVerifier(tenant.key, 'client', [...SELF_VERIFIER.purposes], { days: SELF_VERIFIER.days })
  // The key object holds its own copy; this client never stores the seed.
  wipe(v.seed)
  return { key: v.key, cert: toWire(v.cert), chain: tenant.cert }
}
