/**
 * Holder side of `/bioshard/erase/1.0.0`: opt-out. The tenant, or the subject
 * with the key named in the consent record, asks; the holder deletes the
 * share and its manifest copy, keeps a tombstone so the id can never be
 * stored or fetched again, and returns a signed receipt. Erasing twice
 * returns a receipt again (idempotent).
 *
 * @module
 */
import { decodeEraseRequest, eraseRequestHash, signEraseReceipt } from '../../protocol/erase.ts'
import { checkManifest, decodeManifest } from '../../protocol/manifest.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, equalBytes } from '../../crypto/bytes.ts'
import type { RequestContext } from '../rpc.ts'
import type { ManifestCache } from './fetch.ts'
import { checkEnvelope, type HolderDeps } from './context.ts'
import { slotKey } from '../../protocol/ownership.ts'

/** Serve one erase request; returns the signed erase receipt. */
export async function handleErase (deps: HolderDeps, manifests: ManifestCache, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const req = decodeEraseRequest(bytes)
  const { manifest, by, key } = req.body
  const templateId = manifest.body.templateId
  ctx.note.subject = toHex(templateId)
  ctx.note.action = `erase by=${by}`
  const now = deps.now()
  checkEnvelope(req.body, ctx, now)
  checkManifest(manifest, deps.anchor, now, { ignoreExpiry: true })
  const allowed = by === 'tenant'
    ? equalBytes(key, manifest.body.tenant)
    : manifest.body.consent.by === 'subject' && manifest.body.consent.subject !== undefined && equalBytes(key, manifest.body.consent.subject)
  if (!allowed) refuse('ERR_NOT_AUTHORISED', `erase signer is not the manifest's ${by}`)
  checkSigned(SIG.ERASE_REQUEST, req, key, 'erase request')
  deps.replay.check(key, req.body.nonce, now)
  // Our own copy decides whose template this is: another tenant's manifest
  // naming the same id must not erase it.
  const slot = slotKey(manifest.body.tenant, templateId)
  const ours = await deps.store.getManifest(slot)
  if (ours !== undefined && !equalBytes(decodeManifest(ours).body.tenant, manifest.body.tenant)) refuse('ERR_NOT_AUTHORISED', 'template belongs to another tenant')
  const { held } = await deps.store.erase(slot, bytes)
  manifests.drop(slot)
  return signEraseReceipt({ templateId, holder: deps.self, held, request: eraseRequestHash(req), time: now }, deps.key)
}
