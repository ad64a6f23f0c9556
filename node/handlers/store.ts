/**
 * Holder side of `/bioshard/store/1.0.0`: keep one share for a tenant.
 *
 * The holder accepts a share only when the tenant is admitted by the
 * authority, the manifest and the request are signed by that tenant, this
 * node is the manifest's listed holder of exactly that x, the share matches
 * its commitment, and the id was never erased here. It answers only after
 * the share is on disk (synced), with a signed receipt ({@link storeHandler}).
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
import type { SigningKey } from '../../crypto/sign.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { VerifiedCache } from '../../net/policy/verified-cache.ts'
import type { RequestContext, RequestHandler } from '../../net/rpc.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { ShareStore } from '../store/share-store.ts'
import { checkEnvelope } from './context.ts'
import { slotKey } from '../../protocol/ownership.ts'

/** What the store handler uses. */
export interface StoreHandlerDeps {
  /** This node's peer id: the holder a manifest must list. */
  self: string
  /** This node's site (from its certificate): where the manifest must place the share. */
  site: string
  /** Signs receipts; the public half is inside `self`. */
  key: SigningKey
  /** The authorities whose tenant certificates are trusted. */
  anchor: TrustAnchor
  /** Where shares are kept (synced before the receipt). */
  store: Pick<ShareStore, 'isErased' | 'put'>
  /** Nonces already served. */
  replay: ReplayCache
  /** Remembered certificate signatures (one per node): the tenant certificate each store repeats is verified once. */
  verified?: VerifiedCache
  now: () => number
}

/**
 * The handler of `/bioshard/store/1.0.0`, built from the dependencies it names;
 * the node registers it from its handler table.
 *
 * @param deps - what the handler uses, and nothing else
 * @returns a handler that serves one store request and returns the signed receipt (wire form)
 * @example await serve(host, PROTOCOL.STORE, storeHandler({ self, site, key, anchor, store, replay, now }), options)
 */
export function storeHandler (deps: StoreHandlerDeps): RequestHandler {
  return async (bytes, ctx) => await handleStore(deps, bytes, ctx)
}

/**
 * Serve one store request.
 *
 * @throws {BioshardError} a refusal with its code (ERR_DECODE, ERR_STALE, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE,
 *   ERR_REPLAY, ERR_ERASED, ERR_NOT_HOLDER, ERR_BAD_REQUEST, …)
 */
async function handleStore (deps: StoreHandlerDeps, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const req = decodeStoreRequest(bytes)
  const { manifest, x, share } = req.body
  const templateId = manifest.body.templateId
  ctx.note.subject = toHex(templateId)
  ctx.note.action = `store x=${x}`
  try {
    const now = deps.now()
    checkEnvelope(req.body, ctx, now)
    // A replay is refused before anything is verified again (the nonce is recorded only once the signature is).
    deps.replay.refuseSeen(manifest.body.tenant, req.body.nonce, now)
    checkManifest(manifest, deps.anchor, now, deps.verified !== undefined ? { signatures: deps.verified } : {})
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
