/**
 * One 1:1 match as the enclave child runs it. This is the only module that
 * brings a template together in whole, so it is imported only by the child
 * entry (a test walks the host's import graph to prove it); the steps, and
 * why the host cannot steer them, are on {@link runMatch}.
 *
 * @module
 */
import { equalBytes, wipe } from '../crypto/bytes.ts'
import { BioshardError, DecodeError } from '../errors.ts'
import { decryptTemplate } from '../crypto/envelope.ts'
import type { Opener, SealKeyPair } from '../crypto/seal.ts'
import { NotEnoughSharesError, reconstruct, type Share } from '../crypto/shares.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { quantiseScore, signDecision } from '../protocol/decision.ts'
import { decodeManifest, policyThreshold, SCORE_QUANTUM, type ManifestBody } from '../protocol/manifest.ts'
import { manifestDigest, sealBinding, shareSealInfo } from '../protocol/seal-binding.ts'
import { cosine } from '../matcher/score.ts'
import { decodeTemplate, dequantise, type Template } from '../matcher/template.ts'
import type { ConsumedRequests } from './consumed-requests.ts'
import type { EarlyShare, MatchRequest, MatchResult, OpenTarget } from './messages.ts'
import type { OpenedShare } from './opened-shares.ts'

/** Embeds a photo inside the enclave (the face pipeline), when enabled. */
export interface ImageEmbedder {
  /** id of the model, compared with the template's */
  readonly modelId: string
  /** the L2-normalised embedding of the most confident face (the caller wipes it) */
  embed: (image: Uint8Array) => Promise<Float32Array>
}

/** What the enclave holds for the life of the child. */
export interface EnclaveKeys {
  /** X25519 key shares are sealed to */
  seal: SealKeyPair
  /** the one opener of `seal` (remembers holders' contexts, bounded; the child's only copy of their secrets) */
  opener: Opener
  /** Ed25519 key that signs decisions */
  signer: SigningKey
  /** the measurement the host computed for this child */
  measurement: Uint8Array
}

/** `wipe` for float vectors (probe, dequantised template). */
function zero (...arrays: Array<Float32Array | undefined>): void {
  for (const a of arrays) a?.fill(0)
}

async function probeVector (req: MatchRequest, m: ManifestBody, embedder: ImageEmbedder | undefined): Promise<Float32Array> {
  const p = req.probe
  if (p.kind === 'embedding') return p.vector
  try {
    if (embedder === undefined) throw new BioshardError('ERR_BAD_REQUEST', 'image probes need an enclave started with faceModel')
    if (m.modality !== 'face') throw new BioshardError('ERR_BAD_REQUEST', `an image probe cannot match a ${m.modality} template`)
    if (m.model !== embedder.modelId) {
      throw new BioshardError('ERR_BAD_REQUEST', `template model ${m.model} differs from the enclave's face model ${embedder.modelId}`)
    }
    return await embedder.embed(p.bytes)
  } finally {
    wipe(p.bytes)
  }
}

/** What a match may use besides the child's keys. */
export interface MatchContext {
  /** the requests already matched, shared by every match of the child */
  consumed: ConsumedRequests
  /** the face pipeline, when image probes are enabled */
  embedder?: ImageEmbedder
  /** clock for freshness and the decision time @default Date.now */
  now?: () => number
  /** shares of this request opened ahead, by x (consumed: every one is wiped before return) */
  opened?: Map<number, OpenedShare>
}

/** A manifest as the match uses it: decoded, with its digest. */
interface MatchManifest { body: ManifestBody, digest: Uint8Array }

/**
 * Decode the request's manifest (size-limited, canonical, every field checked).
 *
 * Its tenant signature is not checked here, and need not be: holders checked
 * it when they stored their shares, and each sealed its share under the
 * digest of the manifest it stores. A manifest the host forged or altered (a
 * lower threshold, other commitments, another tenant) has another digest, so
 * no share opens under it and the match fails with ERR_NOT_ENOUGH_SHARES
 * before anything is reconstructed.
 */
function readManifest (bytes: Uint8Array, now: number): MatchManifest {
  const body = decodeManifest(bytes).body
  if (body.state !== 'active') throw new BioshardError('ERR_ERASED', 'the manifest marks the template erased')
  if (body.policy.expires !== 0 && now > body.policy.expires) throw new BioshardError('ERR_EXPIRED', 'enrolment has expired')
  return { body, digest: manifestDigest(bytes) }
}

/**
 * Open share `s` for `target`, or take the share opened ahead from exactly
 * the same template id, x, sealed bytes and binding (anything else is opened
 * anew, so a stale or mismatched hint can only cost time).
 *
 * @throws {DecryptError} when it does not open
 */
function openShare (keys: EnclaveKeys, target: OpenTarget, s: EarlyShare, ahead: Map<number, OpenedShare> | undefined): Uint8Array {
  const aad = sealBinding(s.request, s.time, target.manifest)
  const early = ahead?.get(s.x)
  if (early !== undefined && equalBytes(early.templateId, target.templateId) && equalBytes(early.sealed, s.sealed) && equalBytes(early.aad, aad)) {
    ahead!.delete(s.x)
    return early.bytes
  }
  return keys.opener.open(s.sealed, shareSealInfo(target.templateId, s.x), aad)
}

/**
 * Open a share sent ahead of its match (an `open` hint), unless its request
 * is stale or already used.
 *
 * @param keys - the child's keys
 * @param target - template id and manifest digest the share was sealed under
 * @param share - the sealed share and its request
 * @param context - the used requests and the clock
 * @returns the opened share, or undefined when it is dropped (the match will open, refuse or name it bad)
 * @example const share = openAhead(keys, msg, msg.share, { consumed })
 */
export function openAhead (keys: EnclaveKeys, target: OpenTarget, share: EarlyShare, context: Pick<MatchContext, 'consumed' | 'now'>): OpenedShare | undefined {
  const { consumed, now = Date.now } = context
  try {
    consumed.checkFresh(share.time, now())
    if (consumed.has(share.request)) return undefined
    const aad = sealBinding(share.request, share.time, target.manifest)
    const bytes = keys.opener.open(share.sealed, shareSealInfo(target.templateId, share.x), aad)
    return { templateId: target.templateId, x: share.x, sealed: share.sealed, aad, request: share.request, bytes }
  } catch {
    return undefined
  }
}

/** Open every share of `req` (or take it from `use.ahead`); those that fail or are not in the manifest are named in `use.bad`. */
function openAll (keys: EnclaveKeys, req: MatchRequest, m: MatchManifest, use: { ahead: Map<number, OpenedShare> | undefined, bad: number[] }): Share[] {
  const { ahead, bad } = use
  const opened: Share[] = []
  const target = { templateId: m.body.templateId, manifest: m.digest }
  const listed = new Set(m.body.shares.map((e) => e.x))
  for (const s of req.shares) {
    if (!listed.has(s.x)) { bad.push(s.x); continue }
    try {
      opened.push({ x: s.x, bytes: openShare(keys, target, s, ahead) })
    } catch {
      // Wrong key, wrong binding or tampering all look the same: a bad share from that holder.
      bad.push(s.x)
    }
  }
  return opened
}

/**
 * Run one match:
 *
 *     decode the manifest the host sends: template id, tenant, modality,
 *       model, t, commitments, threshold and score policy all come from it
 *     → claim every share's fetch request (fresh, never used: consumed-requests.ts)
 *     → probe (embed a photo here, if given one)
 *     → open each sealed share (HPKE, info binds templateId and x, AAD the seal
 *       binding of request hash, request time and manifest digest),
 *       or take the one opened ahead from the same bytes (opened-shares.ts)
 *     → check commitments and combine t good shares; the requests are now consumed
 *     → decrypt the envelope (AEAD binds templateId, modality, model)
 *     → decode the template, dequantise → cosine against the probe
 *     → wipe every buffer that held a share, the envelope, the template or the probe
 *     → sign the decision (bound to tenant, manifest digest and seq; the
 *       score only if the policy reveals it, quantised)
 *
 * The photo is embedded first, so that the template exists in whole only
 * from combine to score. Share failures (cannot be opened, or fail the
 * commitment) are named in `bad` and, when fewer than `t` good ones remain,
 * in the ERR_NOT_ENOUGH_SHARES error.
 *
 * @param keys - the child's keys and measurement
 * @param req - a checked request (its buffers are consumed: wiped before return)
 * @param context - the used requests, the face pipeline, clock, and shares opened ahead
 * @returns the signed decision and its summary (the score only when the manifest policy reveals it)
 * @throws {BioshardError} ERR_STALE when a share's request time is outside the freshness window;
 *   ERR_REPLAY when a share's request was already matched; ERR_BUSY when the enclave cannot remember more requests
 * @throws {NotEnoughSharesError} ERR_NOT_ENOUGH_SHARES with `bad` when fewer than `t` shares open and match their commitments (nothing is consumed)
 * @throws {DecryptError} ERR_DECRYPT when `t` committed shares combine into an envelope that does not authenticate
 * @throws {DecodeError} ERR_DECODE when the manifest or the template is malformed, or the template disagrees with its envelope's modality or model
 * @throws {BioshardError} ERR_BAD_REQUEST when the probe's dimension or kind does not fit the template or this enclave;
 *   ERR_ERASED, ERR_EXPIRED from the manifest; ERR_NO_FACE, ERR_LOW_QUALITY, ERR_DECODE from the face pipeline
 * @example const result = await runMatch(keys, checkMatchRequest(msg.req), { consumed, embedder, opened: kept.take(session) })
 */
export async function runMatch (keys: EnclaveKeys, req: MatchRequest, context: MatchContext): Promise<MatchResult> {
  const { consumed, embedder, now = Date.now, opened: ahead } = context
  const bad: number[] = []
  let opened: Share[] = []
  let probe: Float32Array | undefined
  let secret: Uint8Array | undefined
  let plaintext: Uint8Array | undefined
  let template: Template | undefined
  let vector: Float32Array | undefined
  let claim: { consume: () => void, release: () => void } | undefined
  try {
    const m = readManifest(req.manifest, now())
    const { templateId, modality, model, t, policy } = m.body
    // Before anything can wait: a request is this match's alone from here on.
    claim = consumed.claim(req.shares, now())
    probe = await probeVector(req, m.body, embedder)
    opened = openAll(keys, req, m, { ahead, bad })
    const commitments = new Map(m.body.shares.map((e) => [e.x, e.commitment]))
    let used: { secret: Uint8Array, bad: number[] }
    try {
      used = await reconstruct(templateId, opened, commitments, t)
    } catch (e) {
      if (e instanceof NotEnoughSharesError) throw new NotEnoughSharesError(e.good, e.needed, [...bad, ...e.bad].sort((a, b) => a - b))
      throw e
    }
    // The template can now be rebuilt: these requests have had their one match.
    claim.consume()
    secret = used.secret
    bad.push(...used.bad)
    wipe(...opened.map((s) => s.bytes))
    plaintext = decryptTemplate(secret, { templateId, modality, model })
    wipe(secret)
    template = decodeTemplate(plaintext)
    wipe(plaintext)
    if (template.modality !== modality || template.model !== model) {
      throw new DecodeError(`template is ${template.modality}/${template.model}, its envelope says ${modality}/${model}`)
    }
    if (template.dim !== probe.length) throw new BioshardError('ERR_BAD_REQUEST', `probe has ${probe.length} dimensions, the template ${template.dim}`)
    vector = dequantise(template)
    wipe(template.data)
    const exact = cosine(vector, probe)
    zero(vector, probe)
    const threshold = policyThreshold(policy)
    const accept = exact >= threshold
    // The exact score never leaves: revealed only if the tenant's policy says so, and then quantised.
    const score = policy.revealScore === true ? quantiseScore(exact, threshold, SCORE_QUANTUM) : undefined
    const badSorted = [...new Set(bad)].sort((a, b) => a - b)
    const decision = signDecision({
      templateId,
      tenant: m.body.tenant,
      manifest: m.digest,
      seq: m.body.seq,
      ...(score !== undefined ? { score } : {}),
      threshold,
      accept,
      nonce: req.nonce,
      time: now(),
      bad: badSorted,
      measurement: keys.measurement
    }, keys.signer)
    // An exact-size copy: what crosses the channel is this view's bytes and nothing around them.
    return { decision: decision.slice(), accept, ...(score !== undefined ? { score } : {}), threshold, bad: badSorted }
  } finally {
    // Failed before reconstruction: the requests may be matched again (with spare shares).
    claim?.release()
    // Every path — success, a bad share set, a failed decryption — leaves nothing behind.
    wipe(...opened.map((s) => s.bytes), ...[...(ahead?.values() ?? [])].map((s) => s.bytes), secret, plaintext, template?.data)
    zero(vector, probe, req.probe.kind === 'embedding' ? req.probe.vector : undefined)
  }
}
