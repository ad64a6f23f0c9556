/**
 * A holder's reading of one `/bioshard/maintain/1.0.0` request, for the fuzz
 * targets: decode, then every check node/handlers/maintain.ts runs before it
 * touches its store, in its order and with its own functions. An `open`:
 * envelope, coordinator key and certificate, signature, fresh nonce,
 * checkOpen, then each party's session as the node's bounded table makes it.
 * A `deal` or `sum`: takePart into a real session of the party it is for. A
 * `start`, `commit` or `abort`: coordinatorRound, and a commit's manifest
 * through checkNext at every party it is for, with what each reported.
 *
 * The rounds a holder has joined are the ones the world lists (captured, or
 * built by the hostile target); a party holding a share gets stand-in share
 * bytes of the round's length, since none of these checks reads a share's
 * value. The connection is taken to be the peer the message names, the
 * strongest position a sender can be in: the signatures and the manifest's
 * holders decide from there. A store touched before the checks end is a
 * finding (the stand-in store throws an untyped error).
 *
 * @module
 */
import { decodeMaintainMessage, COORDINATOR_KINDS, type MaintainMessage, type OpenBody, type MaintainBody } from '../../protocol/maintain.ts'
import { manifestToWire } from '../../protocol/manifest.ts'
import { checkSigned, toWire } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { slotKey } from '../../protocol/ownership.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { equalBytes, toHex } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { checkEnvelope } from '../../node/handlers/context.ts'
import { coordinatorKey, checkOpen } from '../../node/maintain/open.ts'
import { coordinatorRound, takePart, checkNext, type StepDeps } from '../../node/maintain/steps.ts'
import { MaintainSessions } from '../../node/maintain/sessions.ts'
import type { MaintainRole, NewCommitments, SessionInit } from '../../node/maintain/session.ts'
import { ReplayCache } from '../../net/policy/replay-cache.ts'
import { REPLAY_WINDOW_MS } from '../../node/constants.ts'
import type { RequestContext } from '../../net/rpc.ts'
import { raw, sameSigned, CHECKED } from './targets-wire.ts'
import { consistent } from './target.ts'

/** Refusals of a holder reading a maintain request before its store: the decoder's, the checks', the round table's. */
export const HOLDER_REFUSALS = [...CHECKED, 'ERR_STALE', 'ERR_REPLAY', 'ERR_NOT_FOUND', 'ERR_BAD_REQUEST', 'ERR_ERASED'] as const

/** One round a holder has joined, as the world knows it. */
export interface RoundView {
  open: OpenBody
  /** The peer that opened the round and the key its steps are signed with. */
  coordinator: { peer: string, key: Uint8Array }
  /** The holders' clock while the round runs. */
  now: number
  /** Each party's new commitments, as its `ready` reported them (by peer). */
  reported: Map<string, NewCommitments>
}

/** What the holders know: the trust anchor, the rounds they joined (by round id in hex), a clock for strangers' rounds. */
export interface HolderWorld {
  anchor: TrustAnchor
  rounds: Map<string, RoundView>
  now: number
  /** Length of the shares in the rounds. */
  shareBytes: number
}

/** One party of a round: where it is and what it does. */
interface Party { peer: string, x: number, site: string, role: MaintainRole }

/** Every party of a round as `open` describes it: every holder (refresh); helpers, observers and the new holder (repair). */
export function partiesOf (open: OpenBody): Party[] {
  const shares = open.manifest.body.shares
  if (open.op === 'refresh') return shares.map((e) => ({ peer: e.holder, x: e.x, site: e.site, role: 'holder' }))
  const listed: Party[] = shares.map((e) => ({ peer: e.holder, x: e.x, site: e.site, role: open.helpers.includes(e.x) ? 'helper' : 'observer' }))
  return [...listed, { peer: open.newHolder as string, x: open.newX as number, site: open.newSite as string, role: 'new' }]
}

/** The session a party starts at `open` (a holder or helper with stand-in share bytes). */
function initFor (open: OpenBody, p: Party, coordinator: RoundView['coordinator'], shareBytes: number): SessionInit {
  const m = open.manifest.body
  const repair = open.op === 'repair' ? { newX: open.newX as number, newHolder: open.newHolder as string } : {}
  const slot = slotKey(m.tenant, m.templateId)
  const { round, op, manifest, helpers } = open
  const init: SessionInit = { round, slot, op, role: p.role, coordinator, manifest, x: p.x, helpers, ...repair }
  if (p.role === 'holder' || p.role === 'helper') init.share = { x: p.x, bytes: new Uint8Array(shareBytes).fill(p.x) }
  return init
}

/** A store that must not be reached: these checks all come before it. */
const untouched = async (): Promise<never> => { throw new Error('the store was reached before the maintain checks ended') }

/** The handler's dependencies at party `self`: a fresh replay cache (each input is a new request), the world's clock. */
function depsAt (world: HolderWorld, self: Party | undefined, now: number): StepDeps {
  return {
    self: self?.peer ?? '',
    site: self?.site ?? '',
    key: NODE_KEY,
    anchor: world.anchor,
    store: { put: untouched, confirm: untouched, replace: untouched, putManifest: untouched },
    manifests: { drop: () => { throw new Error('the manifest cache was reached before the maintain checks ended') } },
    replay: new ReplayCache(REPLAY_WINDOW_MS),
    now: () => now,
    peerRequest: untouched
  }
}
const NODE_KEY = generateSigningKey().key

/** A decoded message's body in wire form re-encodes to exactly its signed bytes. */
export function sameBody (msg: MaintainMessage): void {
  const b = msg.body
  const wire: Record<string, unknown> = { ...b }
  if ('manifest' in b) wire.manifest = manifestToWire(b.manifest)
  if ('cert' in b && b.cert !== undefined) wire.cert = toWire(b.cert)
  consistent(equalBytes(encodeCanonical(wire), msg.bytes), `maintain ${b.kind}: the decoded body re-encodes differently`)
}

function checkOpenAt (world: HolderWorld, msg: MaintainMessage, now: number): void {
  const b = msg.body as OpenBody
  const key = coordinatorKey(b, now)
  checkSigned(SIG.MAINTAIN, msg, key, 'maintain open')
  new ReplayCache(REPLAY_WINDOW_MS).check(key, b.nonce, now)
  checkOpen(world.anchor, b, now)
  const sessions = new MaintainSessions()
  for (const p of partiesOf(b)) {
    try {
      sessions.open(initFor(b, p, { peer: b.sender, key }, world.shareBytes))
    } finally {
      sessions.close(b.round)
    }
  }
}

/** The party a part is sent to: the one at `toX` (a deal) or the new holder (a sum); else the first listed, which refuses it. */
function recipientOf (r: RoundView, b: MaintainBody): Party {
  const all = partiesOf(r.open)
  const to = b.kind === 'deal' ? all.find((p) => p.x === b.toX) : all.find((p) => p.role === 'new')
  return to ?? all[0]
}

function checkPartAt (world: HolderWorld, msg: MaintainMessage, now: number): void {
  const r = world.rounds.get(toHex(msg.body.round))
  const to = r === undefined ? undefined : recipientOf(r, msg.body)
  const sessions = new MaintainSessions()
  try {
    if (r !== undefined && to !== undefined) sessions.open(initFor(r.open, to, r.coordinator, world.shareBytes))
    takePart(depsAt(world, to, now), sessions, msg, msg.body.sender)
  } finally {
    sessions.close(msg.body.round)
  }
}

function checkStepAt (world: HolderWorld, msg: MaintainMessage, now: number): void {
  const b = msg.body
  const r = world.rounds.get(toHex(b.round))
  const parties = r === undefined ? [] : partiesOf(r.open)
  const sessions = new MaintainSessions()
  try {
    // The round as an observer holds it: which party hears a step does not change these checks.
    if (r !== undefined) sessions.open(initFor(r.open, { ...parties[0], role: 'observer' }, r.coordinator, world.shareBytes))
    coordinatorRound(depsAt(world, parties[0], now), sessions, msg, b.sender)
    if (b.kind !== 'commit' || r === undefined) return
    // Every party the commit is for: all but an observer the new manifest no longer lists (a holder the repair replaces).
    const listed = new Set(b.manifest.body.shares.map((e) => e.holder))
    for (const p of parties.filter((q) => q.role !== 'observer' || listed.has(q.peer))) {
      checkNext(depsAt(world, p, now), { init: initFor(r.open, p, r.coordinator, 0), reported: r.reported.get(p.peer) }, b.manifest)
    }
  } finally {
    sessions.close(b.round)
  }
}

/**
 * Read `bytes` as a holder of `world` would, up to its store.
 *
 * @throws {BioshardError} one of {@link HOLDER_REFUSALS}; {InconsistentError} when an accepted message re-encodes differently
 */
export function holderReads (world: HolderWorld, bytes: Uint8Array): void {
  const msg = decodeMaintainMessage(bytes)
  sameSigned(msg, raw(bytes), 'maintain message')
  sameBody(msg)
  const b = msg.body
  const now = world.rounds.get(toHex(b.round))?.now ?? world.now
  checkEnvelope(b, { peer: b.sender } as unknown as RequestContext, now)
  if (b.kind === 'open') return checkOpenAt(world, msg, now)
  if (b.kind === 'deal' || b.kind === 'sum') return checkPartAt(world, msg, now)
  if (!COORDINATOR_KINDS.includes(b.kind)) refuse('ERR_BAD_REQUEST', `a '${b.kind}' is an answer, not a request`)
  checkStepAt(world, msg, now)
}
