/**
 * Template ownership as part of every key (docs/architecture.md, "Trust
 * rules"). A template id belongs to the tenant that first enrolled it; rather
 * than remember that binding somewhere and check it everywhere, the owner's
 * tag is named in the key itself ({@link manifestKey}, {@link slotKey}), so a
 * validator checks ownership from the key alone and another tenant's manifest
 * can never sit under the same key. Tenant keys are not rotated: a new key is
 * a new tenant with new ids.
 *
 * @module
 */
import { taggedHash } from '../crypto/hash.ts'
import { HASH } from '../crypto/tags.ts'
import { abytes, concat, equalBytes, toHex, utf8 } from '../crypto/bytes.ts'
import { DecodeError } from '../errors.ts'
import { KEY_BYTES, TEMPLATE_ID_BYTES } from './constants.ts'

/** The namespace kad-dht routes to our validator and selector. */
export const RECORD_NAMESPACE = 'bioshard'
/** Length of a tenant tag. */
export const TENANT_TAG_BYTES = 32
/** Length of a holder storage slot: tenant tag then template id. */
export const SLOT_BYTES = TENANT_TAG_BYTES + TEMPLATE_ID_BYTES

const KEY_PATTERN = new RegExp(`^/${RECORD_NAMESPACE}/([0-9a-f]{64})/([0-9a-f]{64})$`)
const MAX_KEY_CHARS = RECORD_NAMESPACE.length + 2 * 64 + 3

/**
 * The tag that names a tenant in keys: `H(HASH.TENANT_TAG, tenant key)`.
 *
 * @param tenant - the tenant's 32-byte Ed25519 public key
 * @returns 32 bytes
 * @throws {TypeError|RangeError} when `tenant` is not 32 bytes
 * @example const tag = tenantTag(manifest.body.tenant)
 */
export function tenantTag (tenant: Uint8Array): Uint8Array {
  return taggedHash(HASH.TENANT_TAG, abytes(tenant, KEY_BYTES, 'tenant'))
}

/**
 * The holder's storage slot of one template: `tenantTag || templateId`.
 *
 * @param tenant - the owning tenant's 32-byte public key
 * @param templateId - 32-byte template id
 * @returns 64 bytes
 * @throws {TypeError|RangeError} when an argument has the wrong length
 * @example await store.put(slotKey(m.body.tenant, m.body.templateId), x, share, bytes)
 */
export function slotKey (tenant: Uint8Array, templateId: Uint8Array): Uint8Array {
  return concat(tenantTag(tenant), abytes(templateId, TEMPLATE_ID_BYTES, 'templateId'))
}

/** The tenant tag inside a storage slot. */
export function slotTenantTag (slot: Uint8Array): Uint8Array {
  return abytes(slot, SLOT_BYTES, 'slot').subarray(0, TENANT_TAG_BYTES)
}

/**
 * DHT key of a template's manifest, under its owner. A validator accepts under
 * it only a manifest signed by the tenant whose tag the key names, and a
 * verifier looks up only under its own tenant.
 *
 * @param tenant - the owning tenant's 32-byte public key
 * @param templateId - 32-byte template id
 * @returns utf8 of `/bioshard/<hex tenantTag>/<hex templateId>`
 * @example for await (const e of dht.get(manifestKey(tenant, id))) …
 */
export function manifestKey (tenant: Uint8Array, templateId: Uint8Array): Uint8Array {
  return utf8(`/${RECORD_NAMESPACE}/${toHex(tenantTag(tenant))}/${toHex(abytes(templateId, TEMPLATE_ID_BYTES, 'templateId'))}`)
}

/**
 * Split a record key into its owner's tag and template id.
 *
 * @throws {DecodeError} ERR_DECODE when the key is not a manifest key
 */
export function parseManifestKey (key: Uint8Array): { tag: Uint8Array, templateId: Uint8Array } {
  if (!(key instanceof Uint8Array) || key.length > MAX_KEY_CHARS) throw new DecodeError('record key is not a manifest key')
  const m = KEY_PATTERN.exec(new TextDecoder().decode(key))
  if (m === null) throw new DecodeError('record key is not a manifest key')
  return { tag: Uint8Array.from(Buffer.from(m[1], 'hex')), templateId: Uint8Array.from(Buffer.from(m[2], 'hex')) }
}

/** Whether `key` is the manifest key of `tenant`'s template `templateId`. */
export function isManifestKeyOf (key: Uint8Array, tenant: Uint8Array, templateId: Uint8Array): boolean {
  return equalBytes(key, manifestKey(tenant, templateId))
}
