/**
 * Loading a tenant's credentials from the directory `bioshard authority
 * tenant` writes: `tenant.key` (Ed25519 seed, 0600), `tenant.cert`, and the
 * authority's `authority.json`.
 *
 * @module
 */
import { join } from 'node:path'
import { readBytesFile, readJsonFile, writeSecretFile, ensurePrivateDir } from '../keys/files.ts'
import { parseAuthorityInfo, type AuthorityInfo } from '../keys/authority.ts'
import { signingKeyFromSeed } from '../crypto/sign.ts'
import { decodeCanonical } from '../crypto/canonical.ts'
import { wipe, toHex } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { readTenantCert } from '../protocol/certs.ts'
import { toWire } from '../protocol/signed.ts'
import type { Credential } from './context.ts'

/**
 * Load `<dir>/tenant.key`, `tenant.cert` and `authority.json`.
 *
 * @throws {BioshardError} ERR_CONFIG naming a missing or corrupt file
 * @example const { authority, tenant } = loadTenantCredentials('./tenant')
 */
export function loadTenantCredentials (dir: string): { authority: AuthorityInfo, tenant: Credential } {
  const authority = parseAuthorityInfo(readJsonFile(join(dir, 'authority.json'), 'authority description'), join(dir, 'authority.json'))
  const seed = readBytesFile(join(dir, 'tenant.key'), 'tenant key')
  if (seed.length !== 32) throw new BioshardError('ERR_CONFIG', `${join(dir, 'tenant.key')} is corrupt`)
  const key = signingKeyFromSeed(seed)
  wipe(seed)
  const cert = readTenantCert(decodeCanonical(readBytesFile(join(dir, 'tenant.cert'), 'tenant certificate'), 4096, 'tenant certificate'))
  return { authority, tenant: { key, cert: toWire(cert) } }
}

/**
 * Write a tenant directory that {@link loadTenantCredentials} reads: the key
 * seed (0600), the certificate and the authority description. Refuses to
 * overwrite existing files; wipes `seed` afterwards.
 *
 * @example writeTenantCredentials('./tenant', admitTenant(authority, 'acme'), authority.info)
 */
export function writeTenantCredentials (dir: string, tenant: { seed: Uint8Array, bytes: Uint8Array }, authority: AuthorityInfo): void {
  ensurePrivateDir(dir)
  writeSecretFile(join(dir, 'tenant.key'), tenant.seed)
  wipe(tenant.seed)
  writeSecretFile(join(dir, 'tenant.cert'), tenant.bytes)
  writeSecretFile(join(dir, 'authority.json'), JSON.stringify({ network: authority.network, publicKey: toHex(authority.publicKey) }, null, 2) + '\n')
}
