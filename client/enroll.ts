/**
 * Enrolment: template → envelope → shares → n holders at n distinct sites →
 * signed receipts → manifest in the DHT. A manifest is never published for
 * fewer than n stored shares, and a failed enrolment erases what it stored
 * ({@link enroll}). The template is in the clear in this process only because
 * the application handed it over; it and every share are wiped before this
 * returns. (A raw sample can instead be embedded inside the enclave.)
 *
 * @module
 */
import { aint, abytes, randomBytes, wipe } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import type { Share } from '../crypto/shares.ts'
import { cutShares, type ShareCutter } from './cut-shares.ts'
import { place } from './placement.ts'
import { checkConsentFor, type Manifest, type Policy, type Consent } from '../protocol/manifest.ts'
import { PURPOSE, MODEL_ID } from '../protocol/fields.ts'
import type { StoreReceipt } from '../protocol/store.ts'
import { storeShare, eraseAt } from './holder-requests.ts'
import { buildManifest } from './manifest-builder.ts'
import type { ClientContext } from './context.ts'
import { EnrollError } from './errors.ts'
import { ENROLL_ATTEMPTS, DEFAULT_T, DEFAULT_N } from './constants.ts'
import { logger } from '../net/log.ts'
import { makeTemplate, encodeTemplate, type TemplateDtype } from '../matcher/template.ts'
import { FaceMatcher } from '../matcher/face/pipeline.ts'
import { defaultThreshold } from '../matcher/thresholds.ts'
import { faceConfig } from '../enclave/launch.ts'
import type { FaceModelPaths } from '../enclave/enclave.ts'
import type { PreparedIds } from './prepared-ids.ts'

const log = logger('client:enroll')

export { EnrollError } from './errors.ts'

/** What an application passes to `client.enroll`. */
export interface EnrollOptions {
  /**
   * The embedding to enrol (copied into the template, the copy wiped), or a
   * raw face photo. A photo is embedded in this process with the face models
   * given in `enclave.faceModel`: at enrolment the application holds the
   * sample anyway; it is at verification that samples stay inside the enclave.
   */
  template: Float32Array | { image: Uint8Array }
  modality: 'face' | 'voice'
  /** Model id of the embedder (bound into the encryption and checked at verify); taken from the face model for photos. */
  model?: string
  /** Threshold and share count. @default t = 3, n = 5 */
  t?: number
  n?: number
  /** Store int8 templates (4× smaller shares). @default 'f32' */
  dtype?: TemplateDtype
  /** Access policy; `measurements` defaults to this client's enclave. */
  policy?: Partial<Policy>
  /**
   * How consent was obtained. Subject consent is signed over the template id,
   * so it needs an id from `client.prepareEnrollment()` passed as `templateId`.
   */
  consent?: Consent
  /** An id from `client.prepareEnrollment()` (fresh, unused); a new random id when absent. */
  templateId?: Uint8Array
}

/** What the client lends {@link enrollWithOptions}: its prepared ids, and the face models for photos. */
export interface EnrollEnv {
  prepared: PreparedIds
  faceModel?: FaceModelPaths
}

/** An embedding to enrol, with its model id; `owned` when it was made here (and is wiped here). */
interface Embedded { embedding: Float32Array, model: string | undefined, owned: boolean }

async function embed (o: EnrollOptions, faceModel: FaceModelPaths | undefined): Promise<Embedded> {
  if (o?.template instanceof Float32Array) return { embedding: o.template, model: o.model, owned: false }
  if (o?.template === null || typeof o?.template !== 'object' || !(o.template.image instanceof Uint8Array)) {
    throw new TypeError('template must be a Float32Array or { image: Uint8Array }')
  }
  if (faceModel === undefined) throw new TypeError('enrolling a photo needs enclave.faceModel (the face models) in the client options')
  const fm = await FaceMatcher.create(faceConfig(faceModel))
  try {
    const e = await fm.embed(o.template.image)
    const model = o.model ?? e.model
    if (model !== e.model) throw new TypeError(`model '${model}' does not match the face model '${e.model}'`)
    return { embedding: e.embedding, model, owned: true }
  } finally {
    await fm.close()
  }
}

/** The policy to sign: the caller's, with its purposes checked, the threshold of the model and this client's enclave by default. */
async function policyOf (ctx: ClientContext, o: EnrollOptions, model: string): Promise<EnrollInput['policy']> {
  for (const p of o.policy?.purposes ?? []) if (!PURPOSE.test(p)) throw new TypeError(`policy.purposes: '${p}' is not a purpose token`)
  const measurements = o.policy?.measurements ?? [(await ctx.enclave()).enclave.measurement]
  const threshold = o.policy?.threshold ?? Math.round(defaultThreshold(model) * 1_000_000)
  return { ...o.policy, threshold, measurements }
}

async function checkLiveness (ctx: ClientContext, o: EnrollOptions): Promise<void> {
  if (o.policy?.liveness !== true) return
  if (ctx.liveness === undefined) throw new BioshardError('ERR_LIVENESS', 'the policy requires a liveness check and this client has no detector')
  const r = await ctx.liveness(o.template, { phase: 'enroll' })
  if (!r.live) throw new BioshardError('ERR_LIVENESS', `presentation attack suspected (liveness score ${r.score.toFixed(3)})`)
}

/** Check the caller's template id and consent, and use up the prepared id. */
function takeTemplateId (ctx: ClientContext, o: EnrollOptions, prepared: PreparedIds): void {
  if (o.templateId !== undefined) abytes(o.templateId, 32, 'templateId')
  if (o.consent?.by === 'subject') {
    if (o.templateId === undefined) throw new TypeError('subject consent needs templateId from prepareEnrollment(): the subject signs over the id')
    if (ctx.tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
    checkConsentFor(o.templateId, ctx.tenant.key.publicKey, o.consent)
  }
  if (o.templateId !== undefined) prepared.take(o.templateId)
}

/**
 * Enrol from an application's options: check them, embed a photo if given,
 * encode the template, and run {@link enroll}.
 *
 * @throws {TypeError|RangeError} naming a malformed option
 * @throws {BioshardError} ERR_LIVENESS, ERR_NOT_AUTHORISED, ERR_BAD_REQUEST (a template id not prepared here), and as {@link enroll}
 * @example await enrollWithOptions(ctx, { template: embedding, modality: 'face', model }, { prepared })
 */
export async function enrollWithOptions (ctx: ClientContext, o: EnrollOptions, env: EnrollEnv): Promise<EnrollResult> {
  const { embedding, model, owned } = await embed(o, env.faceModel)
  try {
    if (o.modality !== 'face' && o.modality !== 'voice') throw new TypeError("modality must be 'face' or 'voice'")
    if (typeof model !== 'string' || !MODEL_ID.test(model)) throw new TypeError('model must be a model id (letters, digits, . _ : + -)')
    const t = aint(o.t ?? DEFAULT_T, 2, 255, 't')
    const n = aint(o.n ?? DEFAULT_N, t, 255, 'n')
    const policy = await policyOf(ctx, o, model)
    await checkLiveness(ctx, o)
    takeTemplateId(ctx, o, env.prepared)
    const template = encodeTemplate(makeTemplate(embedding, { modality: o.modality, model, dtype: o.dtype ?? 'f32' }))
    if (owned) embedding.fill(0)
    const optional = { ...(o.consent !== undefined ? { consent: o.consent } : {}), ...(o.templateId !== undefined ? { templateId: o.templateId } : {}) }
    return await enroll(ctx, { template, modality: o.modality, model, dim: embedding.length, t, n, policy, ...optional })
  } finally {
    if (owned) embedding.fill(0)
  }
}

/** An enrolment as the flow takes it: the encoded template and checked parameters. */
export interface EnrollInput {
  /** The encoded template (matcher/template.ts), owned by this call and wiped. */
  template: Uint8Array
  modality: 'face' | 'voice'
  model: string
  dim: number
  t: number
  n: number
  policy: Partial<Policy> & { measurements: Uint8Array[] }
  consent?: Consent
  /** A prepared id (the subject's consent may be signed over it); a random id per attempt when absent. */
  templateId?: Uint8Array
  /** Where the template is sealed, split and committed to (client/cut-shares.ts). @default cutShares, on this thread */
  cut?: ShareCutter
}

export interface EnrollResult {
  templateId: Uint8Array
  manifest: Manifest
  receipts: StoreReceipt[]
  timings: { splitMs: number, storeMs: number, publishMs: number, totalMs: number }
}

async function attempt (ctx: ClientContext, input: EnrollInput, secret: Uint8Array, exclude: Set<string>): Promise<EnrollResult> {
  const tenant = ctx.tenant
  if (tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
  const started = performance.now()
  const templateId = input.templateId ?? randomBytes(32)
  let shares: Share[] = []
  try {
    const cut = await (input.cut ?? cutShares)(secret, { templateId, modality: input.modality, model: input.model, t: input.t, n: input.n })
    shares = cut.shares
    const split = performance.now()
    const holders = await place(ctx, templateId, shares.map((s) => s.x), exclude)
    const manifest = buildManifest({
      templateId,
      tenant: tenant.key,
      tenantCert: tenant.cert,
      modality: input.modality,
      model: input.model,
      dim: input.dim,
      t: input.t,
      n: input.n,
      shares: shares.map((s, i) => ({
        x: s.x, holder: holders[i].peer, site: holders[i].site, commitment: cut.commitments[i], audit: cut.audits[i]
      })),
      policy: input.policy,
      ...(input.consent !== undefined ? { consent: input.consent } : {})
    })
    const results = await Promise.allSettled(shares.map(async (s, i) =>
      await storeShare(ctx.host, holders[i].peer, { manifest, x: s.x, share: s.bytes, tenant: tenant.key }, { timeoutMs: ctx.timeouts.requestMs })))
    const stored = performance.now()
    const failed = results.flatMap((r, i) => r.status === 'rejected' ? [{ peer: holders[i].peer, reason: r.reason as Error }] : [])
    if (failed.length > 0) {
      // Never leave a partial enrolment behind: tombstone what was stored.
      const uncleaned = await eraseStored(ctx, manifest, holders.filter((_, i) => results[i].status === 'fulfilled').map((h) => h.peer))
      for (const f of failed) exclude.add(f.peer)
      const reasons = failed.map((f) => `${f.peer}: ${f.reason.message}`).join('; ')
      throw new EnrollError('ERR_QUORUM_UNAVAILABLE', `store failed at ${failed.length} holder(s): ${reasons}`, { templateId, uncleaned, stage: 'store' })
    }
    const receipts = results.map((r) => (r as PromiseFulfilledResult<StoreReceipt>).value)
    try {
      await ctx.manifests.publish(manifest, AbortSignal.timeout(ctx.timeouts.dhtMs))
    } catch (e) {
      // Shares nobody can find must not stay behind: erase them all.
      const uncleaned = await eraseStored(ctx, manifest, holders.map((h) => h.peer))
      const code = e instanceof BioshardError ? e.code : 'ERR_QUORUM_UNAVAILABLE'
      const left = uncleaned.length === 0 ? 'every stored share was erased' : `${uncleaned.length} holder(s) could not be erased`
      const message = `the manifest could not be published (${(e as Error).message}); ${left}`
      throw new EnrollError(code, message, { templateId, uncleaned, stage: 'publish' }, { cause: e })
    }
    const done = performance.now()
    return { templateId, manifest, receipts, timings: { splitMs: split - started, storeMs: stored - split, publishMs: done - stored, totalMs: done - started } }
  } finally {
    for (const s of shares) wipe(s.bytes)
  }
}

/** Erase the manifest's template at `peers`; returns the peers that did not confirm. */
async function eraseStored (ctx: ClientContext, manifest: Manifest, peers: string[]): Promise<string[]> {
  const tenant = ctx.tenant
  if (tenant === undefined) return peers
  const erase = async (peer: string): Promise<unknown> => await eraseAt(ctx.host, peer, { manifest, signer: tenant.key }, { timeoutMs: ctx.timeouts.requestMs })
  const results = await Promise.allSettled(peers.map(erase))
  return peers.filter((_, i) => results[i].status === 'rejected')
}

/**
 * Enrol one template across the network. If a store fails, what was stored
 * is erased and the enrolment is retried once under a fresh template id
 * without the failed holder (only when what was stored could be erased
 * everywhere). If the publish fails, every stored share is erased and it is
 * not retried. Either way the failure is an {@link EnrollError} naming the
 * template id and any holder that could not be cleaned (those drop the share
 * themselves once it has waited their grace period without a published manifest).
 *
 * @throws {EnrollError} after shares were stored: ERR_QUORUM_UNAVAILABLE (a store or the publish
 *   failed) or the publish's own code, with the template id and the holders left uncleaned
 * @throws {BioshardError} ERR_NOT_ENOUGH_SITES, ERR_NOT_AUTHORISED before anything was stored
 */
export async function enroll (ctx: ClientContext, input: EnrollInput): Promise<EnrollResult> {
  const exclude = new Set<string>()
  try {
    for (let i = 1; ; i++) {
      try {
        return await attempt(ctx, input, input.template, exclude)
      } catch (e) {
        // Only a failed store whose shares were all erased again is retried: the
        // error of a retry would no longer name this attempt's id. A caller's id
        // is never retried: holders tombstone it when a failed attempt is cleaned up.
        const retry = e instanceof EnrollError && e.code === 'ERR_QUORUM_UNAVAILABLE' && e.stage === 'store' && e.uncleaned.length === 0
        if (i >= ENROLL_ATTEMPTS || input.templateId !== undefined || !retry) throw e
        log('enrolment attempt %d failed, retrying without %d holder(s): %s', i, exclude.size, e.message)
      }
    }
  } finally {
    wipe(input.template)
  }
}
