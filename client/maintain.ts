/**
 * Share maintenance as the tenant coordinates it: proactive refresh (every
 * holder re-randomises its share with a sharing of zero) and repair (t
 * helpers give a new holder at a new site its share through masked sums).
 * Each is one `/bioshard/maintain/1.0.0` round (client/maintain-round.ts)
 * ending in a tenant-signed manifest seq + 1 that holders take with `commit`
 * and the DHT gets afterwards. The coordinator sees commitments only; no
 * party ever holds t shares or the template (crypto/refresh.ts, crypto/repair.ts).
 *
 * A round that fails before its commit is aborted: every holder keeps its old
 * share and drops the pending one.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { signManifest, type Manifest, type ShareEntry } from '../protocol/manifest.ts'
import type { Candidate } from '../protocol/placement.ts'
import { logger } from '../net/log.ts'
import { place } from './placement.ts'
import { CoordinatorRound, type Answer } from './maintain-round.ts'
import type { ClientContext, Credential } from './context.ts'

const log = logger('client:maintain')

/** What one refresh or repair did. */
export interface MaintenanceReport {
  templateId: Uint8Array
  action: 'refresh' | 'repair'
  /** The seq of the manifest the round published. */
  seq: number
  /** Maintenance traffic of the round(s), all parties: every request and answer, coordinator's and holders'. */
  bytes: number
  /** The holders the new manifest lists. */
  holders: string[]
  /** Repair: each lost holder and the node that now holds a share in its place. */
  replaced: Array<{ from: string, to: string }>
  /**
   * Repair: holders the new manifest lists, with their unchanged share, that did not take its commit (they did not join
   * the round, or missed the commit): they serve the older manifest copy until they adopt the new one (node/reconcile.ts).
   */
  behind?: string[]
}

function tenantOf (ctx: ClientContext): Credential {
  if (ctx.tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; maintenance needs them')
  return ctx.tenant
}

async function current (ctx: ClientContext, templateId: Uint8Array): Promise<Manifest> {
  const m = await ctx.manifests.get(templateId, { signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
  if (m.body.state !== 'active') throw new BioshardError('ERR_ERASED', 'the template was erased')
  return m
}

function newCommitments (entry: ShareEntry, answer: Answer | undefined): ShareEntry {
  if (answer?.kind !== 'ready' || answer.x !== entry.x) throw new BioshardError('ERR_BAD_REQUEST', `holder of x ${entry.x} did not report its new share`)
  return { ...entry, commitment: answer.commitment, audit: answer.audit }
}

/** The next manifest (seq + 1) with these shares, signed by the tenant. */
function nextManifest (m: Manifest, shares: ShareEntry[], tenant: Credential): Manifest {
  return signManifest({ ...m.body, seq: m.body.seq + 1, shares: [...shares].sort((a, b) => a.x - b.x) }, tenant.key, tenant.cert)
}

/** Publish to the DHT; a failed put is logged (the holders already have the manifest). */
async function announce (ctx: ClientContext, next: Manifest): Promise<void> {
  try {
    await ctx.manifests.publish(next, AbortSignal.timeout(ctx.timeouts.dhtMs))
  } catch (e) {
    ctx.manifests.remember(next)
    log('could not publish manifest seq %d: %s', next.body.seq, (e as Error).message)
  }
}

/**
 * Refresh every share of a template: all n holders take part; the old shares stop combining with the new ones.
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED without tenant credentials; ERR_QUORUM_UNAVAILABLE when a holder does not
 *   take part (the round is aborted, old shares stay); ERR_ERASED for an erased template
 * @example const report = await refreshTemplate(ctx, templateId)
 */
export async function refreshTemplate (ctx: ClientContext, templateId: Uint8Array): Promise<MaintenanceReport> {
  const tenant = tenantOf(ctx)
  const m = await current(ctx, templateId)
  const peers = m.body.shares.map((s) => s.holder)
  const r = new CoordinatorRound(ctx, m, tenant)
  let next: Manifest
  try {
    await r.all(peers, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
    const ready = await r.all(peers, { kind: 'start' })
    next = nextManifest(m, m.body.shares.map((e) => newCommitments(e, ready.get(e.holder))), tenant)
  } catch (e) {
    await r.abort(peers, 'the refresh could not complete')
    throw e
  }
  await commitAll(ctx, r, peers, next)
  return { templateId, action: 'refresh', seq: next.body.seq, bytes: r.bytes, holders: next.body.shares.map((s) => s.holder), replaced: [] }
}

/** Commit at every party, then publish; holders that missed the commit are named in the error (their shares are stale: repair them). */
async function commitAll (ctx: ClientContext, r: CoordinatorRound, peers: readonly string[], next: Manifest): Promise<void> {
  const { failed } = await r.settle(peers, { kind: 'commit', manifest: next })
  if (failed.length === peers.length) {
    await r.abort(peers, 'no party took the commit')
    throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no party took the commit; the round was aborted')
  }
  await announce(ctx, next)
  if (failed.length > 0) {
    const missed = failed.map((f) => f.peer).join(', ')
    throw new BioshardError('ERR_QUORUM_UNAVAILABLE', `seq ${next.body.seq} is published, but ${missed} did not take it: repair them`)
  }
}

/**
 * The smallest x in 1..255 the manifest does not use. x-coordinates are
 * public (the manifest lists them) and any unused one is as good: taking the
 * smallest makes the new holder, which placement derives from x, the same
 * for the same roster.
 */
function freshX (m: Manifest): number {
  const used = new Set(m.body.shares.map((s) => s.x))
  for (let x = 1; x <= 255; x++) if (!used.has(x)) return x
  throw new BioshardError('ERR_BAD_REQUEST', 'no free x-coordinate is left')
}

/**
 * The new holder for share `x`, replacing `gone`: the placement rule over
 * nodes at sites no other share of the next manifest uses (lost holders not
 * yet replaced stay listed until their own round, so their sites count).
 * The lost holder's own site is taken only when no other site is free: a
 * lost holder that comes back still keeps its old share (docs/known-issues.md),
 * and a new share beside it would give that site two.
 */
async function newHolder (ctx: ClientContext, m: Manifest, x: number, avoid: { peers: ReadonlySet<string>, gone: string }): Promise<Candidate> {
  const usedSites = new Set(m.body.shares.filter((s) => s.holder !== avoid.gone).map((s) => s.site))
  const goneSite = m.body.shares.find((s) => s.holder === avoid.gone)?.site
  const excluding = (sites: ReadonlySet<string | undefined>): Set<string> =>
    new Set([...avoid.peers, ...m.body.shares.map((s) => s.holder), ...ctx.roster.list().filter((e) => sites.has(e.site)).map((e) => e.peer)])
  try {
    const [chosen] = await place(ctx, m.body.templateId, [x], excluding(new Set([...usedSites, goneSite])))
    return chosen
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ERR_NOT_ENOUGH_SITES') throw e
    const [chosen] = await place(ctx, m.body.templateId, [x], excluding(usedSites))
    return chosen
  }
}

/** A repair round's outcome: the new manifest, the new holder, the round's bytes, and the listed holders that did not take the commit. */
interface Repaired { next: Manifest, to: string, bytes: number, behind: string[] }

/**
 * One repair round replacing `gone` (helpers from holders not in `lost`); retries with other helpers when a party does not join.
 * Holders beyond the t helpers are asked to join as observers (to take the new manifest copy at the commit); one that does not
 * join does not block the repair, but it never takes the commit: it is reported in `behind`, not counted as having taken it.
 */
async function repairOne (ctx: ClientContext, m: Manifest, lost: ReadonlySet<string>, gone: string): Promise<Repaired> {
  const tenant = tenantOf(ctx)
  const remaining = m.body.shares.filter((s) => !lost.has(s.holder))
  const failed = new Set<string>()
  let bytes = 0
  for (;;) {
    const live = remaining.filter((s) => !failed.has(s.holder))
    if (live.length < m.body.t) throw new BioshardError('ERR_QUORUM_UNAVAILABLE', `${live.length} live holders answer; repair needs t = ${m.body.t}`)
    const helpers = live.slice(0, m.body.t)
    const x = freshX(m)
    const target = await newHolder(ctx, m, x, { peers: new Set([...lost, ...failed]), gone })
    const r = new CoordinatorRound(ctx, m, tenant)
    const open = { kind: 'open', op: 'repair', manifest: m, helpers: helpers.map((s) => s.x), newX: x, newHolder: target.peer, newSite: target.site } as const
    const must = [...helpers.map((s) => s.holder), target.peer]
    const observers = live.slice(m.body.t).map((s) => s.holder)
    const [core, extra] = await Promise.all([r.settle(must, open), r.settle(observers, open)])
    const parties = [...core.ok.keys(), ...extra.ok.keys()]
    // Only an open that timed out may have reached its node after the deadline; a refused or unreachable one did not.
    const late = [...core.failed, ...extra.failed].filter((f) => f.code === 'ERR_TIMEOUT').map((f) => f.peer)
    if (core.failed.length > 0) {
      await r.abort([...parties, ...late], 'a helper or the new holder did not join')
      bytes += r.bytes
      for (const f of core.failed) failed.add(f.peer)
      continue
    }
    const keep = m.body.shares.filter((s) => s.holder !== gone)
    const absent = extra.failed.map((f) => f.peer)
    const next = await finishRepair(ctx, r, { m, parties, absent: late, target, x, keep, tenant })
    const took = await lateCommit(r, late, next)
    return { next, to: target.peer, bytes: bytes + r.bytes, behind: absent.filter((p) => !took.includes(p)) }
  }
}

/**
 * Offer the commit to observers whose `open` timed out: one whose open arrived after its deadline joined all the same and
 * takes it now (and its round ends).
 *
 * @returns the observers that took it
 */
async function lateCommit (r: CoordinatorRound, late: readonly string[], next: Manifest): Promise<string[]> {
  if (late.length === 0) return []
  const { ok } = await r.settle(late, { kind: 'commit', manifest: next })
  return [...ok.keys()]
}

/** A joined repair round: the parties, the observers whose open timed out, the new holder and x, and the entries the next manifest keeps. */
interface RepairState { m: Manifest, parties: string[], absent: string[], target: Candidate, x: number, keep: ShareEntry[], tenant: Credential }

/** Start the joined round, build seq + 1 listing the new holder, commit it at the new holder first (durable), then the others. */
async function finishRepair (ctx: ClientContext, r: CoordinatorRound, s: RepairState): Promise<Manifest> {
  let next: Manifest
  try {
    const answers = await r.all(s.parties, { kind: 'start' })
    const entry = newCommitments({ x: s.x, holder: s.target.peer, site: s.target.site, commitment: new Uint8Array(32) }, answers.get(s.target.peer))
    next = nextManifest(s.m, [...s.keep, entry], s.tenant)
    await r.all([s.target.peer], { kind: 'commit', manifest: next })
  } catch (e) {
    await r.abort([...s.parties, ...s.absent], 'the repair could not complete')
    throw e
  }
  await commitAll(ctx, r, s.parties.filter((p) => p !== s.target.peer), next)
  return next
}

/**
 * Repair a template after holders were lost: for each lost holder, t live
 * holders give a new holder (chosen by the placement rule at a site no
 * remaining holder uses) a share at a new x; manifest seq + 1 lists it instead.
 *
 * @param options.lost - peer ids of the holders to replace (each must be listed in the manifest)
 * @throws {BioshardError} ERR_NOT_AUTHORISED without tenant credentials; ERR_NOT_HOLDER for a lost peer the manifest
 *   does not list; ERR_QUORUM_UNAVAILABLE when fewer than t helpers answer; ERR_NOT_ENOUGH_SITES when no new site is left
 * @example const report = await repairTemplate(ctx, templateId, { lost: [deadPeer] })
 */
export async function repairTemplate (ctx: ClientContext, templateId: Uint8Array, options: { lost: string[] }): Promise<MaintenanceReport> {
  tenantOf(ctx)
  if (!Array.isArray(options?.lost) || options.lost.length === 0) throw new TypeError('options.lost must list the peer ids to replace')
  let m = await current(ctx, templateId)
  const lost = new Set(options.lost)
  for (const p of lost) {
    if (!m.body.shares.some((s) => s.holder === p)) throw new BioshardError('ERR_NOT_HOLDER', `${p} is not a holder of that template`)
  }
  const replaced: Array<{ from: string, to: string }> = []
  let behind: string[] = []
  let bytes = 0
  for (const gone of lost) {
    const r = await repairOne(ctx, m, new Set([...lost].filter((p) => m.body.shares.some((s) => s.holder === p))), gone)
    m = r.next
    bytes += r.bytes
    replaced.push({ from: gone, to: r.to })
    // A holder behind an earlier round refuses to join the next one (its copy is older than the round's manifest): still behind.
    behind = [...new Set([...behind, ...r.behind])]
  }
  behind = behind.filter((p) => m.body.shares.some((s) => s.holder === p))
  return { templateId, action: 'repair', seq: m.body.seq, bytes, holders: m.body.shares.map((s) => s.holder), replaced, behind }
}
