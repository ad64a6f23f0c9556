/**
 * Verification (1:1, claimed identity), as a composition of named steps:
 * the manifest and its trust check, the seal binding (the manifest's
 * canonical bytes and their digest, under which every holder seals its
 * share), the hedged fetch of t sealed shares (client/share-fetch.ts), the
 * enclave match (which opens, checks, combines, decrypts, scores, wipes and
 * signs; shares failing their commitment are named and spares fetched in
 * their place), and the check that the signed decision says what the result
 * reports. This process only ever sees sealed shares.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { toHex } from '../crypto/bytes.ts'
import { NotEnoughSharesError } from '../crypto/shares.ts'
import { encodeSigned } from '../protocol/signed.ts'
import { encodeManifest, type Manifest } from '../protocol/manifest.ts'
import { manifestDigest } from '../protocol/seal-binding.ts'
import type { MatchResult } from '../enclave/enclave.ts'
import { logger } from '../net/log.ts'
import type { ClientContext, Credential, EnclaveHandle } from './context.ts'
import { checkManifestTrust } from './trust.ts'
import { shareFetch, sealedShare, blame, type SealedAnswer } from './share-fetch.ts'
import type { Collected, Fetched, HedgedFetch } from './hedged-fetch.ts'
import { checkDecision } from './decision-check.ts'
import { QuorumError, quorumCode, type BadShare, type Refusal } from './errors.ts'

const log = logger('client:verify')

/** Bytes of the caller nonce each match is asked with (the decision echoes it). */
const MATCH_NONCE_BYTES = 16

export type Probe = { kind: 'embedding', vector: Float32Array } | { kind: 'image', bytes: Uint8Array }

export interface VerifyInput { templateId: Uint8Array, probe: Probe, purpose: string }

export interface VerifyResult {
  accept: boolean
  /** the enclave's quantised score, only when the manifest policy reveals scores */
  score: number | undefined
  /** the manifest policy's threshold, as the enclave applied it */
  threshold: number
  /** The decision signed by the enclave (canonical bytes; see protocol/decision.ts). */
  decision: Uint8Array
  /** The enclave key that signed `decision`, and the verifier-signed attestation that vouches for it. */
  signer: Uint8Array
  attestation: Uint8Array
  /** Holders whose shares the match used. */
  holders: string[]
  /**
   * Holders that returned a share failing its commitment (or unopenable),
   * with x, and whether the holder's signature on that response verifies
   * (the evidence that this holder sent it).
   */
  bad: BadShare[]
  /** Holders that refused or did not answer, with their codes. */
  refused: Refusal[]
  timings: { manifestMs: number, fetchMs: number, matchMs: number, totalMs: number }
}

/** One attempt: the trusted manifest, what was asked, and the clock so far. */
interface Attempt { manifest: Manifest, input: VerifyInput, verifier: Credential, started: number, manifestMs: number }

/** The seal binding: what the enclave matches against, and the digest every holder must have sealed under. */
interface Binding { bytes: Uint8Array, digest: Uint8Array }

/** A match that went through, with the answers it used. */
interface Matched {
  result: MatchResult
  used: Array<Fetched<SealedAnswer>>
  collected: Collected<SealedAnswer>
  nonce: Uint8Array
  fetchMs: number
  matchMs: number
}

function bindManifest (manifest: Manifest): Binding {
  const bytes = encodeManifest(manifest)
  return { bytes, digest: manifestDigest(bytes) }
}

/** The enclave and the fetch one attempt matches with. */
interface MatchParts { handle: EnclaveHandle, session: number, binding: Binding, fetch: HedgedFetch<SealedAnswer> }

/** Fetch t shares and match them; a match naming bad shares hands them back and fetches spares. */
async function fetchAndMatch (a: Attempt, parts: MatchParts): Promise<Matched> {
  const { handle, binding, fetch } = parts
  const { t, templateId } = a.manifest.body
  for (;;) {
    const collected = await fetch.collect(t)
    if (!collected.complete) throw quorumError(templateId, t, collected)
    const fetchMs = performance.now() - a.started - a.manifestMs
    const matchStart = performance.now()
    const nonce = crypto.getRandomValues(new Uint8Array(MATCH_NONCE_BYTES))
    try {
      const result = await handle.match({
        manifest: binding.bytes,
        nonce,
        shares: collected.good.map(sealedShare),
        probe: a.input.probe,
        generation: handle.generation,
        session: parts.session
      })
      return { result, used: collected.good, collected, nonce, fetchMs, matchMs: performance.now() - matchStart }
    } catch (e) {
      if (!(e instanceof NotEnoughSharesError)) throw e
      for (const x of e.bad) fetch.reject(blame(collected.good.find((g) => g.x === x), x))
    }
  }
}

function quorumError (templateId: Uint8Array, t: number, c: Collected<SealedAnswer>): QuorumError {
  const refused = c.refused.map((r) => r.code).join(', ') || 'none'
  const bad = c.bad.length > 0 ? `; bad shares from ${c.bad.map((b) => b.holder).join(', ')}` : ''
  const message = `only ${c.good.length} of ${t} shares could be obtained for ${toHex(templateId).slice(0, 16)}…; refused: ${refused}${bad}`
  return new QuorumError(quorumCode(c.refused), message, { refused: c.refused, bad: c.bad })
}

async function attemptVerify (ctx: ClientContext, a: Attempt): Promise<VerifyResult> {
  const handle = await ctx.enclave()
  log('enclave generation %d ready after %d ms', handle.generation, Math.round(performance.now() - a.started))
  const binding = bindManifest(a.manifest)
  const session = handle.enclave.session()
  const fetch = shareFetch(ctx, { manifest: a.manifest, digest: binding.digest, purpose: a.input.purpose, verifier: a.verifier, handle, session })
  const m = await fetchAndMatch(a, { handle, session, binding, fetch })
  checkDecision(m.result, { signer: handle.enclave.signer, manifest: a.manifest, digest: binding.digest, nonce: m.nonce })
  const badNow = m.result.bad.map((x) => blame(m.used.find((g) => g.x === x), x))
  return {
    accept: m.result.accept,
    score: m.result.score,
    threshold: m.result.threshold,
    decision: m.result.decision,
    signer: handle.enclave.signer,
    attestation: encodeSigned(handle.attestation),
    holders: m.used.filter((s) => !m.result.bad.includes(s.x)).map((s) => s.holder),
    bad: [...m.collected.bad, ...badNow],
    refused: m.collected.refused,
    timings: { manifestMs: a.manifestMs, fetchMs: m.fetchMs, matchMs: m.matchMs, totalMs: performance.now() - a.started }
  }
}

async function requireLiveness (ctx: ClientContext, input: VerifyInput): Promise<void> {
  if (ctx.liveness === undefined) throw new BioshardError('ERR_LIVENESS', 'the policy requires a liveness check and this client has no detector')
  const sample = input.probe.kind === 'embedding' ? input.probe.vector : { image: input.probe.bytes }
  const r = await ctx.liveness(sample, { phase: 'verify', templateId: input.templateId })
  if (!r.live) throw new BioshardError('ERR_LIVENESS', `presentation attack suspected (liveness score ${r.score.toFixed(3)})`)
}

/**
 * Verify a probe against an enrolled template.
 *
 * @throws {QuorumError} fewer than t good shares (ERR_QUORUM_UNAVAILABLE, or ERR_ERASED, ERR_NOT_AUTHORISED, ERR_EXPIRED,
 *   ERR_RATE_LIMITED when the holders' refusals say so), with the refusals and bad shares
 * @throws {BioshardError} ERR_NOT_FOUND (no manifest), ERR_ERASED, ERR_LIVENESS, ERR_NOT_AUTHORISED (no verifier credentials,
 *   another tenant's manifest), ERR_NOT_ADMITTED (a holder not admitted at its site), ERR_ENCLAVE, ERR_BAD_SIGNATURE (a decision
 *   that does not say what the enclave reported)
 * @example const { accept, decision } = await verify(ctx, { templateId, probe: { kind: 'embedding', vector }, purpose: 'login' })
 */
export async function verify (ctx: ClientContext, input: VerifyInput): Promise<VerifyResult> {
  const started = performance.now()
  const verifier = ctx.verifier
  if (verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
  const manifest = await ctx.manifests.get(input.templateId, { signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
  // The client's own tenant is its verifier certificate's tenant (createClient checks they agree).
  checkManifestTrust(manifest, ctx.manifests.tenant, ctx.roster)
  if (manifest.body.state === 'erased') throw new BioshardError('ERR_ERASED', 'template was erased')
  if (manifest.body.policy.liveness) await requireLiveness(ctx, input)
  const attempt: Attempt = { manifest, input, verifier, started, manifestMs: performance.now() - started }
  log('manifest seq %d after %d ms', manifest.body.seq, Math.round(attempt.manifestMs))
  try {
    return await attemptVerify(ctx, attempt)
  } catch (e) {
    // Shares sealed to an enclave that died are useless to its successor: fetch again once.
    if (e instanceof BioshardError && e.code === 'ERR_ENCLAVE') return await attemptVerify(ctx, attempt)
    throw e
  }
}
