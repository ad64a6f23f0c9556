/**
 * The invariants a run asserts (docs/simulator.md), each computed from what
 * the measures and checks found on the real nodes: no template lost while
 * its failed holders are at most n − t; a coalition of fewer than t sites
 * reconstructs nothing, and one of t or more reconstructs exactly what it
 * holds t shares of (proof that the check can see a reconstruction);
 * no site holds two shares of one template; Byzantine holders are named
 * and verification still succeeds; after an erase nothing is fetchable,
 * stored or on disk; and the live-share measure agrees with trying.
 *
 * @module
 */
import { toHex } from '../crypto/bytes.ts'
import type { InvariantCheck } from './types.ts'
import type { SimTemplate } from './enrolment.ts'
import type { CoalitionFinding } from './measure.ts'
import type { ByzantineFinding, Confirmation } from './checks.ts'
import type { EraseFinding } from './erasure.ts'
import { serves, type World } from './world.ts'

/** What the end of a run found, as the invariants read it. */
export interface Findings {
  live: ReadonlyArray<{ tpl: SimTemplate, live: number }>
  confirmation: Confirmation
  coalitions: readonly CoalitionFinding[]
  maxPerSite: number
  byzantine: readonly ByzantineFinding[]
  erased: number
  eraseFindings: readonly EraseFinding[]
}

const short = (id: string): string => `${id.slice(0, 12)}…`

/** Holders of `tpl` that do not serve it now (down, departed, cut off or Byzantine). */
export function failedHolders (world: World, tpl: SimTemplate): number {
  return tpl.manifest.body.shares.filter((s) => {
    const i = world.indexOf.get(s.holder)
    return i === undefined || !serves(world, i)
  }).length
}

function noLoss (world: World, f: Findings): InvariantCheck {
  const { t, n } = world.params
  const wrongly = f.confirmation.lost.filter((tpl) => failedHolders(world, tpl) <= n - t)
  const detail = wrongly.length === 0
    ? `${f.confirmation.lost.length} lost, each with more than n − t = ${n - t} failed holders`
    : `lost with at most ${n - t} failed holders: ${wrongly.map((x) => short(toHex(x.templateId))).join(', ')}`
  return { name: 'no template lost while failed holders ≤ n − t', holds: wrongly.length === 0, detail }
}

function coalitionChecks (world: World, f: Findings): InvariantCheck[] {
  const { t } = world.params
  return f.coalitions.map((c) => c.sites.length < t
    ? {
        name: `coalition ${c.sites.join('+')} (< t sites) reconstructs nothing`,
        holds: c.reconstructed === 0,
        detail: `at most ${c.maxShares} shares of one template; ${c.reconstructed} reconstructed`
      }
    : {
        name: `coalition ${c.sites.join('+')} (≥ t sites) reconstructs what it holds t shares of`,
        holds: c.reconstructed === c.atThreshold,
        detail: `${c.atThreshold} templates with ≥ t shares held, ${c.reconstructed} reconstructed by combining and decrypting`
      })
}

function siteSpread (f: Findings): InvariantCheck {
  return { name: 'no site holds two shares of one template', holds: f.maxPerSite <= 1, detail: `at most ${f.maxPerSite} per site` }
}

function byzantineCheck (world: World, f: Findings): InvariantCheck | undefined {
  if (f.byzantine.length === 0) return undefined
  const liveOf = new Map(f.live.map((c) => [toHex(c.tpl.templateId), c.live]))
  const audited = f.byzantine.filter((b) => b.templateId !== undefined)
  const problems = audited.flatMap((b) => {
    const out: string[] = []
    if (!b.named) out.push(`node ${b.node} (${b.behaviour}) not named`)
    if (!b.honestGood) out.push(`no honest holder beside node ${b.node} answered well`)
    if (!b.verified && (liveOf.get(b.templateId ?? '') ?? 0) >= world.params.t) out.push(`verify failed beside node ${b.node}`)
    return out
  })
  const named = audited.filter((b) => b.named).length
  const detail = problems.length > 0 ? problems.join('; ') : `${named} of ${f.byzantine.length} Byzantine holders named, verify accepted`
  return { name: 'Byzantine holders are named and verify still succeeds', holds: problems.length === 0 && audited.length > 0, detail }
}

function eraseCheck (f: Findings): InvariantCheck | undefined {
  if (f.erased === 0) return undefined
  const first = f.eraseFindings[0]
  const detail = first === undefined
    ? `${f.erased} erased: no holder answered, no store held a share, no file held its bytes`
    : `${f.eraseFindings.length} of ${f.erased} incomplete, e.g. ${short(first.templateId)}: ` +
      `${first.answered.length} answered, ${first.stored.length} stored, ${first.files.length} dirs with its bytes`
  return { name: 'after erase nothing is fetchable, stored or on disk', holds: f.eraseFindings.length === 0, detail }
}

function measureAgrees (f: Findings): InvariantCheck {
  const m = f.confirmation.misjudged
  const detail = m.length === 0
    ? 'every template verified at the end did as its live shares said'
    : m.map((x) => `${short(x.templateId)} live ${x.live}: ${x.result}`).join('; ')
  return { name: 'live-share measure agrees with verification', holds: m.length === 0, detail }
}

/**
 * Every invariant that applies to this run.
 *
 * @returns the checks, in a fixed order
 */
export function checkInvariants (world: World, f: Findings): InvariantCheck[] {
  return [noLoss(world, f), ...coalitionChecks(world, f), siteSpread(f), byzantineCheck(world, f), eraseCheck(f), measureAgrees(f)]
    .filter((c): c is InvariantCheck => c !== undefined)
}
