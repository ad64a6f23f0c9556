/**
 * Enrolment: template → envelope → shares → n holders at n distinct sites →
 * signed receipts → manifest in the DHT. A manifest is never published for
 * fewer than n stored shares: if a store fails, what was stored is erased and
 * the enrolment is retried once under a fresh template id without the failed
 * holder. If the publish fails, every stored share is erased. Either way the
 * failure is an {@link EnrollError} naming the template id and any holder
 * that could not be cleaned (those drop the share themselves once it has
 * waited their grace period without a published manifest).
 *
 * The template is in the clear in this process only because the application
 * handed it over; it and every share are wiped before this returns. (A raw
 * sample can instead be embedded inside the enclave.)
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { randomBytes, wipe } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { encryptTemplate } from '../crypto/envelope.ts'
import { splitSecret, commitShare, type Share } from '../crypto/shares.ts'
import { choosePlacement, type Candidate } from '../protocol/placement.ts'
import type { Manifest, Policy, Consent } from '../protocol/manifest.ts'
import type { StoreReceipt } from '../protocol/store.ts'
import { storeShare, eraseAt } from './holder-requests.ts'
import { buildManifest } from './manifest-builder.ts'
import type { ClientContext } from './context.ts'
import { EnrollError } from './errors.ts'
import { CONNECT_TIMEOUT_MS, ENROLL_ATTEMPTS } from './constants.ts'
import { logger } from '../net/log.ts'

const log = logger('client:enroll')

export { EnrollError } from './errors.ts'


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
}

export interface EnrollResult {
  templateId: Uint8Array
  manifest: Manifest
  receipts: StoreReceipt[]
  timings: { splitMs: number, storeMs: number, publishMs: number, totalMs: number }
}

async function reachable (ctx: ClientContext, peer: string): Promise<boolean> {
  try {
    await ctx.host.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
    return true
  } catch {
    return false
  }
}

/** Pick n holders at distinct sites, closest-first per share, skipping unreachable ones. */
async function place (ctx: ClientContext, templateId: Uint8Array, xs: number[], exclude: Set<string>): Promise<Candidate[]> {
  const candidates = ctx.roster.list().map((e) => ({ peer: e.peer, site: e.site })).filter((c) => !exclude.has(c.peer))
  const sites = new Set(candidates.map((c) => c.site))
  if (sites.size < xs.length) throw new BioshardError('ERR_NOT_ENOUGH_SITES', `n = ${xs.length} shares need ${xs.length} distinct sites; the roster has ${sites.size}`)
  // Check reachability lazily, in placement order, so one dead node costs one dial.
  const status = new Map<string, Promise<boolean>>()
  const isUp = (c: Candidate): Promise<boolean> => {
    let p = status.get(c.peer)
    if (p === undefined) { p = reachable(ctx, c.peer); status.set(c.peer, p) }
    return p
  }
  await Promise.all(choosePlacement(templateId, xs, candidates).map(async (c) => c !== undefined ? await isUp(c) : false))
  const down = new Set<string>()
  for (;;) {
    const chosen = choosePlacement(templateId, xs, candidates, (c) => !down.has(c.peer))
    if (chosen.some((c) => c === undefined)) throw new BioshardError('ERR_NOT_ENOUGH_SITES', `fewer than ${xs.length} distinct sites are reachable`)
    const ups = await Promise.all(chosen.map(async (c) => await isUp(c as Candidate)))
    if (ups.every(Boolean)) return chosen as Candidate[]
    chosen.forEach((c, i) => { if (!ups[i]) down.add((c as Candidate).peer) })
  }
}

async function attempt (ctx: ClientContext, input: EnrollInput, secret: Uint8Array, exclude: Set<string>): Promise<EnrollResult> {
  const tenant = ctx.tenant
  if (tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
  const started = performance.now()
  const templateId = input.templateId ?? randomBytes(32)
  let shares: Share[] = []
  try {
    const ctxAad = { templateId, modality: input.modality, model: input.model }
    const sealed = encryptTemplate(secret, ctxAad)
    shares = await splitSecret(sealed, input.t, input.n)
    wipe(sealed)
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
      shares: shares.map((s, i) => ({ x: s.x, holder: holders[i].peer, site: holders[i].site, commitment: commitShare(templateId, s) })),
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
      throw new EnrollError('ERR_QUORUM_UNAVAILABLE', `store failed at ${failed.length} holder(s): ${failed.map((f) => `${f.peer}: ${f.reason.message}`).join('; ')}`, { templateId, uncleaned, stage: 'store' })
    }
    const receipts = results.map((r) => (r as PromiseFulfilledResult<StoreReceipt>).value)
    try {
      await ctx.manifests.publish(manifest, AbortSignal.timeout(ctx.timeouts.dhtMs))
    } catch (e) {
      // Shares nobody can find must not stay behind: erase them all.
      const uncleaned = await eraseStored(ctx, manifest, holders.map((h) => h.peer))
      const code = e instanceof BioshardError ? e.code : 'ERR_QUORUM_UNAVAILABLE'
      throw new EnrollError(code, `the manifest could not be published (${(e as Error).message}); ${uncleaned.length === 0 ? 'every stored share was erased' : `${uncleaned.length} holder(s) could not be erased`}`, { templateId, uncleaned, stage: 'publish' }, { cause: e })
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
  const results = await Promise.allSettled(peers.map(async (peer) => await eraseAt(ctx.host, peer, { manifest, signer: tenant.key }, { timeoutMs: ctx.timeouts.requestMs })))
  return peers.filter((_, i) => results[i].status === 'rejected')
}

/**
 * Enrol one template across the network. A failed store is retried once
 * under a fresh id when what was stored could be erased everywhere; a failed
 * publish is not retried.
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

