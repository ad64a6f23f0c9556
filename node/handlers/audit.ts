/**
 * Holder side of `/bioshard/audit/1.0.0`: prove possession of the exact share
 * the manifest commits to, to the template's tenant or an auditor it
 * certified, without revealing any byte of it (crypto/possession.ts).
 *
 * Checks, in order, as fetch runs them: sender binding and freshness; the
 * auditor is the tenant the request names, or holds that tenant's
 * certificate for the purpose `audit`; the request signature; only then,
 * under that tenant's own slot, the id is not erased and is held here (so a
 * stranger or another tenant hears what it would for an unknown id); the
 * tenant certificate is in date; the nonce is new; the rate limit. Only then
 * is the share decrypted from disk, proved over and wiped.
 *
 * @module
 */
import { decodeAuditRequest, auditRequestHash, signAuditResponse, AUDIT_PURPOSE } from '../../protocol/audit.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { entryFor } from '../../protocol/manifest.ts'
import { refuse } from '../../protocol/errors.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, wipe } from '../../crypto/bytes.ts'
import { proveAudit } from '../../crypto/possession.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import type { RequestContext, RequestHandler } from '../../net/rpc.ts'
import { VerifiedCache, checkVerifierCertWith } from '../../net/policy/verified-cache.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { RateLimiter, RateLimit } from '../../net/policy/rate-limiter.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ManifestCache } from './manifest-cache.ts'
import { checkEnvelope } from './context.ts'

/**
 * Audits one auditor may have answered per template at one holder: a proof
 * costs the holder tens of milliseconds of CPU, and a maintainer audits each
 * template every few minutes at most, so a few a minute with a small burst
 * serve it while a flood is cut off.
 */
export const AUDIT_RATE: RateLimit = { ratePerMinute: 6, burst: 6 }

/** Callers that pass no cache verify every certificate signature every time. */
const UNCACHED = new VerifiedCache(0)

/** What the audit handler uses. */
export interface AuditHandlerDeps {
  /** This node's peer id: the holder whose share the manifest lists. */
  self: string
  /** Signs responses. */
  key: SigningKey
  /** Where shares are read from (the manifest comes from `manifests`). */
  store: Pick<ShareStore, 'isErased' | 'getShare'>
  /** The node's decoded manifests. */
  manifests: Pick<ManifestCache, 'get'>
  /** Nonces already served. */
  replay: ReplayCache
  /** Per auditor and template, at {@link AUDIT_RATE}. */
  rate: RateLimiter
  /** Remembered certificate signatures (one per node). */
  verified?: VerifiedCache
  now: () => number
}

/**
 * The handler of `/bioshard/audit/1.0.0`, built from the dependencies it names;
 * the node registers it from its handler table.
 *
 * @param deps - what the handler uses, and nothing else
 * @returns a handler that serves one audit request and returns the signed proof (wire form)
 * @example await serve(host, PROTOCOL.AUDIT, auditHandler({ self, key, store, manifests, replay, rate, now }), options)
 */
export function auditHandler (deps: AuditHandlerDeps): RequestHandler {
  return async (bytes, ctx) => await handleAudit(deps, bytes, ctx)
}

/**
 * Serve one audit request.
 *
 * @throws {BioshardError} a refusal with its code (ERR_DECODE, ERR_TOO_LARGE, ERR_STALE, ERR_NOT_AUTHORISED,
 *   ERR_BAD_SIGNATURE, ERR_ERASED, ERR_NOT_FOUND, ERR_EXPIRED, ERR_REPLAY, ERR_RATE_LIMITED, ERR_NOT_HOLDER, ERR_BAD_REQUEST)
 */
async function handleAudit (deps: AuditHandlerDeps, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const req = decodeAuditRequest(bytes)
  const { templateId, tenant, cert } = req.body
  ctx.note.subject = toHex(templateId)
  ctx.note.action = cert === undefined ? 'audit by=tenant' : 'audit by=auditor'
  const now = deps.now()
  checkEnvelope(req.body, ctx, now)
  // A replay is refused before anything is verified again (the nonce is recorded only once the signature is).
  deps.replay.refuseSeen(cert === undefined ? tenant : cert.body.key, req.body.nonce, now)
  // Authenticate before anything is looked up, as fetch does.
  if (cert !== undefined) {
    checkVerifierCertWith(deps.verified ?? UNCACHED, cert, tenant, now)
    if (!cert.body.purposes.includes(AUDIT_PURPOSE)) refuse('ERR_NOT_AUTHORISED', `the certificate does not cover purpose '${AUDIT_PURPOSE}'`)
  }
  const auditor = cert === undefined ? tenant : cert.body.key
  checkSigned(SIG.AUDIT_REQUEST, req, auditor, 'audit request')
  const slot = slotKey(tenant, templateId)
  if (await deps.store.isErased(slot)) refuse('ERR_ERASED', 'template was erased')
  const manifest = await deps.manifests.get(slot)
  if (manifest === undefined) refuse('ERR_NOT_FOUND', 'no share of this template is held here')
  if (now > manifest.cert.body.na) refuse('ERR_EXPIRED', 'the tenant certificate has expired')
  deps.replay.check(auditor, req.body.nonce, now)
  deps.rate.take(`audit:${toHex(auditor)}${toHex(templateId)}`, AUDIT_RATE, now)
  const entry = entryFor(manifest.body, deps.self)
  if (entry === undefined) refuse('ERR_NOT_HOLDER', 'this node is not a holder of that template')
  const x = entry.x
  ctx.note.action = `${ctx.note.action ?? 'audit'} x=${x} seq=${manifest.body.seq}`
  if (entry.audit === undefined) refuse('ERR_BAD_REQUEST', `the manifest has no audit commitment for share ${x}`)
  const held = await deps.store.getShare(slot)
  if (held === undefined) refuse('ERR_NOT_FOUND', 'share is not held here')
  const request = auditRequestHash(req)
  let proof: Uint8Array
  try {
    if (held.x !== x) refuse('ERR_INTERNAL', 'the share held here does not have the x its manifest lists')
    proof = proveAudit({ templateId, x, commitment: entry.audit, binding: request }, { x, bytes: held.share })
  } finally {
    wipe(held.share)
  }
  return signAuditResponse({ templateId, x, holder: deps.self, proof, request, seq: manifest.body.seq, time: now }, deps.key)
}
