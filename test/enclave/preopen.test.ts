/**
 * Shares sent ahead of their match (enclave/opened-shares.ts, the
 * `open` hint): the enclave opens them on arrival and the match uses them
 * only when it lists the very same bytes; everything kept is bounded,
 * expires, and is wiped once a match took it, used or not. A hint can only
 * save time: a bad or mismatched one leaves the match exactly as it would
 * have been without it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Enclave } from '../../enclave/enclave.ts'
import { OpenedShares, type OpenedShare } from '../../enclave/opened-shares.ts'
import { openAhead, runMatch, type EnclaveKeys } from '../../enclave/match.ts'
import { ConsumedRequests } from '../../enclave/consumed-requests.ts'
import { checkOpenMessage } from '../../enclave/messages.ts'
import { NotEnoughSharesError } from '../../crypto/shares.ts'
import { Opener, generateSealKeyPair } from '../../crypto/seal.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { verifyDecision } from '../../protocol/decision.ts'
import { enrol, near, request, sealed, rejection } from '../helpers/match-request.ts'
import { expectArgError, expectArgErrorAsync } from '../helpers/assert.ts'

const zeroed = (b: Uint8Array): boolean => b.every((v) => v === 0)

function keysWith (seal = generateSealKeyPair()): EnclaveKeys {
  return { seal, opener: new Opener(seal), signer: generateSigningKey().key, measurement: randomBytes(32) }
}

function share (x: number): OpenedShare {
  return { templateId: randomBytes(32), x, sealed: randomBytes(80), aad: randomBytes(32), request: randomBytes(32), bytes: randomBytes(40) }
}

/** What a share of `e` is opened for. */
const target = (e: { templateId: Uint8Array, digest: Uint8Array }): { templateId: Uint8Array, manifest: Uint8Array } =>
  ({ templateId: e.templateId, manifest: e.digest })

// ---------------------------------------------------------------------------
const Kept = suite('OpenedShares')

Kept('a session\'s shares are taken whole, once', () => {
  const kept = new OpenedShares()
  const a = share(1)
  const b = share(2)
  kept.put(5, a)
  kept.put(5, b)
  kept.put(6, share(1))
  const mine = kept.take(5)!
  assert.equal([...mine.keys()], [1, 2])
  assert.is(mine.get(1), a)
  assert.is(kept.take(5), undefined)
  assert.is(kept.size, 1)
})

Kept('a second share for the same x replaces the first, which is wiped', () => {
  const kept = new OpenedShares()
  const first = share(3)
  kept.put(1, first)
  kept.put(1, share(3))
  assert.ok(zeroed(first.bytes))
})

Kept('at most maxSessions are kept: the oldest is wiped to make room', () => {
  const kept = new OpenedShares({ maxSessions: 2 })
  const oldest = share(1)
  kept.put(1, oldest)
  kept.put(2, share(1))
  kept.put(3, share(1))
  assert.is(kept.size, 2)
  assert.ok(zeroed(oldest.bytes))
  assert.is(kept.take(1), undefined)
})

Kept('at most maxShares are kept in all: the oldest sessions are wiped to make room', () => {
  const kept = new OpenedShares({ maxShares: 3 })
  const first = [share(1), share(2)]
  for (const s of first) kept.put(1, s)
  kept.put(2, share(1))
  assert.is(kept.size, 2)
  kept.put(2, share(2))
  assert.ok(first.every((s) => zeroed(s.bytes)), 'the oldest session was wiped')
  assert.is(kept.take(1), undefined)
  assert.is(kept.take(2)!.size, 2)
  const lone = new OpenedShares({ maxShares: 1 })
  const a = share(1)
  lone.put(7, a)
  lone.put(7, share(2))
  assert.ok(zeroed(a.bytes))
  assert.is(lone.size, 0, 'a session larger than the bound is not kept')
})

Kept('a session nobody takes is wiped after ttlMs', async () => {
  const kept = new OpenedShares({ ttlMs: 20 })
  const abandoned = share(1)
  kept.put(1, abandoned)
  await new Promise((resolve) => setTimeout(resolve, 80))
  assert.ok(zeroed(abandoned.bytes))
  assert.is(kept.size, 0)
})

// ---------------------------------------------------------------------------
const Match = suite('runMatch with shares opened ahead')

Match('shares opened ahead from the same bytes are used, not opened again', async () => {
  const e = await enrol()
  const mine = keysWith()
  const req = request(mine.seal, e, near(e.vector))
  const consumed = new ConsumedRequests()
  const opened = new Map(req.shares.map((s) => [s.x, openAhead(mine, target(e), s, { consumed })!]))
  // An enclave whose own key cannot open these: only the shares opened ahead can make this match.
  const r = await runMatch(keysWith(), request(mine.seal, e, near(e.vector), req.shares), { consumed, opened })
  assert.ok(r.accept)
  assert.equal(r.bad, [])
  for (const s of opened.values()) assert.ok(zeroed(s.bytes), `share ${s.x} wiped after use`)
})

Match('a share opened ahead from other bytes, binding or template is not used; leftovers are wiped', async () => {
  const e = await enrol({ t: 2, n: 5 })
  const keys = keysWith()
  const consumed = new ConsumedRequests()
  const [a, b, c] = e.shares.map((s) => sealed(keys.seal.publicKey, e, s))
  const otherAad = openAhead(keys, target(e), b, { consumed })!
  const req = request(keys.seal, e, near(e.vector), [a, { ...b, request: randomBytes(32) }])
  const unused = openAhead(keys, target(e), c, { consumed })!
  const opened = new Map([[b.x, otherAad], [c.x, unused]])
  const err = await rejection(runMatch(keys, req, { consumed, opened }))
  assert.ok(err instanceof NotEnoughSharesError, String(err))
  assert.equal(err.bad, [b.x], 'the share listed was opened anew (and failed its binding), not taken from the hint')
  assert.ok(zeroed(otherAad.bytes) && zeroed(unused.bytes), 'every share opened ahead is wiped, used or not')
})

Match('openAhead: a share that does not open, is stale, or whose request was matched gives nothing', async () => {
  const e = await enrol()
  const keys = keysWith()
  const consumed = new ConsumedRequests()
  const s = sealed(keys.seal.publicKey, e, e.shares[0])
  assert.ok(openAhead(keys, target(e), s, { consumed }) !== undefined)
  assert.is(openAhead(keys, { ...target(e), templateId: randomBytes(32) }, s, { consumed }), undefined)
  assert.is(openAhead(keys, { ...target(e), manifest: randomBytes(32) }, s, { consumed }), undefined, 'another manifest digest')
  assert.is(openAhead(keys, target(e), { ...s, sealed: s.sealed.subarray(0, 10) }, { consumed }), undefined)
  assert.is(openAhead(keys, target(e), s, { consumed, now: () => s.time + 31_000 }), undefined, 'stale')
  consumed.claim([s], Date.now()).consume()
  assert.is(openAhead(keys, target(e), s, { consumed }), undefined, 'request already matched')
})

// ---------------------------------------------------------------------------
const Early = suite('Enclave.preopen')
const enclave = await Enclave.start()

Early('a match uses the shares sent ahead for its session and decides as without them', async () => {
  const e = await enrol({ t: 3, n: 5 })
  const req = request(enclave, e, near(e.vector))
  const session = enclave.session()
  for (const s of req.shares.slice(0, 2)) assert.ok(enclave.preopen(session, target(e), s, enclave.generation))
  const r = await enclave.match({ ...req, session, generation: enclave.generation })
  assert.ok(r.accept)
  assert.equal(r.bad, [])
  assert.equal(verifyDecision(r.decision, enclave.signer).nonce, req.nonce)
  assert.not.equal(enclave.session(), session, 'sessions are never reused')
})

Early('a corrupted share sent ahead is still named bad by the match, which completes from the spares', async () => {
  const e = await enrol({ t: 3, n: 5 })
  const shares = e.shares.map((s) => sealed(enclave.publicKey, e, s))
  shares[0].sealed[40] ^= 0xff
  const session = enclave.session()
  for (const s of shares.slice(0, 3)) enclave.preopen(session, target(e), s)
  const r = await enclave.match({ ...request(enclave, e, near(e.vector), shares), session })
  assert.ok(r.accept)
  assert.equal(r.bad, [shares[0].x])
})

Early('a session is used by one match only: a second match with it opens every share itself', async () => {
  const e = await enrol()
  const req = request(enclave, e, near(e.vector))
  const session = enclave.session()
  for (const s of req.shares) enclave.preopen(session, target(e), s)
  assert.ok((await enclave.match({ ...req, session })).accept)
  const again = request(enclave, e, near(e.vector))
  assert.ok((await enclave.match({ ...again, session })).accept)
})

Early('a hint for a request already matched is dropped, and the match with it refused', async () => {
  const e = await enrol()
  const req = request(enclave, e, near(e.vector))
  assert.ok((await enclave.match(req)).accept)
  const session = enclave.session()
  for (const s of req.shares) enclave.preopen(session, target(e), s)
  assert.is((await rejection(enclave.match({ ...req, nonce: randomBytes(16), session }))).code, 'ERR_REPLAY')
})

Early('malformed hints are refused on the host, naming the field', async () => {
  const e = await enrol()
  const s = sealed(enclave.publicKey, e, e.shares[0])
  expectArgError(() => enclave.preopen(0, target(e), s), TypeError, 'msg.session')
  expectArgError(() => enclave.preopen(1, { ...target(e), templateId: new Uint8Array(5) }, s), RangeError, 'msg.templateId')
  expectArgError(() => enclave.preopen(1, { ...target(e), manifest: new Uint8Array(5) }, s), RangeError, 'msg.manifest')
  expectArgError(() => enclave.preopen(1, target(e), { ...s, x: 256 }), RangeError, 'msg.share.x')
  expectArgError(() => enclave.preopen(1, target(e), { ...s, sealed: new Uint8Array(0) }), RangeError, 'msg.share.sealed')
  expectArgError(() => enclave.preopen(1, target(e), { ...s, request: new Uint8Array(0) }), RangeError, 'msg.share.request')
  expectArgError(() => checkOpenMessage({ type: 'match' }), TypeError, "'open'")
  await expectArgErrorAsync(async () => await enclave.match({ ...request(enclave, e, e.vector), session: -1 }), TypeError, 'req.session')
})

Early('no hint is sent while a match is in flight (the enclave is busy anyway)', async () => {
  const e = await enrol()
  const req = request(enclave, e, near(e.vector))
  const running = enclave.match(req)
  assert.is(enclave.preopen(enclave.session(), target(e), req.shares[0]), false)
  assert.ok((await running).accept)
  assert.is(enclave.preopen(enclave.session(), target(e), req.shares[0]), true)
})

Early('a hint for an older generation or a closed enclave is not sent', async () => {
  const e = await enrol()
  const s = sealed(enclave.publicKey, e, e.shares[0])
  assert.is(enclave.preopen(enclave.session(), target(e), s, enclave.generation + 1), false)
  const other = await Enclave.start()
  await other.close()
  assert.is(other.preopen(other.session(), target(e), s), false)
})

Early.after(async () => { await enclave.close() })

Kept.run()
Match.run()
Early.run()
