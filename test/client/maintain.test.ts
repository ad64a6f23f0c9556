/**
 * Share maintenance over real nodes (client/maintain.ts, node/handlers/maintain.ts):
 * refresh keeps verify working while old shares stop combining with new ones
 * and every holder keeps only its new share; an aborted or interrupted refresh
 * leaves the old shares working and nothing pending; repair after a node
 * departs gives a new holder at a new site a share that reconstructs with
 * t − 1 others; hostile coordinators, parts, replays and commits are refused
 * with typed errors while the nodes keep serving.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { shareMatches, type Share } from '../../crypto/shares.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { signManifest } from '../../protocol/manifest.ts'
import { issueVerifierCert, readVerifierCert } from '../../protocol/certs.ts'
import { MAX_MESSAGE_BYTES, PROTOCOL } from '../../protocol/constants.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { RawRound } from '../helpers/maintain.ts'
import { maintainNetwork } from '../helpers/maintain-network.ts'

const setup = await maintainNetwork()
const { net, tenant, mallory, client, raw, id, slot, nodeOf, indexOf, peersOf, held, opens, accepts } = setup

const refresh = suite('refresh over real nodes')

refresh('verify still accepts; old shares no longer combine with new ones; each holder keeps only its new share', async () => {
  const before = await client.manifest(id)
  const old = await held(before)
  const report = await client.refresh(id)
  assert.is(report.action, 'refresh')
  assert.is(report.seq, before.body.seq + 1)
  assert.equal(report.holders, peersOf(before))
  assert.ok(report.bytes > 0)
  const after = await client.manifest(id)
  assert.is(after.body.seq, report.seq)
  const fresh = await held(after)
  after.body.shares.forEach((e, i) => {
    assert.is(fresh[i].x, old[i].x, 'x-coordinates are kept')
    assert.ok(shareMatches(id, fresh[i], e.commitment), 'the held share is the one the new manifest commits to')
    assert.not.ok(shareMatches(id, old[i], e.commitment), 'the old share is no longer the held one')
    assert.is.not(toHex(fresh[i].bytes), toHex(old[i].bytes))
  })
  assert.ok((await opens(fresh.slice(0, 3))).length > 0, 't new shares reconstruct')
  // A mixed combination gives random bytes: the envelope refuses them (as a bad tag, or as a bad version byte first).
  const refused = ['ERR_DECRYPT', 'ERR_UNSUPPORTED_VERSION']
  assert.ok(refused.includes(await codeOfAsync(opens([old[0], old[1], fresh[2]]))), 'two old shares and a new one do not')
  assert.ok(refused.includes(await codeOfAsync(opens([old[0], fresh[1], fresh[2]]))), 'one old share and two new ones do not')
  assert.ok(await accepts(), 'verify accepts after the refresh')
  console.log(`refresh traffic: t=${after.body.t} n=${after.body.n} share=${fresh[0].bytes.length} B total=${report.bytes} B`)
})

refresh('a refresh the coordinator aborts before the commit leaves the old shares working and nothing pending', async () => {
  const m = await client.manifest(id)
  const old = await held(m)
  const r = new RawRound(raw.host, m, tenant.key)
  await r.all(peersOf(m), { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
  const ready = await r.all(peersOf(m), { kind: 'start' })
  assert.ok(ready.every((a) => a.kind === 'ready'))
  await r.all(peersOf(m), { kind: 'abort', reason: 'testing' })
  const still = await held(m)
  still.forEach((s, i) => { assert.is(toHex(s.bytes), toHex(old[i].bytes)) })
  const next = signManifest({ ...m.body, seq: m.body.seq + 1 }, tenant.key, tenant.wire)
  assert.is(await codeOfAsync(r.ask(peersOf(m)[0], { kind: 'commit', manifest: next })), 'ERR_NOT_FOUND', 'the aborted round is gone')
  assert.ok(await accepts())
})

refresh('a holder down during a refresh fails it with ERR_QUORUM_UNAVAILABLE; the others keep their old shares; a later refresh works', async () => {
  const m = await client.manifest(id)
  const down = peersOf(m)[4]
  const index = indexOf(down)
  const old = await held(m)
  await net.stopNode(index)
  try {
    assert.is(await codeOfAsync(client.refresh(id)), 'ERR_QUORUM_UNAVAILABLE')
    for (const [i, e] of m.body.shares.slice(0, 4).entries()) {
      const h = await nodeOf(e.holder).heldShare(slot)
      assert.is(toHex(h?.share ?? new Uint8Array(0)), toHex(old[i].bytes), 'old share kept')
    }
  } finally {
    await net.restartNode(index)
    await net.converged()
  }
  const report = await client.refresh(id)
  assert.is(report.seq, m.body.seq + 1, 'no round was left pending at any holder')
  assert.ok(await accepts())
})

refresh.run()

const hostile = suite('hostile maintenance input')

hostile('a non-tenant cannot open a round, not even with its own maintain certificate', async () => {
  const m = await client.manifest(id)
  const peer = peersOf(m)[0]
  const bad = new RawRound(raw.host, m, mallory.key)
  assert.is(await codeOfAsync(bad.ask(peer, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })), 'ERR_BAD_SIGNATURE')
  const helpers = m.body.shares.map((s) => s.x)
  const certBy = (purposes: string[], by: typeof tenant): ReturnType<typeof readVerifierCert> =>
    readVerifierCert(issueVerifierCert({ key: mallory.key.publicKey, name: 'mx', purposes, nb: 0, na: Date.now() + 60_000 }, by.key))
  const ownCert = certBy(['maintain'], mallory)
  const opened = async (cert: typeof ownCert): Promise<string> => await codeOfAsync(bad.ask(peer, { kind: 'open', op: 'refresh', manifest: m, helpers, cert }))
  assert.is(await opened(ownCert), 'ERR_NOT_AUTHORISED', 'a maintainer of another tenant')
  const loginOnly = certBy(['login'], tenant)
  assert.is(await opened(loginOnly), 'ERR_NOT_AUTHORISED', 'a key certified for login only')
})

hostile('parts from non-holders or for rounds not joined, replays, and bad commits are refused; the round then aborts cleanly', async () => {
  const m = await client.manifest(id)
  const peers = peersOf(m)
  const old = await held(m)
  const r = new RawRound(raw.host, m, tenant.key)
  const openBytes = r.bytes({ kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
  await r.send(peers[0], openBytes)
  assert.is(await codeOfAsync(r.send(peers[0], openBytes)), 'ERR_REPLAY', 'a replayed open')
  await Promise.all(peers.slice(1).map(async (p) => await r.ask(p, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })))
  const part = randomBytes(64)
  const x = m.body.shares
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'deal', fromX: x[1].x, toX: x[0].x, part })), 'ERR_NOT_AUTHORISED', 'a deal from a non-holder')
  const stray = new RawRound(raw.host, m, tenant.key)
  assert.is(await codeOfAsync(stray.ask(peers[0], { kind: 'deal', fromX: x[1].x, toX: x[0].x, part })), 'ERR_NOT_FOUND', 'a deal for a round not joined')
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'ready', x: 1, commitment: randomBytes(32), audit: randomBytes(32), sent: 0 })), 'ERR_BAD_REQUEST')
  await r.all(peers, { kind: 'start' })
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'start' })), 'ERR_REPLAY', 'a second start')
  const byMallory = signManifest({ ...m.body, tenant: mallory.key.publicKey, seq: m.body.seq + 1 }, mallory.key, mallory.wire)
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'commit', manifest: byMallory })), 'ERR_NOT_AUTHORISED', 'a manifest another tenant signed')
  const unchanged = signManifest({ ...m.body, seq: m.body.seq + 1 }, tenant.key, tenant.wire)
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'commit', manifest: unchanged })), 'ERR_BAD_REQUEST', 'a manifest not matching the new share')
  const sameSeq = signManifest({ ...m.body }, tenant.key, tenant.wire)
  assert.is(await codeOfAsync(r.ask(peers[0], { kind: 'commit', manifest: sameSeq })), 'ERR_BAD_REQUEST', 'a manifest at the old seq')
  const other = new RawRound(raw.host, m, mallory.key, r.round)
  assert.is(await codeOfAsync(other.ask(peers[0], { kind: 'abort', reason: 'x' })), 'ERR_BAD_SIGNATURE', 'an abort not from the coordinator key')
  await r.all(peers, { kind: 'abort', reason: 'testing' })
  const still = await held(m)
  still.forEach((s, i) => { assert.is(toHex(s.bytes), toHex(old[i].bytes), 'old share kept') })
  assert.ok(await accepts())
})

hostile('oversized and malformed messages get typed errors and the node keeps serving', async () => {
  const m = await client.manifest(id)
  const r = new RawRound(raw.host, m, tenant.key)
  const peer = peersOf(m)[0]
  assert.is(await codeOfAsync(r.send(peer, randomBytes(MAX_MESSAGE_BYTES[PROTOCOL.MAINTAIN] + 1))), 'ERR_TOO_LARGE')
  assert.is(await codeOfAsync(r.send(peer, randomBytes(500))), 'ERR_DECODE')
  assert.is(await codeOfAsync(r.ask(peer, { kind: 'open', op: 'repair', manifest: m, helpers: [1, 2] })), 'ERR_DECODE')
  assert.ok(await accepts())
})

hostile.run()

const repair = suite('repair over real nodes')

repair('after a holder departs, a new holder at a new site gets a share that reconstructs with t − 1 others, listed in seq + 1', async () => {
  const m = await client.manifest(id)
  const gone = peersOf(m)[1]
  await net.stopNode(indexOf(gone))
  const report = await client.repair(id, { lost: [gone] })
  assert.is(report.action, 'repair')
  assert.is(report.seq, m.body.seq + 1)
  assert.is(report.replaced.length, 1)
  assert.is(report.replaced[0].from, gone)
  const to = report.replaced[0].to
  const after = await client.manifest(id)
  assert.is(after.body.seq, report.seq)
  assert.not.ok(peersOf(after).includes(gone))
  const entry = after.body.shares.find((s) => s.holder === to)
  assert.ok(entry !== undefined, 'the manifest lists the new holder')
  assert.is(new Set(after.body.shares.map((s) => s.site)).size, after.body.n, 'one share per site')
  const shares = await held(after)
  const mine = shares.find((s) => s.x === entry.x) as Share
  assert.ok(shareMatches(id, mine, entry.commitment))
  const others = shares.filter((s) => s.x !== entry.x)
  assert.ok((await opens([mine, others[0], others[1]])).length > 0, 'the new share reconstructs with t − 1 others')
  assert.ok(await accepts(), 'verify accepts after the repair')
  const shareBytes = mine.bytes.length
  console.log(`repair traffic: t=${after.body.t} share=${shareBytes} B total=${report.bytes} B (t² shares = ${after.body.t ** 2 * shareBytes} B)`)
})

repair('a repair with fewer than t live holders fails with ERR_QUORUM_UNAVAILABLE', async () => {
  const m = await client.manifest(id)
  const lost = peersOf(m).slice(0, 3)
  assert.is(await codeOfAsync(client.repair(id, { lost })), 'ERR_QUORUM_UNAVAILABLE')
  assert.is(await codeOfAsync(client.repair(id, { lost: [raw.host.peerId.toString()] })), 'ERR_NOT_HOLDER')
})

repair.after(async () => { await setup.stop() })

repair.run()
