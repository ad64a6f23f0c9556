/**
 * The end of a run: every crashed node restarted and every link healed (a
 * template is lost when it stays unrecoverable after that: departures and
 * Byzantine holders remain), the live shares measured once more, every measure
 * confirmed by trying (sim/checks.ts), exposure and coalitions read from the
 * stores (sim/measure.ts), erasures checked (sim/erasure.ts), and the
 * invariants (sim/invariants.ts), summed up as the run's counts.
 *
 * @module
 */
import { liveShareCounts, measureExposure } from './measure.ts'
import { confirmRecoverability, auditByzantine } from './checks.ts'
import { checkErasures, type ErasedCapture } from './erasure.ts'
import { checkInvariants } from './invariants.ts'
import type { World } from './world.ts'
import type { SimTenant } from './tenant.ts'
import type { Rng } from './rng.ts'
import type { Progress } from './engine.ts'
import type { Exposure, InvariantCheck, SimCounts, StepRecord } from './types.ts'

/** What the run loop hands over besides the world. */
export interface Tally { enrolled: number, enrollFailed: number, captured: ErasedCapture[] }

/** The parts of the run the checks use. */
export interface Ending { world: World, tenant: SimTenant, rng: Rng, steps: StepRecord[], report: (p: Progress) => void }

/** Run the checks and sum up the counts. */
export async function finish (e: Ending, tally: Tally): Promise<{ counts: SimCounts, exposure: Exposure, invariants: InvariantCheck[] }> {
  const { world, tenant } = e
  const total = 4
  e.report({ phase: 'check', done: 0, total, message: 'healing every link and restarting crashed nodes, then confirming recoverability by verifying' })
  // What is lost is what stays lost: crashed nodes come back and links heal first (departed nodes stay gone, liars keep lying).
  await world.injector.healAll()
  await tenant.ready(world.net.nodes.flatMap((n, i) => world.injector.isUp(i) ? [n.cert.body.peer] : []))
  const live = await liveShareCounts(world)
  const confirmation = await confirmRecoverability(tenant.ctx, live, world.params.t, e.rng.fork('confirm'))
  e.report({ phase: 'check', done: 1, total, message: 'auditing Byzantine holders' })
  const byzantine = await auditByzantine(world, tenant.ctx, tenant.auditor, e.rng.fork('byzantine'))
  e.report({ phase: 'check', done: 2, total, message: 'reading exposure and combining coalitions' })
  const { exposure, reconstructedIds, coalitions } = await measureExposure(world)
  e.report({ phase: 'check', done: 3, total, message: 'checking erasures' })
  const eraseFindings = await checkErasures(world, tenant.auditor, tally.captured)
  e.report({ phase: 'check', done: 4, total })
  const erased = world.templates.filter((t) => t.erased).length
  const invariants = checkInvariants(world, { live, confirmation, coalitions, maxPerSite: exposure.maxPerSite, byzantine, erased, eraseFindings })
  const sum = (f: (s: StepRecord) => number): number => e.steps.reduce((a, s) => a + f(s), 0)
  const counts: SimCounts = {
    enrolled: tally.enrolled,
    enrollFailed: tally.enrollFailed,
    verifyAttempts: sum((s) => s.verify.attempts),
    verified: sum((s) => s.verify.accepted),
    verifyFailed: sum((s) => s.verify.failed),
    lost: confirmation.lost.length,
    reconstructed: reconstructedIds.size,
    erased,
    eraseIncomplete: eraseFindings.length,
    byzantineNamed: byzantine.filter((b) => b.named).length
  }
  return { counts, exposure, invariants }
}
