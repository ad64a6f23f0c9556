/**
 * Holder side of `/bioshard/store/1.0.0`: keep one share for a tenant.
 *
 * The holder accepts a share only when the tenant is admitted by the
 * authority, the manifest and the request are signed by that tenant, this
 * node is the manifest's listed holder of exactly that x, the share matches
 * its commitment, and the id was never erased here. It answers only after
 * the share is on disk (synced), with a signed receipt.
 *
 * @module
 */
import { decodeStoreRequest, signStoreReceipt } from '../../protocol/store.ts'
import { checkManifest, entryFor, encodeManifest } from '../../protocol/manifest.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, wipe } from '../../crypto/bytes.ts'
import { shareMatches } from '../../crypto/shares.ts'
import type { RequestContext } from '../../net/rpc.ts'
import { checkEnvelope, type HolderDeps } from './context.ts'
import { slotKey } from '../../protocol/ownership.ts'

/** Serve one store request; returns the signed receipt. */
export async function handleStore (deps: HolderDeps, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const req = decodeStoreRequest(bytes)
  const { manifest, x, share } = req.body
  const templateId = manifest.body.templateId
  ctx.note.subject = toHex(templateId)
  ctx.note.action = `store x=${x}`
  try {
    const now = deps.now()
    checkEnvelope(req.body, ctx, now)
    checkManifest(manifest, deps.anchor, now)
    checkSigned(SIG.STORE_REQUEST, req, manifest.body.tenant, 'store request')
    deps.replay.check(manifest.body.tenant, req.body.nonce, now)
    if (manifest.body.state !== 'active') refuse('ERR_ERASED', 'manifest is marked erased')
    const slot = slotKey(manifest.body.tenant, templateId)
    if (await deps.store.isErased(slot)) refuse('ERR_ERASED', 'template was erased here; a new enrolment needs a new id')
    const entry = entryFor(manifest.body, deps.self)
    if (entry === undefined || entry.x !== x) refuse('ERR_NOT_HOLDER', `this node is not the listed holder of share ${x}`)
    if (entry.site !== deps.site) refuse('ERR_NOT_HOLDER', `manifest places share ${x} at site ${entry.site}, this node is at ${deps.site}`)
    if (!shareMatches(templateId, { x, bytes: share }, entry.commitment)) refuse('ERR_BAD_REQUEST', `share ${x} does not match its commitment`)
    await deps.store.put(slot, x, share, encodeManifest(manifest))
    return signStoreReceipt({ templateId, x, holder: deps.self, commitment: entry.commitment, seq: manifest.body.seq, time: now }, deps.key)
  } finally {
    // The signed body bytes hold the share too.
    wipe(share, bytes, req.bytes)
  }
}
