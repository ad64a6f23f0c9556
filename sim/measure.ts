/**
 * Measures read from the nodes' real state, never from the schedule: live
 * correct shares per template (the holder serves, and its store holds a
 * share matching the manifest's commitment), and exposure (the most shares
 * of one template any node, site or coalition holds, with every coalition's
 * shares actually combined and decrypted).
 *
 * @module
 */
import { combineShares, shareMatches, type Share } from '../crypto/shares.ts'
import { decryptTemplate } from '../crypto/envelope.ts'
import { toHex, wipe } from '../crypto/bytes.ts'
import type { Exposure, StepRecord } from './types.ts'
import type { SimTemplate } from './enrolment.ts'
import { liveTemplates, serves, siteOf, type World } from './world.ts'

/** Live correct shares of one template: serving holders whose store holds the committed share. */
export async function liveShares (world: World, tpl: SimTemplate): Promise<number> {
  let live = 0
  for (const s of tpl.manifest.body.shares) {
    const i = world.indexOf.get(s.holder)
    if (i === undefined || !serves(world, i)) continue
    const held = await world.net.nodes[i].heldShare(tpl.slot).catch(() => undefined)
    if (held === undefined) continue
    try {
      if (held.x === s.x && shareMatches(tpl.manifest.body.templateId, { x: held.x, bytes: held.share }, s.commitment)) live++
    } finally {
      wipe(held.share)
    }
  }
  return live
}

/** Live shares of every template not erased, in index order. */
export async function liveShareCounts (world: World): Promise<Array<{ tpl: SimTemplate, live: number }>> {
  const out: Array<{ tpl: SimTemplate, live: number }> = []
  for (const tpl of liveTemplates(world)) out.push({ tpl, live: await liveShares(world, tpl) })
  return out
}

/** The step's share measures: minimum, histogram (index = live shares) and templates under t. */
export function shareSummary (counts: ReadonlyArray<{ live: number }>, params: { t: number, n: number }): Pick<StepRecord, 'liveShares' | 'unrecoverable'> {
  const histogram = new Array<number>(params.n + 1).fill(0)
  for (const c of counts) histogram[Math.min(c.live, params.n)]++
  const min = counts.length === 0 ? 0 : Math.min(...counts.map((c) => c.live))
  return { liveShares: { min, histogram }, unrecoverable: counts.filter((c) => c.live < params.t).length }
}

/** One share a node holds, with where it is. */
interface Holding { node: number, site: string, share: Share }

/** Every share held by a readable node's store, by template id (hex). The caller wipes them ({@link wipeHoldings}). */
export async function readHoldings (world: World): Promise<Map<string, Holding[]>> {
  const byTemplate = new Map(world.templates.map((t) => [toHex(t.slot), t]))
  const out = new Map<string, Holding[]>()
  for (let i = 0; i < world.net.nodes.length; i++) {
    if (!world.injector.isUp(i)) continue
    const node = world.net.nodes[i]
    for await (const slot of node.heldSlots()) {
      const tpl = byTemplate.get(toHex(slot))
      const held = tpl !== undefined ? await node.heldShare(slot).catch(() => undefined) : undefined
      if (tpl === undefined || held === undefined) continue
      const key = toHex(tpl.templateId)
      out.set(key, [...(out.get(key) ?? []), { node: i, site: siteOf(world, i), share: { x: held.x, bytes: held.share } }])
    }
  }
  return out
}

/** Wipe every share read by {@link readHoldings}. */
export function wipeHoldings (holdings: Map<string, Holding[]>): void {
  for (const list of holdings.values()) for (const h of list) wipe(h.share.bytes)
}

/** Whether `shares` combine into a secret that decrypts as the template's envelope. */
async function reconstructs (tpl: SimTemplate, shares: Share[]): Promise<boolean> {
  if (shares.length < 2) return false
  let secret: Uint8Array | undefined
  let template: Uint8Array | undefined
  try {
    secret = await combineShares(shares)
    const { templateId, modality, model } = tpl.manifest.body
    template = decryptTemplate(secret, { templateId, modality, model })
    return true
  } catch {
    return false
  } finally {
    wipe(secret, template)
  }
}

/** The coalition's measures: the most shares of one template its sites hold, and the templates it reconstructs (by trying). */
async function coalitionExposure (world: World, holdings: Map<string, Holding[]>, sites: string[]): Promise<CoalitionFinding> {
  const members = new Set(sites)
  let maxShares = 0
  let atThreshold = 0
  const ids: string[] = []
  for (const tpl of world.templates) {
    const key = toHex(tpl.templateId)
    const shares = (holdings.get(key) ?? []).filter((h) => members.has(h.site)).map((h) => h.share)
    maxShares = Math.max(maxShares, shares.length)
    if (shares.length >= tpl.manifest.body.t) atThreshold++
    if (await reconstructs(tpl, shares)) ids.push(key)
  }
  return { sites, maxShares, reconstructed: ids.length, ids, atThreshold }
}

/** One coalition's exposure, with the ids it reconstructed and how many templates it holds t shares of. */
export type CoalitionFinding = Exposure['coalitions'][number] & { ids: string[], atThreshold: number }

/** Exposure read from the stores, and the ids of templates some coalition reconstructed. */
export async function measureExposure (world: World): Promise<{ exposure: Exposure, reconstructedIds: Set<string>, coalitions: CoalitionFinding[] }> {
  const holdings = await readHoldings(world)
  try {
    const sites = [...new Set(world.net.nodes.map((_, i) => siteOf(world, i)))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    const perSite = sites.map((site) => ({ site, maxShares: 0 }))
    let maxPerNode = 0
    for (const list of holdings.values()) {
      const nodes = new Map<number, number>()
      for (const h of list) nodes.set(h.node, (nodes.get(h.node) ?? 0) + 1)
      maxPerNode = Math.max(maxPerNode, ...nodes.values())
      for (const p of perSite) p.maxShares = Math.max(p.maxShares, list.filter((h) => h.site === p.site).length)
    }
    const reconstructedIds = new Set<string>()
    const found: CoalitionFinding[] = []
    for (const c of world.params.coalitions) found.push(await coalitionExposure(world, holdings, c))
    for (const f of found) for (const id of f.ids) reconstructedIds.add(id)
    const coalitions = found.map((f) => ({ sites: f.sites, maxShares: f.maxShares, reconstructed: f.reconstructed }))
    const maxPerSite = Math.max(0, ...perSite.map((p) => p.maxShares))
    return { exposure: { maxPerNode, maxPerSite, perSite, coalitions }, reconstructedIds, coalitions: found }
  } finally {
    wipeHoldings(holdings)
  }
}
