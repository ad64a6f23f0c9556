/**
 * The maintenance loop for one tenant's templates: each pass audits every
 * holder of every template (possession proofs, client/audit.ts), counts a
 * holder as lost when it failed or did not answer its audit, or the roster
 * says it is revoked, retiring or gone, and repairs a template whose live
 * holders have fallen to the policy floor; templates not refreshed for
 * `refreshEveryMs` are refreshed. Refresh and repair are injected
 * (client/maintain.ts provides them), so one pass can be driven by the
 * simulator once per simulated hour and tested with stand-ins.
 *
 * @module
 */
import { toHex } from '../crypto/bytes.ts'
import type { HolderAudit } from './audit.ts'
import type { MaintenanceReport } from './maintain.ts'

export type { MaintenanceReport }

/** Why a holder counts as lost. */
export type LossReason = 'failed-audit' | 'no-answer' | 'revoked' | 'retiring' | 'not-admitted'

/** What the maintainer needs: the templates, audits, the roster's view of holders, and the two operations. */
export interface MaintainerDeps {
  templates: () => Uint8Array[] | Promise<Uint8Array[]>
  /** Audit every holder of a template (one outcome per share, in manifest order). */
  audit: (templateId: Uint8Array) => Promise<HolderAudit[]>
  /** The roster's word on a holder. */
  standing: (peer: string) => 'admitted' | 'revoked' | 'retiring' | 'unknown'
  refresh: (templateId: Uint8Array) => Promise<MaintenanceReport>
  repair: (templateId: Uint8Array, options: { lost: string[] }) => Promise<MaintenanceReport>
  /** Repair when live holders fall to n − floorGap or fewer. @default 1 (the floor is n − 1) */
  floorGap?: number
  /** Refresh each template this often; none when absent. */
  refreshEveryMs?: number
  now?: () => number
}

/** One template's outcome in a pass. */
export interface TemplateDecision {
  templateId: string
  live: number
  n: number
  lost: Array<{ holder: string, reason: LossReason }>
  action: 'none' | 'repair' | 'refresh'
  report?: MaintenanceReport
  error?: string
}

/** What one pass did, with counts for the summary line and the maintainer's metrics. */
export interface PassReport {
  templates: TemplateDecision[]
  audits: { passed: number, failed: number, noAnswer: number, unauditable: number }
  /** Holders counted as lost, by why. */
  lost: Record<LossReason, number>
  /** Repairs and refreshes that completed. */
  repairs: number
  refreshes: number
  /** Repairs and refreshes that were attempted and failed (each is also one of `errors`). */
  failed: { repairs: number, refreshes: number }
  /** Templates whose pass ended in an error (a failed audit lookup, repair or refresh). */
  errors: number
  /** Maintenance traffic of the completed repairs and refreshes. */
  bytes: number
}

/** Every {@link LossReason}, in order. */
export const LOSS_REASONS: readonly LossReason[] = ['failed-audit', 'no-answer', 'revoked', 'retiring', 'not-admitted']

function emptyReport (): PassReport {
  return {
    templates: [],
    audits: { passed: 0, failed: 0, noAnswer: 0, unauditable: 0 },
    lost: { 'failed-audit': 0, 'no-answer': 0, revoked: 0, retiring: 0, 'not-admitted': 0 },
    repairs: 0,
    refreshes: 0,
    failed: { repairs: 0, refreshes: 0 },
    errors: 0,
    bytes: 0
  }
}

function lossOf (a: HolderAudit, standing: ReturnType<MaintainerDeps['standing']>): LossReason | undefined {
  if (standing === 'revoked') return 'revoked'
  if (standing === 'retiring') return 'retiring'
  if (standing === 'unknown') return 'not-admitted'
  if (a.outcome === 'failed') return 'failed-audit'
  if (a.outcome === 'no-answer') return 'no-answer'
  return undefined
}

/** Runs maintenance passes over a tenant's templates. */
export class Maintainer {
  private readonly deps: MaintainerDeps
  /** When each template was last refreshed or repaired (a repair re-randomises too). */
  private readonly lastRenewed = new Map<string, number>()

  constructor (deps: MaintainerDeps) {
    this.deps = deps
  }

  /** One pass over every template; a template's failure is recorded in its decision and never stops the pass. */
  async pass (): Promise<PassReport> {
    const report = emptyReport()
    for (const id of await this.deps.templates()) {
      const d = await this.one(id, report)
      if (d.error !== undefined) report.errors++
      if (d.error !== undefined && d.action !== 'none') report.failed[d.action === 'repair' ? 'repairs' : 'refreshes']++
      for (const l of d.lost) report.lost[l.reason]++
      if (d.report !== undefined) report.bytes += d.report.bytes
      report.templates.push(d)
    }
    return report
  }

  private async one (id: Uint8Array, report: PassReport): Promise<TemplateDecision> {
    const hex = toHex(id)
    const decision: TemplateDecision = { templateId: hex, live: 0, n: 0, lost: [], action: 'none' }
    try {
      const audits = await this.deps.audit(id)
      decision.n = audits.length
      for (const a of audits) {
        this.count(a, report)
        const reason = lossOf(a, this.deps.standing(a.holder))
        if (reason !== undefined) decision.lost.push({ holder: a.holder, reason })
      }
      decision.live = decision.n - decision.lost.length
      const now = (this.deps.now ?? Date.now)()
      if (decision.lost.length > 0 && decision.live <= decision.n - (this.deps.floorGap ?? 1)) {
        decision.action = 'repair'
        decision.report = await this.deps.repair(id, { lost: decision.lost.map((l) => l.holder) })
        report.repairs++
        this.lastRenewed.set(hex, now)
      } else if (this.deps.refreshEveryMs !== undefined && now - (this.lastRenewed.get(hex) ?? -Infinity) >= this.deps.refreshEveryMs) {
        decision.action = 'refresh'
        decision.report = await this.deps.refresh(id)
        report.refreshes++
        this.lastRenewed.set(hex, now)
      }
    } catch (e) {
      decision.error = `${(e as { code?: string }).code ?? 'ERR_INTERNAL'}: ${(e as Error).message.split('\n')[0]}`
    }
    return decision
  }

  private count (a: HolderAudit, report: PassReport): void {
    if (a.outcome === 'passed') report.audits.passed++
    else if (a.outcome === 'failed') report.audits.failed++
    else if (a.outcome === 'no-answer') report.audits.noAnswer++
    else report.audits.unauditable++
  }
}

/** The one-line summary of a pass, for the maintain command's output. */
export function summarisePass (r: PassReport): string {
  const a = r.audits
  return `templates ${r.templates.length} · audits passed ${a.passed} failed ${a.failed} no-answer ${a.noAnswer} · ` +
    `repairs ${r.repairs} · refreshes ${r.refreshes} · errors ${r.errors} · bytes ${r.bytes}`
}
