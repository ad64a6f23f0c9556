/**
 * The fetch step of a verification: one signed request for every share of the
 * template, sent by a {@link HedgedFetch} to the manifest's holders, connected
 * ones first, each answer sent ahead to the enclave while the rest are on
 * their way. What makes a share usable is the enclave's check against the
 * tenant-signed commitment and the seal bound to this request, so holders'
 * response signatures are checked only for shares the enclave rejects
 * ({@link blame}), as evidence for others that this holder sent that share.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import type { Manifest, ShareEntry } from '../protocol/manifest.ts'
import type { FetchResponse } from '../protocol/fetch.ts'
import { prepareFetch, sendFetch, checkFetchResponse, type PreparedFetch } from './holder-requests.ts'
import { HedgedFetch, type Candidate, type Fetched } from './hedged-fetch.ts'
import { REQUEST_REFRESH_MS, fetchDeadlineMs } from './constants.ts'
import type { BadShare } from './errors.ts'
import type { ClientContext, Credential, EnclaveHandle } from './context.ts'

/** A sealed share as its holder answered it: what the enclave opens, and the response kept as evidence. */
export interface SealedAnswer {
  sealed: Uint8Array
  /** Hash of the fetch request it answers, and when that request was signed. */
  request: Uint8Array
  time: number
  response: FetchResponse
}

/** What the fetch step of one verification attempt needs. */
export interface ShareFetchInit {
  manifest: Manifest
  /** Digest of the manifest's canonical bytes: every share must be sealed under it. */
  digest: Uint8Array
  purpose: string
  verifier: Credential
  handle: EnclaveHandle
  /** The enclave session answers are sent ahead under (Enclave.session()). */
  session: number
}

/**
 * A hedged fetch of the manifest's shares, ready to collect. The request is
 * signed and encoded once (re-signed when it gets old). Each answer must be
 * sealed under the digest of the manifest the enclave will match (a holder
 * that stores another version is counted as refusing, ERR_CONFLICT).
 *
 * @example const fetch = shareFetch(ctx, { manifest, digest, purpose, verifier, handle, session }); await fetch.collect(t)
 */
export function shareFetch (ctx: ClientContext, init: ShareFetchInit): HedgedFetch<SealedAnswer> {
  const { templateId } = init.manifest.body
  return new HedgedFetch<SealedAnswer>({
    holders: orderHolders(ctx, init.manifest.body.shares),
    request: holderRequest(ctx, init),
    hedgeMs: ctx.timeouts.hedgeMs,
    deadlineMs: fetchDeadlineMs(ctx.timeouts),
    // Opened by the enclave while the others are on their way; the answer completing the quorum goes with the match.
    onAnswer: (a, missing) => {
      if (missing > 0) init.handle.enclave.preopen(init.session, { templateId, manifest: init.digest }, sealedShare(a), init.handle.generation)
    }
  })
}

/** The share as the enclave takes it. */
export function sealedShare (a: Fetched<SealedAnswer>): { x: number, sealed: Uint8Array, request: Uint8Array, time: number } {
  return { x: a.x, sealed: a.value.sealed, request: a.value.request, time: a.value.time }
}

/** The request function: the prepared request (signed again when old) to one holder, its answer checked against the manifest digest. */
function holderRequest (ctx: ClientContext, init: ShareFetchInit): (c: Candidate, signal: AbortSignal) => Promise<SealedAnswer> {
  const order = {
    templateId: init.manifest.body.templateId,
    xs: init.manifest.body.shares.map((s) => s.x),
    purpose: init.purpose,
    creds: { verifier: init.verifier.key, cert: init.verifier.cert, attestation: init.handle.attestation }
  }
  let prepared: PreparedFetch = prepareFetch(ctx.host, order)
  return async (c, signal) => {
    if (Date.now() - prepared.time > REQUEST_REFRESH_MS) prepared = prepareFetch(ctx.host, order)
    const sent = prepared
    const res = await sendFetch(ctx.host, c.holder, { x: c.x, prepared: sent }, { timeoutMs: ctx.timeouts.requestMs, signal, verifySignature: false })
    if (!equalBytes(res.body.manifest, init.digest)) {
      throw new BioshardError('ERR_CONFLICT', 'the holder sealed its share under another version of the manifest')
    }
    return { sealed: res.body.sealed, request: res.body.request, time: sent.time, response: res }
  }
}

/** Order holders: already-connected first (no dial), then the rest; random within each group to spread load. */
export function orderHolders (ctx: ClientContext, shares: readonly ShareEntry[]): Candidate[] {
  const connected = new Set(ctx.host.getConnections().map((c) => c.remotePeer.toString()))
  const shuffled = [...shares].sort(() => Math.random() - 0.5)
  const ordered = [...shuffled.filter((s) => connected.has(s.holder)), ...shuffled.filter((s) => !connected.has(s.holder))]
  return ordered.map((s) => ({ holder: s.holder, x: s.x }))
}

/**
 * Name the holder of a share the enclave rejected, with whether its signed
 * response proves it sent that share.
 *
 * @param answer - the answer the share came in, if it is known
 * @param x - the share's x
 */
export function blame (answer: Fetched<SealedAnswer> | undefined, x: number): BadShare {
  if (answer === undefined) return { x, holder: '', signed: false }
  let signed = true
  try { checkFetchResponse(answer.value.response, answer.holder) } catch { signed = false }
  return { x, holder: answer.holder, signed }
}
