/**
 * The end-of-run checks that confirm a measure by trying: every template
 * measured unrecoverable is verified (it must fail), a seeded sample of
 * recoverable ones too (they must be accepted), and every Byzantine holder
 * is audited on a template it holds (its answer must be found bad or
 * missing) while that template is verified (it must still be accepted).
 *
 * @module
 */
import type { ClientContext } from '../client/context.ts'
import type { Behaviour } from './types.ts'
import type { SimTemplate } from './enrolment.ts'
import type { Auditor } from './tenant.ts'
import { genuineProbe, probeOnce } from './probes.ts'
import { liveTemplates, type World } from './world.ts'
import type { Rng } from './rng.ts'

/** Recoverable templates verified at the end to confirm the measure. */
export const RECOVERABLE_SAMPLE = 5

/** A template whose measure and verification disagree. */
export interface Misjudged { templateId: string, live: number, result: string }

/** Unrecoverable templates confirmed by trying, and every disagreement between the measure and a verification. */
export interface Confirmation { lost: SimTemplate[], misjudged: Misjudged[] }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Verify every unrecoverable template and a sample of the recoverable ones. */
export async function confirmRecoverability (
  ctx: ClientContext, counts: ReadonlyArray<{ tpl: SimTemplate, live: number }>, t: number, rng: Rng
): Promise<Confirmation> {
  const lost: SimTemplate[] = []
  const misjudged: Misjudged[] = []
  const under = counts.filter((c) => c.live < t)
  const sample = rng.sample(counts.filter((c) => c.live >= t), RECOVERABLE_SAMPLE).sort((a, b) => a.tpl.index - b.tpl.index)
  for (const c of [...under, ...sample]) {
    const r = await probeOnce(ctx, c.tpl, genuineProbe(c.tpl, rng))
    const expectLost = c.live < t
    if (expectLost && r.result === 'failed') lost.push(c.tpl)
    else if (expectLost !== (r.result !== 'accepted')) misjudged.push({ templateId: hex(c.tpl.templateId), live: c.live, result: r.code ?? r.result })
  }
  return { lost, misjudged }
}

/** What auditing one Byzantine holder found. */
export interface ByzantineFinding {
  node: number
  behaviour: Behaviour
  /** The template audited (undefined when the holder holds none still enrolled, or is down). */
  templateId?: string
  /** Its answer was a bad share, a refusal or no answer. */
  named: boolean
  /** An honest holder of the same template answered with a good share (no false blame). */
  honestGood: boolean
  /** A verification of that template was accepted. */
  verified: boolean
}

/** Audit each Byzantine holder that is up on one seeded template it holds, and verify that template. */
export async function auditByzantine (world: World, ctx: ClientContext, auditor: Auditor, rng: Rng): Promise<ByzantineFinding[]> {
  const out: ByzantineFinding[] = []
  for (let i = 0; i < world.net.nodes.length; i++) {
    const behaviour = world.injector.behaviourOf(i)
    if (behaviour === undefined) continue
    const peer = world.net.nodes[i].cert.body.peer
    const held = liveTemplates(world).filter((t) => t.manifest.body.shares.some((s) => s.holder === peer))
    if (held.length === 0 || !world.injector.isUp(i) || !world.injector.reachableFromClient(i)) {
      out.push({ node: i, behaviour, named: false, honestGood: false, verified: false })
      continue
    }
    const tpl = rng.pick(held)
    const entry = tpl.manifest.body.shares.find((s) => s.holder === peer)
    const named = entry !== undefined && (await auditor.fetch(tpl.manifest, entry)).kind !== 'good'
    const honest = tpl.manifest.body.shares.find((s) => {
      const j = world.indexOf.get(s.holder)
      return j !== undefined && world.injector.isUp(j) && world.injector.reachableFromClient(j) && world.injector.behaviourOf(j) === undefined
    })
    const honestGood = honest !== undefined && (await auditor.fetch(tpl.manifest, honest)).kind === 'good'
    const verified = (await probeOnce(ctx, tpl, genuineProbe(tpl, rng))).result === 'accepted'
    out.push({ node: i, behaviour, templateId: hex(tpl.templateId), named, honestGood, verified })
  }
  return out
}
