/**
 * Holder side of `/bioshard/erase/1.0.0`: opt-out. The tenant, or the subject
 * with the key named in the consent record, asks; the holder deletes the
 * share and its manifest copy, keeps a tombstone in the tenant's slot so the
 * id can never be stored or fetched again there, and returns a signed
 * receipt. Erasing twice returns a receipt again (idempotent). A node that
 * the manifest does not list and that holds nothing of the id refuses
 * (ERR_NOT_HOLDER) rather than keep a tombstone for good ({@link eraseHandler}).
 *
 * @module
 */
import { decodeEraseRequest, eraseRequestHash, signEraseReceipt } from '../../protocol/erase.ts'
import { checkManifest, entryFor } from '../../protocol/manifest.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, equalBytes } from '../../crypto/bytes.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { RequestContext, RequestHandler } from '../../net/rpc.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ManifestCache } from './manifest-cache.ts'
import { checkEnvelope } from './context.ts'
import { slotKey } from '../../protocol/ownership.ts'

/** What the erase handler uses. */
export interface EraseHandlerDeps {
  /** This node's peer id. */
  self: string
  /** Signs receipts; the public half is inside `self`. */
  key: SigningKey
  /** The authorities whose tenant certificates are trusted. */
  anchor: TrustAnchor
  /** Where the share, its manifest copy and the tombstone live. */
  store: Pick<ShareStore, 'getManifest' | 'isErased' | 'erase'>
  /** The node's decoded manifests; an erased id is dropped from it. */
  manifests: Pick<ManifestCache, 'drop'>
  /** Nonces already served. */
  replay: ReplayCache
  now: () => number
}

/**
 * The handler of `/bioshard/erase/1.0.0`, built from the dependencies it names;
 * the node registers it from its handler table.
 *
 * @param deps - what the handler uses, and nothing else
 * @returns a handler that serves one erase request and returns the signed erase receipt (wire form)
 * @example await serve(host, PROTOCOL.ERASE, eraseHandler({ self, key, anchor, store, manifests, replay, now }), options)
 */
export function eraseHandler (deps: EraseHandlerDeps): RequestHandler {
  return async (bytes, ctx) => await handleErase(deps, bytes, ctx)
}

/**
 * Serve one erase request.
 *
 * @throws {BioshardError} a refusal with its code (ERR_DECODE, ERR_STALE, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE,
 *   ERR_REPLAY, ERR_NOT_HOLDER, …)
 */
async function handleErase (deps: EraseHandlerDeps, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const req = decodeEraseRequest(bytes)
  const { manifest, by, key } = req.body
  const templateId = manifest.body.templateId
  ctx.note.subject = toHex(templateId)
  ctx.note.action = `erase by=${by}`
  const now = deps.now()
  checkEnvelope(req.body, ctx, now)
  // A replay is refused before anything is verified again (the nonce is recorded only once the signature is).
  deps.replay.refuseSeen(key, req.body.nonce, now)
  checkManifest(manifest, deps.anchor, now, { ignoreExpiry: true })
  const allowed = by === 'tenant'
    ? equalBytes(key, manifest.body.tenant)
    : manifest.body.consent.by === 'subject' && manifest.body.consent.subject !== undefined && equalBytes(key, manifest.body.consent.subject)
  if (!allowed) refuse('ERR_NOT_AUTHORISED', `erase signer is not the manifest's ${by}`)
  checkSigned(SIG.ERASE_REQUEST, req, key, 'erase request')
  deps.replay.check(key, req.body.nonce, now)
  // The slot names the signing tenant: another tenant's erase of the same id
  // lands in that tenant's own slot and never touches the owner's.
  const slot = slotKey(manifest.body.tenant, templateId)
  // A tombstone is kept only where it can matter: at a node the manifest lists
  // (an erase that overtakes its store must still win) or that holds something
  // in the slot. Anywhere else no tenant may make a node keep one for good.
  const listed = entryFor(manifest.body, deps.self) !== undefined
  if (!listed && await deps.store.getManifest(slot) === undefined && !(await deps.store.isErased(slot))) {
    refuse('ERR_NOT_HOLDER', 'this node is not a holder of that template')
  }
  const { held } = await deps.store.erase(slot, bytes)
  deps.manifests.drop(slot)
  return signEraseReceipt({ templateId, holder: deps.self, held, request: eraseRequestHash(req), time: now }, deps.key)
}
