/**
 * The steps of a maintenance round after `open`, at one node: `start`
 * (deal this node's parts to the other parties and answer with its new
 * commitments once every part is in), a part arriving from another holder
 * (`deal`, `sum`), `commit` (check the tenant-signed manifest seq + 1
 * against what this node reported, then swap or store the share durably and
 * end the round) and `abort`. Coordinator steps must come from the peer and
 * key that opened the round; parts only from the peer the round's manifest
 * lists at the sender's x, once per sender.
 *
 * @module
 */
import { checkManifest, entryFor, encodeManifest, type Manifest } from '../../protocol/manifest.ts'
import { encodeMaintainMessage, readMaintainMessage, type MaintainMessage, type MaintainBody, type DealBody, type SumBody } from '../../protocol/maintain.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { peerPublicKey } from '../../protocol/fields.ts'
import { refuse } from '../../protocol/errors.ts'
import { NONCE_BYTES } from '../../protocol/constants.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { SIG } from '../../crypto/tags.ts'
import { equalBytes, randomBytes, wipe } from '../../crypto/bytes.ts'
import type { SigningKey } from '../../crypto/sign.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { ReplayCache } from '../../net/policy/replay-cache.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ManifestCache } from '../handlers/manifest-cache.ts'
import type { MaintainSession } from './session.ts'
import type { MaintainSessions } from './sessions.ts'
import { PART_TIMEOUT_MS } from './limits.ts'
import type { MaintainEvents } from './events.ts'

/** Send one maintain request to another node and return its decoded answer. */
export type PeerRequest = (peer: string, body: Uint8Array, timeoutMs: number) => Promise<unknown>

/** What the steps use. */
export interface StepDeps {
  self: string
  site: string
  key: SigningKey
  anchor: TrustAnchor
  store: Pick<ShareStore, 'put' | 'confirm' | 'replace' | 'putManifest'>
  manifests: Pick<ManifestCache, 'drop'>
  replay: ReplayCache
  now: () => number
  peerRequest: PeerRequest
  /** Where rounds and traffic are reported (the node's metrics and audit log). @default none */
  events?: MaintainEvents
}

type Kind<K extends MaintainBody['kind']> = Extract<MaintainBody, { kind: K }>

/** The header of a message this node sends in `s`'s round. */
export function headerOf (deps: Pick<StepDeps, 'self' | 'now'>, s: MaintainSession): Omit<Kind<'done'>, 'kind' | 'x' | 'sent'> {
  const m = s.init.manifest.body
  return { v: 1, round: s.init.round, templateId: m.templateId, tenant: m.tenant, sender: deps.self, nonce: randomBytes(NONCE_BYTES), time: deps.now() }
}

/**
 * The open round a coordinator step belongs to, checked: same peer and key that opened it, fresh nonce, same template.
 *
 * @throws {BioshardError} ERR_NOT_FOUND, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_REPLAY, ERR_BAD_REQUEST
 */
export function coordinatorRound (deps: StepDeps, sessions: MaintainSessions, msg: MaintainMessage, peer: string): MaintainSession {
  const s = sessions.get(msg.body.round)
  if (s === undefined) refuse('ERR_NOT_FOUND', 'no such maintenance round is open here')
  if (peer !== s.init.coordinator.peer) refuse('ERR_NOT_AUTHORISED', 'only the coordinator that opened the round may steer it')
  deps.replay.refuseSeen(s.init.coordinator.key, msg.body.nonce, deps.now())
  checkSigned(SIG.MAINTAIN, msg, s.init.coordinator.key, `maintain ${msg.body.kind}`)
  deps.replay.check(s.init.coordinator.key, msg.body.nonce, deps.now())
  if (!equalBytes(msg.body.templateId, s.init.manifest.body.templateId)) refuse('ERR_BAD_REQUEST', 'the message names another template than its round')
  return s
}

/** Send this node's parts to their recipients; each answer must be a `done` signed by the recipient. */
async function sendParts (deps: StepDeps, s: MaintainSession, kind: 'deal' | 'sum', parts: Map<number, Uint8Array>): Promise<void> {
  try {
    await Promise.all([...parts].map(async ([toX, part]) => {
      const peer = kind === 'sum' ? s.init.newHolder as string : s.init.manifest.body.shares.find((e) => e.x === toX)?.holder as string
      const body: Kind<'deal'> | Kind<'sum'> = kind === 'deal'
        ? { ...headerOf(deps, s), kind, fromX: s.init.x, toX, part }
        : { ...headerOf(deps, s), kind, fromX: s.init.x, part }
      const bytes = encodeMaintainMessage(body, deps.key)
      s.sent += bytes.length
      deps.events?.traffic('sent', bytes.length)
      try {
        const answer = await deps.peerRequest(peer, bytes, PART_TIMEOUT_MS)
        const answered = encodeCanonical(answer).length
        s.sent += answered
        deps.events?.traffic('received', answered)
        const done = readMaintainMessage(answer)
        checkSigned(SIG.MAINTAIN, done, peerPublicKey(peer), `maintain answer from ${peer}`)
        if (done.body.kind !== 'done' || !equalBytes(done.body.round, s.init.round)) refuse('ERR_BAD_REQUEST', `${peer} did not confirm the ${kind}`)
      } finally {
        wipe(bytes)
      }
    }))
  } finally {
    for (const part of parts.values()) wipe(part)
  }
}

/**
 * `start`: deal, wait for every part, answer with `ready` (new commitments) or `done`.
 *
 * @throws {BioshardError} ERR_REPLAY when the round was started already; ERR_ABORTED when it ends first; a peer's refusal
 */
export async function startRound (deps: StepDeps, s: MaintainSession): Promise<MaintainBody> {
  if (s.started) refuse('ERR_REPLAY', 'the round was started already')
  s.started = true
  const role = s.init.role
  if (role === 'holder' || role === 'helper') await sendParts(deps, s, 'deal', s.outgoing())
  await s.whenComplete()
  if (role === 'helper') await sendParts(deps, s, 'sum', new Map([[s.init.newX as number, s.maskedSum()]]))
  if (role === 'helper' || role === 'observer') return { ...headerOf(deps, s), kind: 'done', x: s.init.x, sent: s.sent }
  const c = s.commitments()
  return { ...headerOf(deps, s), kind: 'ready', x: s.init.x, commitment: c.commitment, audit: c.audit, sent: s.sent }
}

/**
 * A `deal` or `sum` from another node: only for a round this node joined, only
 * from the peer the manifest lists at `fromX`, each sender once.
 *
 * @throws {BioshardError} ERR_NOT_FOUND, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_REPLAY, ERR_BAD_REQUEST
 */
export function takePart (deps: StepDeps, sessions: MaintainSessions, msg: MaintainMessage, peer: string): MaintainBody {
  const b = msg.body as DealBody | SumBody
  const s = sessions.get(b.round)
  if (s === undefined) refuse('ERR_NOT_FOUND', 'no such maintenance round is open here (this node did not join it)')
  if (!equalBytes(b.templateId, s.init.manifest.body.templateId)) refuse('ERR_BAD_REQUEST', 'the part names another template than its round')
  if (b.kind === 'deal' && b.toX !== s.init.x) refuse('ERR_BAD_REQUEST', `the part is for x ${b.toX}, this node has x ${s.init.x}`)
  const dealer = s.init.manifest.body.shares.find((e) => e.x === b.fromX)
  if (dealer?.holder !== peer) refuse('ERR_NOT_AUTHORISED', `the sender is not the manifest's holder of x ${b.fromX}`)
  const key = peerPublicKey(peer)
  deps.replay.refuseSeen(key, b.nonce, deps.now())
  checkSigned(SIG.MAINTAIN, msg, key, `maintain ${b.kind}`)
  deps.replay.check(key, b.nonce, deps.now())
  s.accept(b.kind, b.fromX, b.part)
  return { ...headerOf(deps, s), kind: 'done', x: s.init.x, sent: 0 }
}

/**
 * Check a commit's manifest before anything is stored: tenant-signed, the active seq + 1 of the same template, and
 * naming this node at its x and site with what it reported (or its unchanged share).
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_EXPIRED, ERR_BAD_REQUEST
 */
export function checkNext (deps: Pick<StepDeps, 'self' | 'site' | 'anchor' | 'now'>, s: Pick<MaintainSession, 'init' | 'reported'>, next: Manifest): void {
  const old = s.init.manifest.body
  checkManifest(next, deps.anchor, deps.now())
  const b = next.body
  if (!equalBytes(b.tenant, old.tenant)) refuse('ERR_NOT_AUTHORISED', 'the new manifest is not signed by the template\'s tenant')
  if (!equalBytes(b.templateId, old.templateId) || b.state !== 'active' || b.seq !== old.seq + 1 || b.t !== old.t || b.n !== old.n) {
    refuse('ERR_BAD_REQUEST', `the new manifest must be the active seq ${old.seq + 1} of the same template`)
  }
  const mine = entryFor(b, deps.self)
  if (mine === undefined || mine.x !== s.init.x || mine.site !== deps.site) {
    refuse('ERR_BAD_REQUEST', 'the new manifest does not list this node at its x and site')
  }
  const reported = s.reported
  const expected = reported ?? entryFor(old, deps.self)
  const fresh = s.init.role === 'holder' || s.init.role === 'new'
  if (fresh && reported === undefined) refuse('ERR_BAD_REQUEST', 'this node has not reported a new share yet')
  const auditOk = !fresh || equalBytes(mine.audit ?? new Uint8Array(0), expected?.audit ?? new Uint8Array(1))
  if (expected === undefined || !equalBytes(mine.commitment, expected.commitment) || !auditOk) {
    refuse('ERR_BAD_REQUEST', 'the new manifest\'s commitment does not match the share this node holds')
  }
  if (s.init.op === 'repair' && b.shares.find((e) => e.x === s.init.newX)?.holder !== s.init.newHolder) {
    refuse('ERR_BAD_REQUEST', 'the new manifest does not list the repaired share at its new holder')
  }
}

/**
 * `commit`: keep the new share (durably, the old one destroyed; a new holder's pending until its manifest is seen
 * published) or the new manifest copy, and end the round.
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_BAD_REQUEST for a manifest that does not check; the store's errors
 */
export async function commitRound (deps: StepDeps, sessions: MaintainSessions, s: MaintainSession, next: Manifest): Promise<MaintainBody> {
  checkNext(deps, s, next)
  const bytes = encodeManifest(next)
  const { slot, x, role } = s.init
  if (role === 'holder' || role === 'new') {
    const fresh = s.takeNewShare()
    try {
      // The new holder's share stays pending, as an enrolled one does, until its manifest is seen published: a coordinator
      // that never heard this answer (the node died first, the answer timed out) aborts the round and never publishes seq + 1,
      // and a node that took its own copy as published would put that manifest into the DHT at its next reconciliation.
      if (role === 'holder') await deps.store.replace(slot, x, fresh.bytes, bytes)
      else await deps.store.put(slot, x, fresh.bytes, bytes)
    } finally {
      wipe(fresh.bytes)
    }
  } else await deps.store.putManifest(slot, bytes)
  deps.manifests.drop(slot)
  const answer: MaintainBody = { ...headerOf(deps, s), kind: 'done', x, sent: 0 }
  sessions.close(s.init.round, undefined, 'committed')
  return answer
}
