/**
 * Holder side of `/bioshard/maintain/1.0.0`: proactive refresh and repair of
 * one template's shares (protocol/maintain.ts says what each message is).
 * A coordinator (the tenant, or a maintainer it certified) opens a round and
 * steers it; holders exchange share material only among themselves, over
 * noise streams, and never with the coordinator. The round's state lives in
 * node/maintain/ (bounded per coordinator and in all, ended on commit, abort
 * or timeout); this module checks the envelope and routes each kind.
 *
 * @module
 */
import {
  decodeMaintainMessage, signMaintainMessage, COORDINATOR_KINDS, type AbortBody, type OpenBody, type CommitBody, type MaintainMessage
} from '../../protocol/maintain.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex, wipe } from '../../crypto/bytes.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import type { RequestContext, RequestHandler } from '../../net/rpc.ts'
import { checkEnvelope } from './context.ts'
import { MaintainSessions, type SessionBounds } from '../maintain/sessions.ts'
import { coordinatorKey, roundFor, type OpenDeps } from '../maintain/open.ts'
import { coordinatorRound, startRound, takePart, commitRound, headerOf, type StepDeps } from '../maintain/steps.ts'
import { kindOfOpen, roundEndOf, NO_EVENTS } from '../maintain/events.ts'

export type { PeerRequest } from '../maintain/steps.ts'

/** What the maintain handler uses: the open checks' and the steps' dependencies. */
export type MaintainHandlerDeps = OpenDeps & StepDeps

/**
 * The handler of `/bioshard/maintain/1.0.0`, with the node's table of open rounds.
 * Requests received and answers sent are counted as traffic, and every round's
 * end is reported, to `deps.events`.
 *
 * @param deps - what the handler uses, and nothing else
 * @param sessions - the open rounds (a fresh bounded table reporting to `deps.events` by default)
 * @example await serve(host, PROTOCOL.MAINTAIN, maintainHandler({ self, site, key, anchor, store, manifests, replay, now, peerRequest }), options)
 */
export function maintainHandler (deps: MaintainHandlerDeps, sessions = reportingSessions(deps)): RequestHandler {
  const events = deps.events ?? NO_EVENTS
  return async (bytes, ctx) => {
    events.traffic('received', bytes.length)
    try {
      const answer = await handleMaintain(deps, sessions, bytes, ctx)
      events.traffic('sent', encodeCanonical(answer).length)
      return answer
    } finally {
      // A deal or sum carries share material.
      wipe(bytes)
    }
  }
}

/**
 * A bounded table of rounds whose every end goes to `deps.events`.
 *
 * @param deps - where ends are reported
 * @param bounds - the table's bounds (node/maintain/limits.ts by default)
 * @example maintainHandler(components, reportingSessions(components, { ttlMs: 1_000 }))
 */
export function reportingSessions (deps: Pick<MaintainHandlerDeps, 'events'>, bounds: SessionBounds = {}): MaintainSessions {
  const events = deps.events ?? NO_EVENTS
  return new MaintainSessions(bounds, (s, outcome, reason) => { events.ended(roundEndOf(s, outcome, reason)) })
}

/**
 * Serve one maintain message.
 *
 * @throws {BioshardError} a refusal with its code (ERR_DECODE, ERR_TOO_LARGE, ERR_STALE, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE,
 *   ERR_REPLAY, ERR_NOT_FOUND, ERR_NOT_HOLDER, ERR_CONFLICT, ERR_BUSY, ERR_BAD_REQUEST, ERR_ERASED, …)
 */
async function handleMaintain (deps: MaintainHandlerDeps, sessions: MaintainSessions, bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
  const msg = decodeMaintainMessage(bytes)
  const b = msg.body
  ctx.note.subject = toHex(b.templateId)
  ctx.note.action = `maintain ${b.kind}`
  try {
    if (b.kind === 'open') return await openRound(deps, sessions, msg, ctx)
    checkEnvelope(b, ctx, deps.now())
    if (b.kind === 'deal' || b.kind === 'sum') return signMaintainMessage(takePart(deps, sessions, msg, ctx.peer), deps.key)
    if (!COORDINATOR_KINDS.includes(b.kind)) refuse('ERR_BAD_REQUEST', `a '${b.kind}' is an answer, not a request`)
    const s = coordinatorRound(deps, sessions, msg, ctx.peer)
    ctx.note.action = `maintain ${b.kind} ${s.init.op} as ${s.init.role}`
    if (b.kind === 'start') return signMaintainMessage(await startRound(deps, s), deps.key)
    if (b.kind === 'commit') return signMaintainMessage(await commitRound(deps, sessions, s, (b as CommitBody).manifest), deps.key)
    const answer = signMaintainMessage({ ...headerOf(deps, s), kind: 'done', x: s.init.x, sent: 0 }, deps.key)
    sessions.close(b.round, `aborted by the coordinator: ${(b as AbortBody).reason}`, 'aborted')
    return answer
  } finally {
    if ('part' in b) wipe(b.part)
    wipe(msg.bytes)
  }
}

/**
 * `open`: check the coordinator and the round, and join it. A refusal is
 * counted by the part this node was asked to take, then rethrown.
 */
async function openRound (deps: MaintainHandlerDeps, sessions: MaintainSessions, msg: MaintainMessage, ctx: RequestContext): Promise<unknown> {
  const b = msg.body as OpenBody
  try {
    const now = deps.now()
    checkEnvelope(b, ctx, now)
    // A replay is refused before anything is verified again (the nonce is recorded only once the signature is).
    deps.replay.refuseSeen(b.cert?.body.key ?? b.tenant, b.nonce, now)
    const key = coordinatorKey(b, now)
    checkSigned(SIG.MAINTAIN, msg, key, 'maintain open')
    deps.replay.check(key, b.nonce, now)
    const init = await roundFor(deps, b, { peer: ctx.peer, key }, now)
    ctx.note.action = `maintain open ${b.op} as ${init.role}`
    const s = sessions.open(init)
    return signMaintainMessage({ ...headerOf(deps, s), kind: 'join', x: s.init.x }, deps.key)
  } catch (e) {
    deps.events?.refused(kindOfOpen(b, deps.self))
    throw e
  }
}
