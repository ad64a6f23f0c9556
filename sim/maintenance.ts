/**
 * Share maintenance inside a simulation: the tenant's own maintainer
 * (client/maintainer.ts) run over the simulator's templates every few
 * simulated hours, with real possession audits, real repairs over
 * `/bioshard/maintain/1.0.0` and the roster's word on each holder. A repaired
 * template's manifest (seq+1, the new holder listed) replaces the one the
 * measures read, so live shares are counted against what the tenant signed.
 * Refresh is not scheduled here: it changes share bytes, not counts.
 *
 * @module
 */
import { Maintainer, type PassReport } from '../client/maintainer.ts'
import { auditTemplate } from '../client/audit.ts'
import { refreshTemplate, repairTemplate } from '../client/maintain.ts'
import type { ClientContext } from '../client/context.ts'
import { toHex } from '../crypto/bytes.ts'
import { liveTemplates, type World } from './world.ts'
import type { StepMaintenance } from './types.ts'

/**
 * Repair a template once this many of its holders are lost (failed or
 * unanswered audits, revoked, gone): two where n − t allows it, so that a
 * holder that is only restarting does not send every template it holds
 * through a repair while t live helpers remain; one when n − t = 1.
 */
export function simFloorGap (t: number, n: number): number {
  return Math.max(1, Math.min(2, n - t))
}

/** The tenant's maintainer over the run's live templates. */
export function simMaintainer (world: World, ctx: ClientContext): Maintainer {
  const roster = ctx.roster
  return new Maintainer({
    templates: () => liveTemplates(world).map((t) => t.templateId),
    audit: async (id) => await auditTemplate(ctx, id),
    standing: (peer) => roster.isRevoked(peer) ? 'revoked' : roster.isRetiring(peer) ? 'retiring' : roster.isAdmitted(peer) ? 'admitted' : 'unknown',
    refresh: async (id) => await refreshTemplate(ctx, id),
    repair: async (id, options) => await repairTemplate(ctx, id, options),
    floorGap: simFloorGap(world.params.t, world.params.n)
  })
}

/**
 * Replaced holders that are running reconcile their shares now: what their
 * hourly pass (node/reconcile.ts) does, run where the simulation needs it,
 * so one a repair gave up on while it was cut off destroys its old share.
 * Holders that are down reconcile as they restart (sim/injector.ts).
 */
async function reconcileReplaced (world: World, nodes: ReadonlySet<number>): Promise<void> {
  for (const i of [...nodes].sort((a, b) => a - b)) {
    if (world.injector.isUp(i)) await world.net.nodes[i].reconcile()
  }
}

/** Run one pass; repaired templates take their new manifest, and the holders they replaced reconcile. */
export async function maintainOnce (world: World, ctx: ClientContext, maintainer: Maintainer): Promise<StepMaintenance> {
  const pass: PassReport = await maintainer.pass()
  const byId = new Map(liveTemplates(world).map((t) => [toHex(t.templateId), t]))
  let repairs = 0
  const replaced = new Set<number>()
  for (const d of pass.templates) {
    if (d.action !== 'repair' || d.report === undefined) continue
    const tpl = byId.get(d.templateId)
    const next = ctx.manifests.cached(d.report.templateId)
    if (tpl !== undefined && next !== undefined) { tpl.manifest = next; repairs++ }
    for (const r of d.report.replaced) {
      const i = world.indexOf.get(r.from)
      if (i !== undefined) replaced.add(i)
    }
  }
  await reconcileReplaced(world, replaced)
  return {
    repairs,
    failedRepairs: pass.templates.filter((d) => d.action === 'repair' && d.error !== undefined).length,
    audits: pass.audits.passed + pass.audits.failed + pass.audits.noAnswer,
    bytes: pass.bytes
  }
}
