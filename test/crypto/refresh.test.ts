/**
 * Proactive refresh (crypto/refresh.ts): t refreshed shares reconstruct the
 * template; old and new shares never combine into it; t − 1 old shares plus
 * new ones reveal nothing (exhaustively for t = 2 over one-byte secrets, and
 * statistically for t = 3); the API never hands out old and new together.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ShareRefresh, refreshContribution } from '../../crypto/refresh.ts'
import { splitSecret, combineShares, commitShare, type Share } from '../../crypto/shares.ts'
import { auditCommitment } from '../../crypto/possession.ts'
import { encryptTemplate, decryptTemplate, type TemplateContext } from '../../crypto/envelope.ts'
import { evalPoly, interpolateAt, mul, add } from '../../crypto/gf256.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'

const ctx = (): TemplateContext => ({ templateId: randomBytes(32), modality: 'face', model: 'test-model-1' })

/** Run one full refresh round over `old` (every holder deals, every holder receives); returns the new shares. */
function refreshAll (old: Share[], t: number): Share[] {
  const xs = old.map((s) => s.x)
  const rounds = old.map((s) => new ShareRefresh({ x: s.x, bytes: s.bytes.slice() }, xs, t))
  const dealt = rounds.map((r) => r.contribute())
  rounds.forEach((r, i) => { for (const [to, sub] of dealt[i]) rounds.find((q) => q.x === to)?.receive(r.x, sub) })
  return rounds.map((r) => r.commit())
}

const Refresh = suite('refresh')

Refresh('t refreshed shares reconstruct, and every share changed', async () => {
  const c = ctx()
  const template = randomBytes(512)
  const old = await splitSecret(encryptTemplate(template, c), 3, 5)
  const fresh = refreshAll(old, 3)
  for (let i = 0; i < 5; i++) assert.is.not(toHex(fresh[i].bytes), toHex(old[i].bytes), 'the share was re-randomised')
  for (const pick of [[0, 1, 2], [2, 3, 4], [0, 2, 4]]) {
    const out = decryptTemplate(await combineShares(pick.map((i) => fresh[i])), c)
    assert.is(toHex(out), toHex(template))
  }
  // Twice more: refreshes compose.
  const again = refreshAll(refreshAll(fresh, 3), 3)
  assert.is(toHex(decryptTemplate(await combineShares(again.slice(1, 4)), c)), toHex(template))
})

Refresh('old shares combined with new ones fail to decrypt', async () => {
  const c = ctx()
  const old = await splitSecret(encryptTemplate(randomBytes(256), c), 3, 5)
  const fresh = refreshAll(old, 3)
  for (const [o, n] of [[[0, 1], [2]], [[0], [1, 2]], [[3], [0, 4]], [[2, 4], [1]]]) {
    const mixed = [...o.map((i) => old[i]), ...n.map((i) => fresh[i])]
    try {
      decryptTemplate(await combineShares(mixed), c)
      assert.unreachable('a mix of old and new shares decrypted')
    } catch (e) {
      assert.ok((e as { code?: string }).code === 'ERR_DECRYPT' || (e as { code?: string }).code === 'ERR_UNSUPPORTED_VERSION', String(e))
    }
  }
})

Refresh('t − 1 old plus a new share: every one-byte secret is equally consistent with the view (t = 2, exhaustive)', async () => {
  // One real run of the code: shares of a one-byte secret, refreshed.
  for (let run = 0; run < 3; run++) {
    const secret = randomBytes(1)
    const old = await splitSecret(secret, 2, 3)
    const fresh = refreshAll(old, 2)
    const a = old[run % 3]
    const b = fresh[(run + 1) % 3]
    // The real new share lies on the refreshed polynomial through the same secret.
    assert.is(interpolateAt([fresh[0], fresh[1]], 0)[0], secret[0])
    // Exhaustive: for every candidate secret S, count the dealings (old slope a1, zero-sharing slope d) that give this view.
    const counts = new Uint32Array(256)
    for (let s = 0; s < 256; s++) {
      for (let a1 = 0; a1 < 256; a1++) {
        if (evalPoly(Uint8Array.of(s, a1), a.x) !== a.bytes[0]) continue
        for (let d = 0; d < 256; d++) {
          if (add(evalPoly(Uint8Array.of(s, a1), b.x), mul(d, b.x)) === b.bytes[0]) counts[s]++
        }
      }
    }
    assert.ok(counts.every((k) => k === counts[0]) && counts[0] > 0, 'every candidate secret is equally likely given one old and one new share')
  }
})

Refresh('t − 1 old plus t − 1 new shares guess the secret no better than chance (t = 3, statistical)', async () => {
  const runs = 2_560
  let hits = 0
  const bins = new Uint32Array(256)
  const secret = Uint8Array.of(0x5a)
  for (let r = 0; r < runs; r++) {
    const old = await splitSecret(secret, 3, 5)
    const fresh = refreshAll(old, 3)
    // The adversary's best linear guess: interpolate two old and one new share at 0.
    const guess = interpolateAt([old[0], old[1], fresh[2]], 0)[0]
    bins[guess]++
    if (guess === secret[0]) hits++
  }
  // Expected runs/256 = 10 hits; a leak would put most runs on the secret.
  assert.ok(hits < 40, `the guess hit the secret ${hits} times in ${runs}`)
  // Uniform guesses: chi-square with 255 degrees of freedom stays far below 400 unless skewed.
  const e = runs / 256
  const chi = bins.reduce((acc, k) => acc + (k - e) ** 2 / e, 0)
  assert.ok(chi < 400, `chi-square ${chi.toFixed(1)}`)
})

const Api = suite('refresh API: old and new never mix')

Api('before commit only commitments leave; commit wipes the old share in the same call', async () => {
  const templateId = randomBytes(32)
  const old = await splitSecret(randomBytes(64), 2, 3)
  const xs = old.map((s) => s.x)
  const mine = old[0]
  const kept = mine.bytes.slice()
  const r = new ShareRefresh(mine, xs, 2)
  const dealt = r.contribute()
  assert.equal([...dealt.keys()].sort(), xs.slice(1).sort())
  try { r.commitments(templateId); assert.unreachable() } catch (e) { assert.instance(e, RangeError) }
  try { r.commit(); assert.unreachable() } catch (e) { assert.instance(e, RangeError) }
  for (const x of xs.slice(1)) r.receive(x, refreshContribution(xs, 2, 64).get(mine.x) as Uint8Array)
  try { r.receive(xs[1], new Uint8Array(64)); assert.unreachable() } catch (e) { assert.instance(e, RangeError, 'a dealer counts once') }
  const { commitment, audit } = r.commitments(templateId)
  assert.is(toHex(mine.bytes), toHex(kept), 'the old share is intact until commit')
  const fresh = r.commit()
  assert.ok(mine.bytes.every((b) => b === 0), 'commit wiped the old share')
  assert.is(toHex(commitment), toHex(commitShare(templateId, fresh)))
  assert.is(toHex(audit), toHex(auditCommitment(templateId, fresh)))
  try { r.commit(); assert.unreachable() } catch (e) { assert.instance(e, RangeError, 'a round commits once') }
})

Api('abort wipes the partial new share and leaves the old one', async () => {
  const old = await splitSecret(randomBytes(32), 2, 3)
  const kept = old[1].bytes.slice()
  const r = new ShareRefresh(old[1], old.map((s) => s.x), 2)
  r.contribute()
  r.abort()
  assert.is(toHex(old[1].bytes), toHex(kept))
  try { r.receive(old[0].x, new Uint8Array(32)); assert.unreachable() } catch (e) { assert.instance(e, RangeError) }
})

Api('malformed input is refused naming the argument', () => {
  const share = { x: 5, bytes: randomBytes(8) }
  for (const [xs, t] of [[[5], 2], [[5, 5, 6], 2], [[1, 2, 3], 2], [[5, 6], 3], [[5, 300], 2]] as Array<[number[], number]>) {
    assert.throws(() => new ShareRefresh(share, xs, t), (e: unknown) => e instanceof RangeError || e instanceof TypeError, JSON.stringify(xs))
  }
  const r = new ShareRefresh(share, [5, 6, 7], 2)
  for (const [from, sub] of [[9, randomBytes(8)], [6, randomBytes(7)], [5, randomBytes(8)]] as Array<[number, Uint8Array]>) {
    try { r.receive(from, sub); assert.unreachable() } catch (e) { assert.instance(e, RangeError) }
  }
})

Refresh.run()
Api.run()
