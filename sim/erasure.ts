/**
 * Erasure as the tenant performs it, and the check that it is complete. Before
 * erasing, the share bytes each holder stores are captured (from the stores);
 * afterwards the check asks every serving holder for the share (an audit
 * fetch must be refused), reads every readable store (none may hold it), and
 * scans every node directory's files for the captured bytes.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { erase } from '../client/erase.ts'
import type { ClientContext } from '../client/context.ts'
import { toHex, wipe } from '../crypto/bytes.ts'
import type { Auditor } from './tenant.ts'
import type { SimTemplate } from './enrolment.ts'
import { liveTemplates, serves, type World } from './world.ts'
import type { Rng } from './rng.ts'

/** The bytes each holder stored for one erased template, kept until the check. */
export interface ErasedCapture { tpl: SimTemplate, shares: Uint8Array[] }

/** Read the shares the template's holders store now (copies; wiped by {@link checkErasures}). */
async function capture (world: World, tpl: SimTemplate): Promise<ErasedCapture> {
  const shares: Uint8Array[] = []
  for (const s of tpl.manifest.body.shares) {
    const i = world.indexOf.get(s.holder)
    if (i === undefined || !world.injector.isUp(i)) continue
    const held = await world.net.nodes[i].heldShare(tpl.slot).catch(() => undefined)
    if (held !== undefined) shares.push(held.share)
  }
  return { tpl, shares }
}

/**
 * Erase `fraction` of the templates not yet erased, chosen by `rng`, through
 * the library's erase flow (in index order, one at a time).
 *
 * @returns what was captured before each erase
 */
export async function eraseFraction (world: World, ctx: ClientContext, rng: Rng, fraction: number): Promise<ErasedCapture[]> {
  const live = liveTemplates(world)
  const chosen = rng.sample(live, Math.round(Math.min(1, Math.max(0, fraction)) * live.length)).sort((a, b) => a.index - b.index)
  const out: ErasedCapture[] = []
  for (const tpl of chosen) {
    out.push(await capture(world, tpl))
    tpl.erased = true
    await erase(ctx, tpl.templateId).catch(() => undefined)
  }
  return out
}

/** Every file under `dir` (none when it is gone). */
function filesUnder (dir: string): string[] {
  let names: string[]
  try { names = readdirSync(dir) } catch { return [] }
  return names.flatMap((name) => {
    const p = join(dir, name)
    try { return statSync(p).isDirectory() ? filesUnder(p) : [p] } catch { return [] }
  })
}

/** Node directories whose files contain any of `needles`. */
function dirsHolding (world: World, needles: readonly Uint8Array[]): string[] {
  if (needles.length === 0) return []
  return world.net.nodes.map((n) => n.dir).filter((dir) => filesUnder(dir).some((file) => {
    let bytes: Buffer
    try { bytes = readFileSync(file) } catch { return false }
    return needles.some((b) => bytes.indexOf(b) >= 0)
  }))
}

/** What was left of one erased template: holders answering a fetch, stores holding it, directories with its bytes. */
export interface EraseFinding { templateId: string, answered: string[], stored: number[], files: string[] }

/** Check one erased template everywhere. */
async function checkOne (world: World, auditor: Auditor, c: ErasedCapture): Promise<EraseFinding> {
  const answered: string[] = []
  for (const s of c.tpl.manifest.body.shares) {
    const i = world.indexOf.get(s.holder)
    if (i === undefined || !serves(world, i)) continue
    if ((await auditor.fetch(c.tpl.manifest, s)).kind !== 'refused') answered.push(s.holder)
  }
  const stored: number[] = []
  for (let i = 0; i < world.net.nodes.length; i++) {
    if (!world.injector.isUp(i)) continue
    const held = await world.net.nodes[i].heldShare(c.tpl.slot).catch(() => undefined)
    if (held !== undefined) { stored.push(i); wipe(held.share) }
  }
  return { templateId: toHex(c.tpl.templateId), answered, stored, files: dirsHolding(world, c.shares) }
}

/**
 * Check every captured erasure; wipes the captured bytes.
 *
 * @returns one finding per erased template that was not completely erased
 */
export async function checkErasures (world: World, auditor: Auditor, captured: readonly ErasedCapture[]): Promise<EraseFinding[]> {
  const out: EraseFinding[] = []
  try {
    for (const c of captured) {
      const f = await checkOne(world, auditor, c)
      if (f.answered.length > 0 || f.stored.length > 0 || f.files.length > 0) out.push(f)
    }
  } finally {
    for (const c of captured) wipe(...c.shares)
  }
  return out
}
