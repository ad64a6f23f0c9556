/**
 * One 1:1 match, as the enclave child runs it — the only module that brings
 * a template together in whole:
 *
 *     probe (embed a photo here, if given one)
 *     → open each sealed share (HPKE, info binds templateId and x, aad the fetch request hash),
 *       or take the one opened ahead from the same bytes (opened-shares.ts)
 *     → check commitments and combine t good shares
 *     → decrypt the envelope (AEAD binds templateId, modality, model)
 *     → decode the template, dequantise → cosine against the probe
 *     → wipe every buffer that held a share, the envelope, the template or the probe
 *     → sign the decision
 *
 * The photo is embedded first, so that the template exists in whole only for
 * the sub-millisecond of combine → score. Share failures (cannot be opened,
 * or fail the commitment) are named in `bad` and, when fewer than `t` good
 * ones remain, in the ERR_NOT_ENOUGH_SHARES error.
 *
 * Imported only by the child entry: host-side modules must never reach it
 * (a test walks the import graph to prove that).
 *
 * @module
 */
import { concat, equalBytes, utf8, wipe } from '../../crypto/bytes.ts'
import { BioshardError, DecodeError } from '../../crypto/errors.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { open, type SealKeyPair } from '../../crypto/seal.ts'
import { NotEnoughSharesError, reconstruct, type Share } from '../../crypto/shares.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import { AEAD } from '../../crypto/tags.ts'
import { signDecision } from '../../protocol/decision.ts'
import { cosine } from '../score.ts'
import { decodeTemplate, dequantise, type Template } from '../template.ts'
import type { EarlyShare, MatchRequest, MatchResult } from './messages.ts'
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
  /** Ed25519 key that signs decisions */
  signer: SigningKey
  /** the measurement the host computed for this child */
  measurement: Uint8Array
}

const SEAL_INFO_PREFIX = utf8(AEAD.HPKE_SHARE_SEAL)

/** `wipe` for float vectors (probe, dequantised template). */
function zero (...arrays: Array<Float32Array | undefined>): void {
  for (const a of arrays) a?.fill(0)
}

/**
 * HPKE `info` of share `x` of `templateId` — the same bytes as
 * `protocol/fetch.ts` `shareSealInfo` (a test pins the two together),
 * restated here so the enclave does not load the fetch protocol and its
 * libp2p dependencies.
 */
function sealInfo (templateId: Uint8Array, x: number): Uint8Array {
  return concat(SEAL_INFO_PREFIX, templateId, Uint8Array.of(x))
}

async function probeVector (req: MatchRequest, embedder: ImageEmbedder | undefined): Promise<Float32Array> {
  const p = req.probe
  if (p.kind === 'embedding') return p.vector
  try {
    if (embedder === undefined) throw new BioshardError('ERR_BAD_REQUEST', 'image probes need an enclave started with faceModel')
    if (req.modality !== 'face') throw new BioshardError('ERR_BAD_REQUEST', `an image probe cannot match a ${req.modality} template`)
    if (req.model !== embedder.modelId) throw new BioshardError('ERR_BAD_REQUEST', `template model ${req.model} differs from the enclave's face model ${embedder.modelId}`)
    return await embedder.embed(p.bytes)
  } finally {
    wipe(p.bytes)
  }
}

/** What a match may use besides the child's keys. */
export interface MatchContext {
  /** the face pipeline, when image probes are enabled */
  embedder?: ImageEmbedder
  /** clock for the decision time @default Date.now */
  now?: () => number
  /** shares of this request opened ahead, by x (consumed: every one is wiped before return) */
  opened?: Map<number, OpenedShare>
}

/**
 * Open share `s` of `req`, or take the share opened ahead from exactly the
 * same template id, x, sealed bytes and AAD (anything else is opened anew,
 * so a stale or mismatched hint can only cost time).
 *
 * @throws {DecryptError} when it does not open
 */
function openShare (keys: EnclaveKeys, req: MatchRequest, s: MatchRequest['shares'][number], ahead: Map<number, OpenedShare> | undefined): Uint8Array {
  const early = ahead?.get(s.x)
  if (early !== undefined && equalBytes(early.templateId, req.templateId) && equalBytes(early.sealed, s.sealed) && equalBytes(early.aad, s.aad)) {
    ahead!.delete(s.x)
    return early.bytes
  }
  return openSealed(keys, req.templateId, s)
}

/** HPKE-open share `s` of `templateId` with the enclave key (info binds the template and x, AAD the request). */
function openSealed (keys: EnclaveKeys, templateId: Uint8Array, s: EarlyShare): Uint8Array {
  return open(keys.seal, s.sealed, sealInfo(templateId, s.x), s.aad)
}

/**
 * Open a share sent ahead of its match (an `open` hint).
 *
 * @returns the opened share, or undefined when it does not open (the match will name it bad)
 * @example const share = openAhead(keys, msg.templateId, msg.share)
 */
export function openAhead (keys: EnclaveKeys, templateId: Uint8Array, share: EarlyShare): OpenedShare | undefined {
  try {
    return { templateId, x: share.x, sealed: share.sealed, aad: share.aad, bytes: openSealed(keys, templateId, share) }
  } catch {
    return undefined
  }
}

/**
 * Run one match.
 *
 * @param keys - the child's keys and measurement
 * @param req - a checked request (its buffers are consumed: wiped before return)
 * @param context - the face pipeline, clock, and shares opened ahead
 * @returns the signed decision and its summary
 * @throws {NotEnoughSharesError} ERR_NOT_ENOUGH_SHARES with `bad` when fewer than `t` shares open and match their commitments
 * @throws {DecryptError} ERR_DECRYPT when `t` committed shares combine into an envelope that does not authenticate
 * @throws {DecodeError} ERR_DECODE when the template is malformed or disagrees with its envelope's modality or model
 * @throws {BioshardError} ERR_BAD_REQUEST when the probe's dimension or kind does not fit the template or this enclave; ERR_NO_FACE, ERR_LOW_QUALITY, ERR_DECODE from the face pipeline
 * @example const result = await runMatch(keys, checkMatchRequest(msg.req), { embedder, opened: kept.take(session) })
 */
export async function runMatch (keys: EnclaveKeys, req: MatchRequest, context: MatchContext = {}): Promise<MatchResult> {
  const { embedder, now = Date.now, opened: ahead } = context
  const opened: Share[] = []
  const bad: number[] = []
  let probe: Float32Array | undefined
  let secret: Uint8Array | undefined
  let plaintext: Uint8Array | undefined
  let template: Template | undefined
  let vector: Float32Array | undefined
  try {
    probe = await probeVector(req, embedder)
    for (const s of req.shares) {
      try {
        opened.push({ x: s.x, bytes: openShare(keys, req, s, ahead) })
      } catch {
        // Wrong key, wrong binding or tampering all look the same: a bad share from that holder.
        bad.push(s.x)
      }
    }
    const commitments = new Map(req.shares.map((s) => [s.x, s.commitment]))
    let used: { secret: Uint8Array, bad: number[] }
    try {
      used = await reconstruct(req.templateId, opened, commitments, req.t)
    } catch (e) {
      if (e instanceof NotEnoughSharesError) throw new NotEnoughSharesError(e.good, e.needed, [...bad, ...e.bad].sort((a, b) => a - b))
      throw e
    }
    secret = used.secret
    bad.push(...used.bad)
    wipe(...opened.map((s) => s.bytes))
    plaintext = decryptTemplate(secret, { templateId: req.templateId, modality: req.modality, model: req.model })
    wipe(secret)
    template = decodeTemplate(plaintext)
    wipe(plaintext)
    if (template.modality !== req.modality || template.model !== req.model) {
      throw new DecodeError(`template is ${template.modality}/${template.model}, its envelope says ${req.modality}/${req.model}`)
    }
    if (template.dim !== probe.length) throw new BioshardError('ERR_BAD_REQUEST', `probe has ${probe.length} dimensions, the template ${template.dim}`)
    vector = dequantise(template)
    wipe(template.data)
    const score = cosine(vector, probe)
    zero(vector, probe)
    const accept = score >= req.threshold
    const badSorted = [...new Set(bad)].sort((a, b) => a - b)
    const decision = signDecision({
      templateId: req.templateId,
      score,
      threshold: req.threshold,
      accept,
      nonce: req.nonce,
      time: now(),
      bad: badSorted,
      measurement: keys.measurement
    }, keys.signer)
    // An exact-size copy: what crosses the channel is this view's bytes and nothing around them.
    return { decision: decision.slice(), accept, score, threshold: req.threshold, bad: badSorted }
  } finally {
    // Every path — success, a bad share set, a failed decryption — leaves nothing behind.
    wipe(...opened.map((s) => s.bytes), ...[...(ahead?.values() ?? [])].map((s) => s.bytes), secret, plaintext, template?.data)
    zero(vector, probe, req.probe.kind === 'embedding' ? req.probe.vector : undefined)
  }
}
