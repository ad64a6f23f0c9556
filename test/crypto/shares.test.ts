import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { split, combine } from 'shamir-secret-sharing'
import {
  splitSecret, combineShares, commitShare, shareMatches, reconstruct, shareToLibrary, shareFromLibrary,
  NotEnoughSharesError
} from '../../crypto/shares.ts'
import type { Share } from '../../crypto/shares.ts'
import { encryptTemplate, decryptTemplate } from '../../crypto/envelope.ts'
import type { TemplateContext } from '../../crypto/envelope.ts'
import { interpolateAt } from '../../crypto/gf256.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { BioshardError, DecryptError } from '../../errors.ts'
import { randInt, shuffle, randTN } from '../helpers/random.ts'
import { expectArgErrorAsync } from '../helpers/assert.ts'

const Shares = suite('shares')

function embedding (dim: number): Uint8Array {
  const f = new Float32Array(dim)
  for (let i = 0; i < dim; i++) f[i] = Math.random() * 2 - 1
  return new Uint8Array(f.buffer)
}
function context (): TemplateContext {
  return { templateId: randomBytes(32), modality: 'face', model: 'arcface-r100@1' }
}
function commitmentsOf (templateId: Uint8Array, shares: Share[]): Map<number, Uint8Array> {
  return new Map(shares.map((s) => [s.x, commitShare(templateId, s)]))
}
function corrupt (s: Share): Share {
  const bytes = s.bytes.slice()
  bytes[randInt(0, bytes.length - 1)] ^= 1 << randInt(0, 7)
  return { x: s.x, bytes }
}
function sorted (a: number[]): number[] {
  return a.slice().sort((p, q) => p - q)
}
/** Pearson's chi-square statistic of byte counts against the uniform distribution. */
function chiSquare (counts: number[], total: number): number {
  const expected = total / counts.length
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0)
}
// Chi-square with 255 degrees of freedom: mean 255, sd 22.6; 380 is beyond the
// 1 − 10^-6 quantile (Wilson–Hilferty ≈ 377), so a uniform source fails about once in a million runs.
const CHI2_255_BOUND = 380

Shares('any t of n shares reconstruct an encrypted 128-d or 512-d template', async () => {
  for (let k = 0; k < 40; k++) {
    const [t, n] = randTN()
    const template = embedding(k % 2 === 0 ? 128 : 512)
    const ctx = context()
    const secret = encryptTemplate(template, ctx)
    const shares = await splitSecret(secret, t, n)
    assert.is(shares.length, n)
    const xs = shares.map((s) => s.x)
    assert.is(new Set(xs).size, n, 'distinct x')
    for (const s of shares) {
      assert.ok(s.x >= 1 && s.x <= 255)
      assert.is(s.bytes.length, secret.length)
    }
    const commitments = commitmentsOf(ctx.templateId, shares)
    for (let trial = 0; trial < 4; trial++) {
      const subset = shuffle(shares).slice(0, randInt(t, n))
      assert.equal(decryptTemplate(await combineShares(subset), ctx), template, `t=${t} n=${n} k=${subset.length}`)
      const r = await reconstruct(ctx.templateId, subset, commitments, t)
      assert.equal(r.used, subset.slice(0, t).map((s) => s.x))
      assert.equal(r.bad, [])
      assert.equal(decryptTemplate(r.secret, ctx), template)
      // and t − 1 do not determine it
      assert.not.equal(interpolateAt(subset.slice(0, t - 1), 0), secret, `t=${t} n=${n}: t − 1 shares`)
    }
  }
})

Shares('works near the field limit of 255 shares', async () => {
  for (const [t, n, len] of [[2, 255, 64], [3, 255, 573], [254, 255, 16], [255, 255, 16]]) {
    const secret = randomBytes(len)
    const shares = await splitSecret(secret, t, n)
    assert.equal(sorted(shares.map((s) => s.x)), Array.from({ length: 255 }, (_, i) => i + 1))
    assert.equal(await combineShares(shuffle(shares).slice(0, t)), secret, `t=${t} n=${n}`)
    if (n - 1 >= t) {
      const r = await reconstruct(new Uint8Array(32), [corrupt(shares[0]), ...shares.slice(1)], commitmentsOf(new Uint8Array(32), shares), t)
      assert.equal(r.secret, secret)
      assert.equal(r.bad, [shares[0].x])
    }
  }
  try {
    const shares = await splitSecret(randomBytes(8), 255, 255)
    await reconstruct(new Uint8Array(32), [corrupt(shares[0]), ...shares.slice(1)], commitmentsOf(new Uint8Array(32), shares), 255)
    assert.unreachable('254 good shares are not enough for t = 255')
  } catch (e) {
    assert.instance(e, NotEnoughSharesError)
    assert.is((e as NotEnoughSharesError).good, 254)
  }
})

Shares('t − 1 shares of a 1-byte secret are consistent with each of the 256 secrets, exactly once', async () => {
  // Why: the t − 1 shares have distinct non-zero x, so adding a candidate point (0, c)
  // gives t points with distinct x, through which exactly one polynomial of degree ≤ t − 1
  // passes (Lagrange). Its value at any further x* completes a t-share set that combines
  // to c. The map c ↦ value at x* is a bijection, so every candidate secret has exactly
  // one completion: with uniform random coefficients, each c is equally likely given
  // the t − 1 shares (perfect secrecy).
  for (let k = 0; k < 30; k++) {
    const [t, n] = randTN()
    const secret = randomBytes(1)
    const shares = shuffle(await splitSecret(secret, t, n))
    const seen = shares.slice(0, t - 1)
    const seenXs = new Set(seen.map((s) => s.x))
    const xStar = n >= t ? shares[t - 1].x : [...Array(255).keys()].map((i) => i + 1).find((x) => !seenXs.has(x)) ?? 1
    const completions = new Set<number>()
    for (let c = 0; c < 256; c++) {
      const points = [{ x: 0, bytes: Uint8Array.of(c) }, ...seen]
      const yStar = interpolateAt(points, xStar)
      // the polynomial exists: it reproduces every seen share and the candidate
      for (const s of seen) assert.equal(interpolateAt(points, s.x), s.bytes)
      assert.equal(await combineShares([...seen, { x: xStar, bytes: yStar }]), Uint8Array.of(c), `t=${t} c=${c}`)
      completions.add(yStar[0])
      // the true secret's completion is the real share at x*
      if (c === secret[0] && n >= t) assert.equal(yStar, shares[t - 1].bytes)
    }
    assert.is(completions.size, 256, 'one distinct completion per candidate secret')
  }
})

Shares('a single share is uniformly distributed over many splits of a fixed secret (chi-square)', async () => {
  const secret = new Uint8Array(16).fill(0x42)
  const single = new Array<number>(256).fill(0)
  const pair = new Array<number>(256).fill(0)
  const splits = 2000
  for (let i = 0; i < splits; i++) {
    const [a, b] = await splitSecret(secret, 3, 3)
    for (let j = 0; j < secret.length; j++) {
      single[a.bytes[j]]++
      // two shares of a t = 3 sharing, jointly: high nibbles of both as one of 256 cells
      pair[(a.bytes[j] & 0xf0) | (b.bytes[j] >> 4)]++
    }
  }
  const total = splits * secret.length
  const chiSingle = chiSquare(single, total)
  const chiPair = chiSquare(pair, total)
  assert.ok(chiSingle < CHI2_255_BOUND, `single share chi-square ${chiSingle.toFixed(1)}`)
  assert.ok(chiPair < CHI2_255_BOUND, `share pair chi-square ${chiPair.toFixed(1)}`)
  // The check has power: a source leaking in one draw out of ten (to a quarter of
  // the byte range) is rejected.
  const leaky = new Array<number>(256).fill(0)
  const r = randomBytes(total)
  for (let i = 0; i < total; i++) leaky[i % 10 === 0 ? r[i] & 0x3f : r[i]]++
  assert.ok(chiSquare(leaky, total) > CHI2_255_BOUND, 'a 10 % leak must be detected')
})

Shares('names a corrupted share among more than t, and still reconstructs', async () => {
  for (let k = 0; k < 30; k++) {
    const n = randInt(3, 12)
    const t = randInt(2, n - 1)
    const template = embedding(128)
    const ctx = context()
    const shares = await splitSecret(encryptTemplate(template, ctx), t, n)
    const commitments = commitmentsOf(ctx.templateId, shares)
    const badCount = randInt(1, n - t)
    const badIdx = new Set(shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, badCount))
    const returned = shuffle(shares.map((s, i) => (badIdx.has(i) ? corrupt(s) : s)))
    const r = await reconstruct(ctx.templateId, returned, commitments, t)
    assert.equal(sorted(r.bad), sorted([...badIdx].map((i) => shares[i].x)), `t=${t} n=${n}`)
    assert.is(r.used.length, t)
    for (const x of r.used) assert.not.ok(r.bad.includes(x))
    assert.equal(decryptTemplate(r.secret, ctx), template)
  }
})

Shares('counts a share with an x the manifest does not list as bad', async () => {
  const ctx = context()
  const secret = encryptTemplate(embedding(128), ctx)
  const shares = await splitSecret(secret, 2, 3)
  const commitments = commitmentsOf(ctx.templateId, shares.slice(0, 2))
  const r = await reconstruct(ctx.templateId, [shares[2], shares[0], shares[1]], commitments, 2)
  assert.equal(r.bad, [shares[2].x])
  assert.equal(r.used, [shares[0].x, shares[1].x])
  assert.equal(r.secret, secret)
})

Shares('fails with ERR_NOT_ENOUGH_SHARES naming how many were good when too many are corrupted', async () => {
  for (let k = 0; k < 20; k++) {
    const [t, n] = randTN()
    const ctx = context()
    const shares = await splitSecret(encryptTemplate(embedding(128), ctx), t, n)
    const commitments = commitmentsOf(ctx.templateId, shares)
    const good = randInt(0, t - 1)
    const returned = shares.map((s, i) => (i < good ? s : corrupt(s)))
    try {
      await reconstruct(ctx.templateId, shuffle(returned), commitments, t)
      assert.unreachable('must not reconstruct')
    } catch (e) {
      assert.instance(e, NotEnoughSharesError)
      assert.instance(e, BioshardError)
      assert.is((e as BioshardError).code, 'ERR_NOT_ENOUGH_SHARES')
      assert.is((e as NotEnoughSharesError).good, good)
      assert.is((e as NotEnoughSharesError).needed, t)
      assert.equal(sorted((e as NotEnoughSharesError).bad), sorted(shares.slice(good).map((s) => s.x)))
      assert.ok((e as Error).message.includes(`${good} valid share`), (e as Error).message)
    }
  }
})

Shares('counts a repeated share once', async () => {
  const id = randomBytes(32)
  const secret = randomBytes(40)
  const shares = await splitSecret(secret, 3, 5)
  const commitments = commitmentsOf(id, shares)
  const r = await reconstruct(id, [shares[0], shares[0], shares[1], shares[1], shares[2]], commitments, 3)
  assert.equal(r.used, [shares[0].x, shares[1].x, shares[2].x])
  assert.equal(r.secret, secret)
  try {
    await reconstruct(id, [shares[0], shares[0], shares[1]], commitments, 3)
    assert.unreachable('two distinct shares are not three')
  } catch (e) {
    assert.is((e as NotEnoughSharesError).good, 2)
  }
})

Shares('without commitments, a wrong share set is caught by the envelope\'s tag', async () => {
  const ctx = context()
  const shares = await splitSecret(encryptTemplate(embedding(128), ctx), 3, 5)
  const tooFew = await combineShares(shares.slice(0, 2))
  try { decryptTemplate(tooFew, ctx); assert.unreachable('t − 1 shares') } catch (e) { assert.instance(e, BioshardError) }
  const withBad = await combineShares([corrupt(shares[0]), shares[1], shares[2]])
  try { decryptTemplate(withBad, ctx); assert.unreachable('corrupted share') } catch (e) { assert.instance(e, DecryptError) }
})

Shares('commitments bind template id, x and every bit of the share', async () => {
  const id = randomBytes(32)
  const [s] = await splitSecret(randomBytes(64), 2, 2)
  const c = commitShare(id, s)
  assert.is(c.length, 32)
  assert.equal(commitShare(id, { x: s.x, bytes: s.bytes.slice() }), c)
  assert.ok(shareMatches(id, s, c))
  for (let bit = 0; bit < s.bytes.length * 8; bit += 7) {
    const bytes = s.bytes.slice()
    bytes[bit >> 3] ^= 1 << (bit & 7)
    assert.not.ok(shareMatches(id, { x: s.x, bytes }, c))
  }
  assert.not.ok(shareMatches(id, { x: s.x === 255 ? 1 : s.x + 1, bytes: s.bytes }, c))
  const otherId = id.slice(); otherId[0] ^= 1
  assert.not.ok(shareMatches(otherId, s, c))
  assert.not.ok(shareMatches(id, { x: s.x, bytes: s.bytes.subarray(0, 63) }, c))
})

Shares('names the argument at fault', async () => {
  const secret = randomBytes(8)
  await expectArgErrorAsync(() => splitSecret(secret, 3.5, 5), TypeError, 't')
  await expectArgErrorAsync(() => splitSecret(secret, '3' as unknown as number, 5), TypeError, 't')
  await expectArgErrorAsync(() => splitSecret(secret, 3, NaN), TypeError, 'n')
  await expectArgErrorAsync(() => splitSecret(secret, 1, 5), RangeError, 't')
  await expectArgErrorAsync(() => splitSecret(secret, 2, 256), RangeError, 'n')
  await expectArgErrorAsync(() => splitSecret(secret, 6, 5), RangeError, 't')
  await expectArgErrorAsync(() => splitSecret(new Uint8Array(0), 2, 3), RangeError, 'secret')
  await expectArgErrorAsync(() => splitSecret([1, 2] as unknown as Uint8Array, 2, 3), TypeError, 'secret')
  const shares = await splitSecret(secret, 2, 3)
  await expectArgErrorAsync(() => combineShares(shares.slice(0, 1)), RangeError, 'shares')
  await expectArgErrorAsync(() => combineShares({} as Share[]), TypeError, 'shares')
  await expectArgErrorAsync(() => combineShares([shares[0], shares[0]]), RangeError, 'shares')
  await expectArgErrorAsync(() => combineShares([shares[0], { x: shares[1].x, bytes: shares[1].bytes.subarray(1) }]), RangeError, 'shares')
  await expectArgErrorAsync(() => combineShares([shares[0], { x: 0, bytes: shares[1].bytes }]), RangeError, 'shares[1].x')
  await expectArgErrorAsync(() => combineShares([shares[0], { x: 2, bytes: 'ab' as unknown as Uint8Array }]), TypeError, 'shares[1].bytes')
  await expectArgErrorAsync(() => commitShare(new Uint8Array(31), shares[0]), RangeError, 'templateId')
  await expectArgErrorAsync(() => commitShare(new Uint8Array(32), { x: 256, bytes: secret }), RangeError, 'share.x')
  await expectArgErrorAsync(() => commitShare(new Uint8Array(32), { x: 1, bytes: new Uint8Array(0) }), RangeError, 'share.bytes')
  await expectArgErrorAsync(() => shareMatches(new Uint8Array(32), shares[0], new Uint8Array(31)), RangeError, 'commitment')
  await expectArgErrorAsync(() => reconstruct(new Uint8Array(8), shares, new Map(), 2), RangeError, 'templateId')
  await expectArgErrorAsync(() => reconstruct(new Uint8Array(32), shares, {} as Map<number, Uint8Array>, 2), TypeError, 'commitments')
  await expectArgErrorAsync(() => reconstruct(new Uint8Array(32), shares, new Map(), 1), RangeError, 't')
  await expectArgErrorAsync(() => shareFromLibrary(Uint8Array.of(5)), RangeError, 'bytes')
  await expectArgErrorAsync(() => shareFromLibrary(Uint8Array.of(5, 0)), RangeError, 'x')
})

Shares('interoperates with the library\'s own format (y-bytes then x)', async () => {
  const secret = randomBytes(100)
  const ours = await splitSecret(secret, 3, 5)
  for (const s of ours) {
    const lib = shareToLibrary(s)
    assert.is(lib.length, 101)
    assert.is(lib[100], s.x)
    assert.equal(shareFromLibrary(lib), s)
  }
  assert.equal(await combine(ours.slice(1, 4).map(shareToLibrary)), secret)
  const theirs = await split(secret, 5, 3)
  assert.equal(await combineShares(theirs.slice(2).map(shareFromLibrary)), secret)
})

Shares('accepts Node Buffers, which the library itself rejects', async () => {
  const secret = randomBytes(48)
  const shares = await splitSecret(Buffer.from(secret), 2, 3)
  const asBuffers = shares.map((s) => ({ x: s.x, bytes: Buffer.from(s.bytes) }))
  assert.equal(await combineShares(asBuffers.slice(1)), secret)
  const id = randomBytes(32)
  const r = await reconstruct(Buffer.from(id), asBuffers, commitmentsOf(id, shares), 2)
  assert.equal(r.secret, secret)
})

Shares('leaves inputs untouched and returns independent buffers', async () => {
  const secret = randomBytes(64)
  const copy = secret.slice()
  const shares = await splitSecret(secret, 3, 4)
  assert.equal(secret, copy)
  for (const s of shares) {
    assert.is(s.bytes.byteOffset, 0)
    assert.is(s.bytes.buffer.byteLength, s.bytes.length, 'a share owns its whole buffer (no x byte or other share beside it)')
    assert.is(Object.getPrototypeOf(s.bytes), Uint8Array.prototype)
  }
  const before = shares.map((s) => toHex(s.bytes))
  const id = randomBytes(32)
  const commitments = commitmentsOf(id, shares)
  const combined = await combineShares(shares)
  const r = await reconstruct(id, shares, commitments, 3)
  assert.equal(shares.map((s) => toHex(s.bytes)), before, 'combine and reconstruct do not modify or wipe the caller\'s shares')
  assert.equal(combined, secret)
  combined.fill(0)
  assert.equal(r.secret, secret, 'results do not share memory')
  shares[0].bytes.fill(0)
  assert.equal(shares[1].bytes.length, 64)
  assert.is(toHex(shares[1].bytes), before[1])
})

Shares.run()
