/**
 * Verification (1:1, claimed identity): manifest → t sealed shares fetched
 * in parallel, hedged to spare holders after a short delay or on error →
 * the enclave opens, checks, combines, decrypts, scores, wipes and signs.
 * This process only ever sees sealed shares; a share that fails its
 * commitment is named with its holder, and spares replace it. The enclave
 * gets the manifest's canonical bytes and takes the threshold and everything
 * else from them; each share is sealed under the digest of the manifest its
 * holder stores, so a holder that answers for another manifest (its response
 * names the digest) is counted as refusing (ERR_CONFLICT) and a spare asked.
 *
 * Holders' response signatures are checked only for shares the enclave
 * rejects. What makes a share usable is the enclave's check against the
 * tenant-signed commitment (and the HPKE seal bound to this request); the
 * response itself arrives over the holder's authenticated connection. The
 * signature is evidence for others that this holder sent that share, which
 * matters when the holder is named as bad: then it is verified, and the
 * result says whether the evidence holds. This keeps three signature
 * verifications off every verification's critical path.
 *
 * @module
 */
import { BioshardError, type ErrorCode } from '../errors.ts'
import { equalBytes, toHex } from '../crypto/bytes.ts'
import { encodeSigned } from '../protocol/signed.ts'
import { encodeManifest, type Manifest, type ShareEntry } from '../protocol/manifest.ts'
import { manifestDigest } from '../protocol/seal-binding.ts'
import { prepareFetch, sendFetch, checkFetchResponse, type PreparedFetch } from './holder-requests.ts'
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import type { FetchResponse } from '../protocol/fetch.ts'
import type { ClientContext } from './context.ts'
import { checkManifestTrust } from './trust.ts'
import { logger } from '../net/log.ts'

import type { MatchResult } from '../enclave/enclave.ts'

const log = logger('client:verify')

/** A prepared fetch request older than this is signed again before it goes to a spare holder. */
const REQUEST_REFRESH_MS = FRESHNESS_WINDOW_MS / 3

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
  bad: Array<{ x: number, holder: string, signed: boolean }>
  /** Holders that refused or did not answer, with their codes. */
  refused: Array<{ holder: string, code: string }>
  timings: { manifestMs: number, fetchMs: number, matchMs: number, totalMs: number }
}

interface Fetched { x: number, sealed: Uint8Array, request: Uint8Array, time: number, holder: string, response: FetchResponse }

/** Name a holder whose share the enclave rejected, with whether its signed response proves it. */
function blame (f: Fetched | undefined, x: number): { x: number, holder: string, signed: boolean } {
  if (f === undefined) return { x, holder: '', signed: false }
  let signed = true
  try { checkFetchResponse(f.response, f.holder) } catch { signed = false }
  return { x, holder: f.holder, signed }
}

/** Order holders: already-connected first (no dial), then the rest; random within each group to spread load. */
function orderHolders (ctx: ClientContext, shares: ShareEntry[]): ShareEntry[] {
  const connected = new Set(ctx.host.getConnections().map((c) => c.remotePeer.toString()))
  const shuffled = [...shares].sort(() => Math.random() - 0.5)
  return [...shuffled.filter((s) => connected.has(s.holder)), ...shuffled.filter((s) => !connected.has(s.holder))]
}

function pickCode (refused: Array<{ code: string }>): ErrorCode {
  for (const c of ['ERR_ERASED', 'ERR_NOT_AUTHORISED', 'ERR_EXPIRED', 'ERR_RATE_LIMITED'] as const) {
    if (refused.length > 0 && refused.some((r) => r.code === c) && (c === 'ERR_ERASED' || refused.every((r) => r.code === c))) return c
  }
  return 'ERR_QUORUM_UNAVAILABLE'
}

async function attemptVerify (ctx: ClientContext, manifest: Manifest, input: VerifyInput, started: number, manifestMs: number): Promise<VerifyResult> {
  const verifier = ctx.verifier
  if (verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
  const handle = await ctx.enclave()
  log('enclave generation %d ready after %d ms', handle.generation, Math.round(performance.now() - started))
  const { templateId, t } = manifest.body
  // What the enclave matches against, and what every holder must have sealed under.
  const manifestBytes = encodeManifest(manifest)
  const digest = manifestDigest(manifestBytes)
  const queue = orderHolders(ctx, manifest.body.shares)
  const good = new Map<number, Fetched>()
  const bad: VerifyResult['bad'] = []
  const refused: VerifyResult['refused'] = []
  let inFlight = 0
  let wake: () => void = () => {}
  const changed = (): void => { const w = wake; wake = () => {}; w() }

  // One signed request for every share of the template: the first t holders
  // and any spares get the same bytes (one signature, one encoding), each
  // answering for its own share. Re-signed if an attempt outlasts a third of
  // the holders' freshness window.
  const creds = { verifier: verifier.key, cert: verifier.cert, attestation: handle.attestation }
  const prepare = (): PreparedFetch => prepareFetch(ctx.host, templateId, manifest.body.shares.map((s) => s.x), input.purpose, creds)
  let prepared = prepare()
  const session = handle.enclave.session()

  const launch = (): boolean => {
    const entry = queue.shift()
    if (entry === undefined) return false
    inFlight++
    if (Date.now() - prepared.time > REQUEST_REFRESH_MS) prepared = prepare()
    const sent = prepared
    sendFetch(ctx.host, entry.holder, entry.x, sent, { timeoutMs: ctx.timeouts.requestMs, verifySignature: false })
      .then((res) => {
        if (!equalBytes(res.body.manifest, digest)) throw new BioshardError('ERR_CONFLICT', 'the holder sealed its share under another version of the manifest')
        const share = { x: entry.x, sealed: res.body.sealed, request: res.body.request, time: sent.time }
        good.set(entry.x, { ...share, holder: entry.holder, response: res })
        // Opened by the enclave while the others are on their way; the share completing the quorum goes with the match.
        if (good.size < t) handle.enclave.preopen(session, { templateId, manifest: digest }, share, handle.generation)
      })
      .catch((e: unknown) => {
        const code = (e as { code?: string }).code ?? 'ERR_INTERNAL'
        log('holder %s refused share %d: %s', entry.holder, entry.x, code)
        refused.push({ holder: entry.holder, code })
        launch()
      })
      .finally(() => { inFlight--; changed() })
    return true
  }

  for (let i = 0; i < t; i++) launch()
  const hedge = setTimeout(() => { if (good.size < t) { launch(); changed() } }, ctx.timeouts.hedgeMs)
  let fetchMs = 0
  try {
    for (;;) {
      if (good.size >= t) {
        fetchMs = performance.now() - started - manifestMs
        const matchStart = performance.now()
        try {
          const shares = [...good.values()]
          const result: MatchResult = await handle.match({
            manifest: manifestBytes,
            nonce: crypto.getRandomValues(new Uint8Array(16)),
            shares: shares.map((s) => ({ x: s.x, sealed: s.sealed, request: s.request, time: s.time })),
            probe: input.probe,
            generation: handle.generation,
            session
          })
          for (const x of result.bad) bad.push(blame(good.get(x), x))
          const matchMs = performance.now() - matchStart
          return {
            accept: result.accept,
            score: result.score,
            threshold: result.threshold,
            decision: result.decision,
            signer: handle.enclave.signer,
            attestation: encodeSigned(handle.attestation),
            holders: shares.filter((s) => !result.bad.includes(s.x)).map((s) => s.holder),
            bad,
            refused,
            timings: { manifestMs, fetchMs, matchMs, totalMs: performance.now() - started }
          }
        } catch (e) {
          const badXs = (e as { bad?: number[] }).bad
          if (!(e instanceof BioshardError) || e.code !== 'ERR_NOT_ENOUGH_SHARES' || badXs === undefined) throw e
          for (const x of badXs) {
            bad.push(blame(good.get(x), x))
            good.delete(x)
          }
          for (let i = good.size + inFlight; i < t; i++) launch()
        }
      }
      if (good.size < t && inFlight === 0 && queue.length === 0) {
        const code = pickCode(refused)
        throw Object.assign(new BioshardError(code, `only ${good.size} of ${t} shares could be obtained for ${toHex(templateId).slice(0, 16)}…; refused: ${refused.map((r) => r.code).join(', ') || 'none'}${bad.length > 0 ? `; bad shares from ${bad.map((b) => b.holder).join(', ')}` : ''}`), { refused, bad })
      }
      if (good.size < t) await new Promise<void>((resolve) => { wake = resolve })
    }
  } finally {
    clearTimeout(hedge)
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
 * @throws {BioshardError} ERR_NOT_FOUND (no manifest), ERR_ERASED, ERR_LIVENESS, ERR_NOT_AUTHORISED (no verifier credentials,
 *   another tenant's manifest), ERR_NOT_ADMITTED (a holder not admitted at its site), ERR_QUORUM_UNAVAILABLE, ERR_ENCLAVE
 */
export async function verify (ctx: ClientContext, input: VerifyInput): Promise<VerifyResult> {
  const started = performance.now()
  if (ctx.verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
  const manifest = await ctx.manifests.get(input.templateId, { signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
  // The client's own tenant is its verifier certificate's tenant (createClient checks they agree).
  checkManifestTrust(manifest, ctx.manifests.tenant, ctx.roster)
  if (manifest.body.state === 'erased') throw new BioshardError('ERR_ERASED', 'template was erased')
  if (manifest.body.policy.liveness) await requireLiveness(ctx, input)
  const manifestMs = performance.now() - started
  log('manifest seq %d after %d ms', manifest.body.seq, Math.round(manifestMs))
  try {
    return await attemptVerify(ctx, manifest, input, started, manifestMs)
  } catch (e) {
    // Shares sealed to an enclave that died are useless to its successor: fetch again once.
    if (e instanceof BioshardError && e.code === 'ERR_ENCLAVE') return await attemptVerify(ctx, manifest, input, started, manifestMs)
    throw e
  }
}
