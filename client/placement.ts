/**
 * Where an enrolment's shares go: the placement rule (protocol/placement.ts)
 * over the roster, one holder per site, skipping holders that do not accept
 * a dial, and never a retiring node (a revoked one is out of the roster).
 * Reachability is checked lazily in placement order, so one dead
 * node costs one dial, not a dial to every node.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { BioshardError } from '../errors.ts'
import { choosePlacement, type Candidate } from '../protocol/placement.ts'
import type { ClientContext } from './context.ts'
import { CONNECT_TIMEOUT_MS } from './constants.ts'

async function reachable (ctx: ClientContext, peer: string): Promise<boolean> {
  try {
    await ctx.host.dial(peerIdFromString(peer), { signal: AbortSignal.timeout(Math.max(CONNECT_TIMEOUT_MS, ctx.timeouts.requestMs)) })
    return true
  } catch {
    return false
  }
}

/**
 * Pick n holders at distinct sites, closest-first per share, skipping unreachable ones.
 *
 * @param xs - the shares' x, one holder each
 * @param exclude - peers not to pick (holders that failed an earlier attempt)
 * @throws {BioshardError} ERR_NOT_ENOUGH_SITES when fewer than n distinct sites are known or reachable
 */
export async function place (ctx: ClientContext, templateId: Uint8Array, xs: number[], exclude: ReadonlySet<string>): Promise<Candidate[]> {
  const candidates = ctx.roster.list().filter((e) => e.retiring === undefined).map((e) => ({ peer: e.peer, site: e.site })).filter((c) => !exclude.has(c.peer))
  const sites = new Set(candidates.map((c) => c.site))
  if (sites.size < xs.length) {
    throw new BioshardError('ERR_NOT_ENOUGH_SITES', `n = ${xs.length} shares need ${xs.length} distinct sites; the roster has ${sites.size}`)
  }
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
