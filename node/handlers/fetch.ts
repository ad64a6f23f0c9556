/**
 * Holder side of `/bioshard/fetch/1.0.0`: release a share, sealed to an
 * attested enclave, to an authorised verifier.
 *
 * Checks run cheapest and least revealing first, and the share is decrypted
 * from disk only after all have passed, then sealed with HPKE to the enclave
 * key and wiped. Repeated work is remembered (manifests, verified signatures,
 * the sealer's HPKE contexts) but no check is skipped ({@link fetchHandler}).
 *
 * @module
 */
import { decodeFetchRequest, fetchRequestHash, shareSealInfo, signFetchResponse } from '../../protocol/fetch.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { entryFor } from '../../protocol/manifest.ts'
import { sealBinding } from '../../protocol/seal-binding.ts'
import { refuse } from '../../protocol/errors.ts'
import type { AttestationVerifier } from '../../protocol/attestation.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, equalBytes, wipe } from '../../crypto/bytes.ts'
import type { Sealer } from '../../crypto/seal.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import type { RequestContext, RequestHandler } from '../../net/rpc.ts'
import { VerifiedCache, checkVerifierCertWith, verifyAttestationWith } from '../../net/policy/verified-cache.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { RateLimiter } from '../../net/policy/rate-limiter.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ManifestCache } from './manifest-cache.ts'
import { checkEnvelope } from './context.ts'
import { slotKey } from '../../protocol/ownership.ts'

/** Callers that pass no cache verify every signature every time. */
const UNCACHED = new VerifiedCache(0)

/** What the fetch handler uses. */
export interface FetchHandlerDeps {
  /** This node's peer id: the holder whose share the manifest lists. */
  self: string
  /** Signs responses; the public half is inside `self`. */
  key: SigningKey
  /** Where shares are read from (the manifest comes from `manifests`). */
  store: Pick<ShareStore, 'isErased' | 'getShare'>
  /** The node's decoded manifests. */
  manifests: Pick<ManifestCache, 'get' | 'digest'>
  /** Nonces already served. */
  replay: ReplayCache
  /** Per verifier and template, under the manifest's rate policy. */
  rate: RateLimiter
  /** Attestation verifiers by kind; `process` is built in. */
  attestation: Readonly<Record<string, AttestationVerifier>>
  /** Seals shares to enclaves; one per node, so no two nodes share an HPKE sender context. */
  sealer: Sealer
  /** Remembered certificate and attestation signatures (one per node); without it every signature is verified every time. */
  verified?: VerifiedCache
  now: () => number
}

/**
 * The handler of `/bioshard/fetch/1.0.0`, built from the dependencies it names;
 * the node registers it from its handler table.
 *
 * Checks, in order: sender binding and freshness; a nonce this verifier already
 * used (a replay costs no signature check); the verifier certificate is
 * signed by the tenant it names; the request signature; only then, under that
 * tenant's own slot, the id is not erased and is held here; the tenant
 * certificate and enrolment are in date; the manifest policy allows this
 * verifier, this purpose and this enclave measurement; the nonce is recorded; the
 * rate limit. Only then is the share decrypted from disk, sealed with HPKE to
 * the enclave key (bound to the request hash, the request time and the digest
 * of the manifest stored here: protocol/seal-binding.ts) and wiped.
 *
 * Per-request cost is kept low without skipping a check: the manifest comes
 * from {@link ManifestCache} (so only the share is read from disk), the
 * erased-id check is answered from memory by the store, the sealer keeps one
 * HPKE context per enclave key for up to a minute (crypto/seal.ts), and the
 * signatures of the verifier certificate and enclave attestation, identical on
 * every request of one verifier, are verified once and remembered in a
 * {@link VerifiedCache}; their tenant, verifier and validity-window checks run
 * every time, and the request's own signature is always verified.
 *
 * @param deps - what the handler uses, and nothing else
 * @returns a handler that serves one fetch request and returns the signed response with the sealed share (wire form)
 * @example await serve(host, PROTOCOL.FETCH, fetchHandler({ self, key, store, manifests, replay, rate, attestation, sealer, now }), options)
 */
export function fetchHandler (deps: FetchHandlerDeps): RequestHandler {
  return async (bytes, ctx) => await handleFetch(deps, bytes, ctx)
}

/**
 * Serve one fetch request.
 *
 * @throws {BioshardError} a refusal with its code (ERR_DECODE, ERR_STALE, ERR_ERASED,
 *   ERR_NOT_FOUND, ERR_EXPIRED, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_REPLAY,
 *   ERR_RATE_LIMITED, ERR_NOT_HOLDER, …)
 */
async function handleFetch (deps: FetchHandlerDeps, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const verified = deps.verified ?? UNCACHED
  const manifests = deps.manifests
  const req = decodeFetchRequest(bytes)
  const { templateId, xs, purpose, enclave, cert } = req.body
  ctx.note.subject = toHex(templateId)
  // The x is named once it is known to be this holder's (a request may list 255).
  ctx.note.action = `fetch purpose=${purpose}`
  const now = deps.now()
  checkEnvelope(req.body, ctx, now)
  // Authenticate before anything is looked up: whether an id is held or
  // erased here is told only to a verifier of the tenant that owns it.
  const tenant = cert.body.tenant
  const slot = slotKey(tenant, templateId)
  // A replay is refused before anything is verified again (the nonce is recorded only once the signature is).
  deps.replay.refuseSeen(cert.body.key, req.body.nonce, now)
  checkVerifierCertWith(verified, cert, tenant, now)
  const verifier = cert.body.key
  // Never remembered: the request is new bytes every time, and its signature
  // is what binds this nonce, time and sender to the certified verifier.
  checkSigned(SIG.FETCH_REQUEST, req, verifier, 'fetch request')
  if (await deps.store.isErased(slot)) refuse('ERR_ERASED', 'template was erased')
  const manifest = await manifests.get(slot)
  if (manifest === undefined) refuse('ERR_NOT_FOUND', 'no share of this template is held here')
  const { policy } = manifest.body
  if (now > manifest.cert.body.na) refuse('ERR_EXPIRED', 'the tenant certificate has expired')
  if (policy.expires !== 0 && now > policy.expires) refuse('ERR_EXPIRED', 'enrolment has expired')
  if (policy.verifiers.length > 0 && !policy.verifiers.some((v) => equalBytes(v, verifier))) {
    refuse('ERR_NOT_AUTHORISED', 'verifier is not authorised by the manifest policy')
  }
  if (!policy.purposes.includes(purpose)) refuse('ERR_NOT_AUTHORISED', `purpose '${purpose}' is not allowed by the manifest policy`)
  if (!cert.body.purposes.includes(purpose)) refuse('ERR_NOT_AUTHORISED', `verifier certificate does not cover purpose '${purpose}'`)
  const attester = deps.attestation[enclave.body.kind]
  if (attester === undefined) refuse('ERR_NOT_AUTHORISED', `attestation kind '${enclave.body.kind}' is not accepted`)
  const attested = verifyAttestationWith(verified, attester, enclave, verifier)
  if (!policy.measurements.some((m) => equalBytes(m, attested.measurement))) {
    refuse('ERR_NOT_AUTHORISED', 'enclave measurement is not allowed by the manifest policy')
  }
  deps.replay.check(verifier, req.body.nonce, now)
  deps.rate.take(toHex(verifier) + toHex(templateId), policy, now)

  const entry = entryFor(manifest.body, deps.self)
  if (entry === undefined || !xs.includes(entry.x)) refuse('ERR_NOT_HOLDER', `this node does not hold share ${xs.join(' or ')}`)
  // A request may list every holder's share; this holder answers for its own.
  const x = entry.x
  ctx.note.action = `fetch x=${x} purpose=${purpose}`
  // The manifest is already in hand: read only the share.
  const held = await deps.store.getShare(slot)
  if (held === undefined) refuse('ERR_NOT_FOUND', 'share is not held here')
  if (held.x !== x) {
    wipe(held.share)
    refuse('ERR_INTERNAL', 'the share held here does not have the x its manifest lists')
  }
  const requestHash = fetchRequestHash(req)
  const digest = manifests.digest(manifest)
  let sealed: Uint8Array
  try {
    sealed = deps.sealer.seal(attested.key, held.share, shareSealInfo(templateId, x), sealBinding(requestHash, req.body.time, digest))
  } finally {
    wipe(held.share)
  }
  return signFetchResponse({ templateId, x, holder: deps.self, sealed, request: requestHash, manifest: digest, time: now }, deps.key)
}
