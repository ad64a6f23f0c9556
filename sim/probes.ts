/**
 * Verifications of one simulated hour: seeded templates, each with a seeded
 * genuine probe (near the enrolled embedding, so an honest verification
 * accepts), through the library's verify flow, a few at a time. Whether a
 * probe is accepted depends on which holders answer, not on how fast: the
 * simulator's timeouts (sim/tenant.ts) are far above a busy machine's latency.
 *
 * @module
 */
import { verify } from '../client/verify.ts'
import type { ClientContext } from '../client/context.ts'
import { syntheticProbe } from './synthetic.ts'
import { mapLimit } from './pool.ts'
import { SIM_PURPOSE } from './tenant.ts'
import type { SimTemplate } from './enrolment.ts'
import type { Latency } from './types.ts'
import type { Rng } from './rng.ts'

/** Noise of a genuine probe (cosine to the template ≈ 0.9, well above the uncalibrated threshold 0.5). */
export const PROBE_NOISE = 0.5
/** Verifications in flight at once (each runs its match in the one enclave process). */
export const PROBE_CONCURRENCY = 4

/** What one verification did. */
export interface ProbeOutcome {
  tpl: SimTemplate
  /** 'accepted', 'rejected' (a decision saying no) or 'failed' (no decision: too few shares, an error). */
  result: 'accepted' | 'rejected' | 'failed'
  code?: string
  ms: number
  /** Holders whose shares the verification found bad. */
  bad: string[]
}

/** Verify `probe` of `tpl` once. */
export async function probeOnce (ctx: ClientContext, tpl: SimTemplate, probe: Float32Array): Promise<ProbeOutcome> {
  const started = performance.now()
  try {
    const r = await verify(ctx, { templateId: tpl.templateId, probe: { kind: 'embedding', vector: probe }, purpose: SIM_PURPOSE })
    const bad = r.bad.map((b) => b.holder).filter((h) => h !== '')
    return { tpl, result: r.accept ? 'accepted' : 'rejected', ms: performance.now() - started, bad }
  } catch (e) {
    const code = (e as { code?: unknown }).code
    return { tpl, result: 'failed', code: typeof code === 'string' ? code : 'ERR_INTERNAL', ms: performance.now() - started, bad: [] }
  }
}

/** A seeded genuine probe of `tpl`. */
export function genuineProbe (tpl: SimTemplate, rng: Rng): Float32Array {
  return syntheticProbe(tpl.identity, () => rng.next(), PROBE_NOISE)
}

/**
 * Run `count` probes of templates drawn from `candidates` by `rng`.
 *
 * @returns the outcomes, in draw order
 */
export async function runProbes (ctx: ClientContext, candidates: readonly SimTemplate[], rng: Rng, count: number): Promise<ProbeOutcome[]> {
  if (candidates.length === 0) return []
  const drawn = Array.from({ length: count }, () => {
    const tpl = rng.pick(candidates)
    return { tpl, probe: genuineProbe(tpl, rng) }
  })
  return await mapLimit(drawn, PROBE_CONCURRENCY, async (d) => await probeOnce(ctx, d.tpl, d.probe))
}

/** p50 and p99 of `ms` (0 for none), nearest rank. */
export function latencyOf (ms: readonly number[]): Latency {
  if (ms.length === 0) return { p50: 0, p99: 0 }
  const sorted = [...ms].sort((a, b) => a - b)
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)])
  return { p50: at(0.5), p99: at(0.99) }
}
