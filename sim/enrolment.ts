/**
 * The enrolment phase of a run: K synthetic templates, each with a seeded
 * id and embedding, enrolled through the verifier library's own flow
 * (client/enroll.ts) a few at a time. Placement is the production rule
 * (protocol/placement.ts) on the converged roster, taken for the share
 * indices 1..n: the library places by the shares' x-coordinates, which the
 * sharing draws at random, so the simulator fixes the n holders it would
 * pick for those indices and hands the flow a roster of exactly them. Which
 * node holds which template is then a function of the seed alone. The
 * shares are cut (sealed, split, committed to) on a worker thread
 * (sim/share-thread.ts), so that CPU-bound work uses the second core.
 *
 * @module
 */
import { enroll } from '../client/enroll.ts'
import type { ClientContext } from '../client/context.ts'
import { Roster } from '../net/roster.ts'
import { choosePlacement } from '../protocol/placement.ts'
import { slotKey } from '../protocol/ownership.ts'
import type { Manifest } from '../protocol/manifest.ts'
import { encodeTemplate, makeTemplate } from '../matcher/template.ts'
import { defaultThreshold } from '../matcher/thresholds.ts'
import { syntheticIdentity } from './synthetic.ts'
import { mapLimit } from './pool.ts'
import { ShareThread } from './share-thread.ts'
import type { ShareCutter } from '../client/cut-shares.ts'
import { AUDIT_MEASUREMENT, SIM_ENROL_TIMEOUTS, SIM_PURPOSE } from './tenant.ts'
import type { Rng } from './rng.ts'
import type { SimParams } from './types.ts'

/** Model id of the synthetic embeddings (uncalibrated: the default threshold applies). */
export const SIM_MODEL = 'synthetic-128'
/** Dimension of the synthetic embeddings (as the face models'). */
export const SIM_DIM = 128
/** Enrolments in flight at once: enough to overlap the round trips, few enough for a 2-core machine. */
export const ENROL_CONCURRENCY = 8
/** Fetch rate in the simulated policies: far above what probes ask, so the rate limit never decides a probe. */
const SIM_RATE = 100_000

/** One enrolled template as the run tracks it. */
export interface SimTemplate {
  index: number
  templateId: Uint8Array
  /** The synthetic identity (probes are drawn near it). */
  identity: Float32Array
  manifest: Manifest
  /** The holders' storage slot of this template. */
  slot: Uint8Array
  erased: boolean
}

/** What the enrolment phase produced. */
export interface Enrolment { templates: SimTemplate[], failed: number }

/** A roster holding only `peers` (copied from `roster`, signatures already checked there). */
function rosterOf (roster: Roster, peers: ReadonlySet<string>): Roster {
  const out = new Roster(roster.anchor, roster.verified)
  for (const e of roster.list()) {
    if (peers.has(e.peer)) out.add({ cert: e.cert, ...(e.statement !== undefined ? { addrs: e.statement } : {}) })
  }
  return out
}

/** The seeded id and embedding of template `index`. */
function seededTemplate (rng: Rng, index: number): { templateId: Uint8Array, identity: Float32Array } {
  const r = rng.fork(`template-${index}`)
  const templateId = r.bytes(32)
  return { templateId, identity: syntheticIdentity(SIM_DIM, () => r.next()) }
}

/** One seeded template, and where its shares are cut. */
interface EnrolJob { templateId: Uint8Array, identity: Float32Array, cut: ShareCutter }

async function enrolOne (ctx: ClientContext, params: SimParams, seeded: EnrolJob): Promise<Manifest> {
  const xs = Array.from({ length: params.n }, (_, i) => i + 1)
  const placed = choosePlacement(seeded.templateId, xs, ctx.roster.list().map((e) => ({ peer: e.peer, site: e.site })))
  const holders = new Set(placed.flatMap((c) => c !== undefined ? [c.peer] : []))
  const measurement = (await ctx.enclave()).enclave.measurement
  const template = encodeTemplate(makeTemplate(seeded.identity, { modality: 'face', model: SIM_MODEL }))
  const policy = {
    purposes: [SIM_PURPOSE],
    measurements: [measurement, AUDIT_MEASUREMENT],
    ratePerMinute: SIM_RATE,
    burst: SIM_RATE,
    threshold: Math.round(defaultThreshold(SIM_MODEL) * 1_000_000)
  }
  const { templateId, cut } = seeded
  const input = { template, modality: 'face' as const, model: SIM_MODEL, dim: SIM_DIM, t: params.t, n: params.n, policy, templateId, cut }
  const r = await enroll({ ...ctx, roster: rosterOf(ctx.roster, holders), timeouts: SIM_ENROL_TIMEOUTS }, input)
  return r.manifest
}

/**
 * Enrol `params.templates` seeded templates.
 *
 * @param o.onDone - told after each enrolment (done so far)
 * @param o.signal - stops the phase: no enrolment starts once it aborts, and the phase throws its reason
 * @returns the templates enrolled (in index order) and how many failed
 */
export async function enrolTemplates (
  ctx: ClientContext,
  params: SimParams,
  rng: Rng,
  o: { onDone?: (done: number) => void, signal?: AbortSignal | undefined } = {}
): Promise<Enrolment> {
  const { onDone, signal } = o
  let done = 0
  const thread = new ShareThread()
  const results = await mapLimit(Array.from({ length: params.templates }, (_, i) => i), ENROL_CONCURRENCY, async (index) => {
    signal?.throwIfAborted()
    const seeded = seededTemplate(rng, index)
    try {
      const manifest = await enrolOne(ctx, params, { ...seeded, cut: thread.cut })
      const slot = slotKey(manifest.body.tenant, seeded.templateId)
      return { index, ...seeded, manifest, slot, erased: false }
    } catch {
      // A failed enrolment is counted (SimCounts.enrollFailed); the flow has already erased what it stored.
      return undefined
    } finally {
      onDone?.(++done)
    }
  }).finally(async () => { await thread.close() })
  const templates = results.filter((t): t is SimTemplate => t !== undefined)
  return { templates, failed: results.length - templates.length }
}
