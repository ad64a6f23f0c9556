import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { split, combine } from 'shamir-secret-sharing'
import {
  add, mul, div, inv, evalPoly, lagrangeCoefficient, zeroSharing, interpolateAt, addBytes, scaleBytes,
  LOG_TABLE, EXP_TABLE
} from '../../crypto/gf256.ts'
import { shareFromLibrary, shareToLibrary } from '../../crypto/shares.ts'
import type { Share } from '../../crypto/shares.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { randInt, shuffle, randTN } from '../helpers/random.ts'
import { expectArgError } from '../helpers/assert.ts'

const GF = suite('gf256')

function distinctXs (count: number): number[] {
  return shuffle(Array.from({ length: 255 }, (_, i) => i + 1)).slice(0, count)
}
async function libSplit (secret: Uint8Array, t: number, n: number): Promise<Share[]> {
  return (await split(secret, n, t)).map(shareFromLibrary)
}
async function libCombine (shares: Share[]): Promise<Uint8Array> {
  return await combine(shares.map(shareToLibrary))
}

/** Schoolbook carry-less multiplication mod x^8+x^4+x^3+x+1, independent of the tables. */
function refMul (a: number, b: number): number {
  let p = 0
  for (let i = 0; i < 8; i++) if ((b >> i) & 1) p ^= a << i
  for (let i = 14; i >= 8; i--) if ((p >> i) & 1) p ^= 0x11b << (i - 8)
  return p
}

/** The LOG/EXP literals in the library's own source, parsed from node_modules. */
function libraryTables (): { log: number[], exp: number[] } {
  const require = createRequire(import.meta.url)
  const src = readFileSync(join(dirname(require.resolve('shamir-secret-sharing')), 'src', 'index.ts'), 'utf8')
  const table = (name: string): number[] => {
    const m = new RegExp(`const ${name}[^=]*=\\s*new Uint8Array\\(\\[([^\\]]*)\\]`).exec(src)
    if (m === null) throw new Error(`${name} not found in the library source`)
    return m[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => Number(s))
  }
  return { log: table('LOG_TABLE'), exp: table('EXP_TABLE') }
}

GF('builds exactly the LOG and EXP tables of shamir-secret-sharing', () => {
  const lib = libraryTables()
  assert.is(lib.log.length, 256)
  assert.is(lib.exp.length, 256)
  assert.equal(Array.from(LOG_TABLE), lib.log)
  assert.equal(Array.from(EXP_TABLE), lib.exp)
})

GF('multiplies as the AES field does (FIPS-197 §4.2 examples and all 65 536 products)', () => {
  assert.is(mul(0x57, 0x83), 0xc1)
  assert.is(mul(0x57, 0x13), 0xfe)
  assert.is(mul(0x53, 0xca), 0x01)
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      if (mul(a, b) !== refMul(a, b)) assert.unreachable(`mul(${a}, ${b}) = ${mul(a, b)}, expected ${refMul(a, b)}`)
    }
  }
})

GF('satisfies the field laws', () => {
  for (let a = 0; a < 256; a++) {
    assert.is(add(a, a), 0)
    assert.is(mul(a, 1), a)
    assert.is(mul(a, 0), 0)
    if (a !== 0) {
      assert.is(mul(a, inv(a)), 1, `inverse of ${a}`)
      for (let b = 1; b < 256; b++) {
        if (div(mul(a, b), b) !== a) assert.unreachable(`div(mul(${a}, ${b}), ${b}) !== ${a}`)
      }
    }
    assert.is(div(0, a === 0 ? 1 : a), 0)
  }
  for (let i = 0; i < 20_000; i++) {
    const a = randInt(0, 255); const b = randInt(0, 255); const c = randInt(0, 255)
    assert.is(mul(a, b), mul(b, a))
    assert.is(mul(a, mul(b, c)), mul(mul(a, b), c))
    assert.is(mul(a, add(b, c)), add(mul(a, b), mul(a, c)))
  }
})

GF('names the argument at fault', () => {
  expectArgError(() => mul(256, 1), RangeError, 'a')
  expectArgError(() => mul(1, -1), RangeError, 'b')
  expectArgError(() => add(1.5, 1), TypeError, 'a')
  expectArgError(() => div(1, 0), RangeError, 'b')
  expectArgError(() => inv(0), RangeError, 'a')
  expectArgError(() => evalPoly(new Uint8Array(0), 1), RangeError, 'coeffs')
  expectArgError(() => evalPoly([1, 2] as unknown as Uint8Array, 1), TypeError, 'coeffs')
  expectArgError(() => evalPoly(Uint8Array.of(1), 300), RangeError, 'x')
  expectArgError(() => lagrangeCoefficient([1, 2, 2], 0), RangeError, 'xs')
  expectArgError(() => lagrangeCoefficient([1, 2, 3], 3), RangeError, 'i')
  expectArgError(() => lagrangeCoefficient([1, 2, 3], 0, 256), RangeError, 'at')
  expectArgError(() => zeroSharing([0, 1, 2], 2, 8), RangeError, 'xs')
  expectArgError(() => zeroSharing([1, 2, 3], 1, 8), RangeError, 't')
  expectArgError(() => zeroSharing([1, 2, 3], 2, 0), RangeError, 'length')
  expectArgError(() => zeroSharing('1,2' as unknown as number[], 2, 8), TypeError, 'xs')
  expectArgError(() => interpolateAt([], 0), RangeError, 'points')
  expectArgError(() => interpolateAt([{ x: 1, bytes: new Uint8Array(2) }, { x: 1, bytes: new Uint8Array(2) }], 0), RangeError, 'points')
  expectArgError(() => interpolateAt([{ x: 1, bytes: new Uint8Array(2) }, { x: 2, bytes: new Uint8Array(3) }], 0), RangeError, 'points[1].bytes')
  expectArgError(() => addBytes(new Uint8Array(2), new Uint8Array(3)), RangeError, 'b')
  expectArgError(() => scaleBytes(256, new Uint8Array(2)), RangeError, 'c')
})

GF('evalPoly is Horner for Σ c_i·x^i with c_0 the constant term', () => {
  for (let i = 0; i < 2000; i++) {
    const coeffs = randomBytes(randInt(1, 12))
    const x = randInt(0, 255)
    let expected = 0
    let power = 1
    for (const c of coeffs) { expected ^= refMul(c, power); power = refMul(power, x) }
    assert.is(evalPoly(coeffs, x), expected)
    assert.is(evalPoly(coeffs, 0), coeffs[0])
  }
})

GF('Lagrange basis: λ_i(x_j) = δ_ij and Σ_i λ_i(at) = 1', () => {
  for (let k = 0; k < 300; k++) {
    const xs = distinctXs(randInt(1, 12))
    const at = randInt(0, 255)
    let sum = 0
    for (let i = 0; i < xs.length; i++) {
      sum ^= lagrangeCoefficient(xs, i, at)
      for (let j = 0; j < xs.length; j++) assert.is(lagrangeCoefficient(xs, i, xs[j]), i === j ? 1 : 0)
    }
    assert.is(sum, 1)
  }
})

GF('shares made with evalPoly for a chosen constant term combine with the library\'s combine', async () => {
  for (let k = 0; k < 60; k++) {
    const [t, n] = randTN()
    const secret = randomBytes(randInt(1, 64))
    const xs = distinctXs(n)
    const shares: Share[] = xs.map((x) => ({ x, bytes: new Uint8Array(secret.length) }))
    for (let b = 0; b < secret.length; b++) {
      const coeffs = randomBytes(t)
      coeffs[0] = secret[b]
      for (const s of shares) s.bytes[b] = evalPoly(coeffs, s.x)
    }
    const subset = shuffle(shares).slice(0, t)
    assert.equal(await libCombine(subset), secret, `t=${t} n=${n}`)
    // t − 1 of them interpolate to a polynomial of lower degree, which (almost surely) misses the secret
    if (secret.length >= 16) assert.not.equal(interpolateAt(subset.slice(1), 0), secret)
  }
})

GF('library shares interpolate at 0 to the secret, from any t of n', async () => {
  const cases: Array<[number, number, number]> = []
  for (let k = 0; k < 40; k++) cases.push([...randTN(), randInt(1, 300)])
  cases.push([2, 255, 16], [255, 255, 4], [128, 200, 8])
  for (const [t, n, len] of cases) {
    const secret = randomBytes(len)
    const shares = await libSplit(secret, t, n)
    const subset = shuffle(shares).slice(0, randInt(t, n))
    assert.equal(interpolateAt(subset, 0), secret, `t=${t} n=${n}`)
  }
})

GF('refreshed shares (share + zero sharing) still combine with the library to the same secret', async () => {
  for (let k = 0; k < 40; k++) {
    const [t, n] = randTN()
    const secret = randomBytes(k % 8 === 0 ? 2109 : randInt(32, 128))
    const shares = await libSplit(secret, t, n)
    const xs = shares.map((s) => s.x)
    // in the protocol every holder contributes one zero sharing; their sum is the refresh
    const contributors = randInt(1, n)
    let refreshed = shares
    for (let c = 0; c < contributors; c++) {
      const deltas = zeroSharing(xs, t, secret.length)
      assert.is(deltas.length, n)
      refreshed = refreshed.map((s, i) => ({ x: s.x, bytes: addBytes(s.bytes, deltas[i]) }))
    }
    for (let i = 0; i < n; i++) assert.not.equal(refreshed[i].bytes, shares[i].bytes, 'every share changes')
    for (let trial = 0; trial < 3; trial++) {
      const subset = shuffle(refreshed).slice(0, randInt(t, n))
      assert.equal(await libCombine(subset), secret, `t=${t} n=${n}`)
    }
  }
})

GF('shares from different refresh epochs do not combine to the secret', async () => {
  for (let k = 0; k < 60; k++) {
    const [t, n] = randTN()
    const secret = randomBytes(32)
    const old = await libSplit(secret, t, n)
    const deltas = zeroSharing(old.map((s) => s.x), t, secret.length)
    const fresh = old.map((s, i) => ({ x: s.x, bytes: addBytes(s.bytes, deltas[i]) }))
    // t distinct x, at least one from each epoch
    const order = shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, t)
    const cut = randInt(1, t - 1)
    const mixed = order.map((idx, j) => (j < cut ? old[idx] : fresh[idx]))
    assert.not.equal(await libCombine(mixed), secret, `t=${t} n=${n} cut=${cut}`)
  }
})

GF('a zero sharing interpolates to zero from any t of its values, and is random otherwise', () => {
  for (let k = 0; k < 100; k++) {
    const [t, n] = randTN()
    const xs = distinctXs(n)
    const deltas = zeroSharing(xs, t, 32)
    const points = xs.map((x, i) => ({ x, bytes: deltas[i] }))
    const subset = shuffle(points).slice(0, t)
    assert.equal(interpolateAt(subset, 0), new Uint8Array(32))
    assert.not.equal(deltas[0], new Uint8Array(32))
  }
})

GF('repair: a share interpolated for a new x combines with t − 1 original shares', async () => {
  for (let k = 0; k < 50; k++) {
    const [t, n] = randTN()
    const secret = randomBytes(k % 10 === 0 ? 2109 : randInt(16, 128))
    const shares = await libSplit(secret, t, n)
    const helpers = shuffle(shares).slice(0, t)
    const used = new Set(shares.map((s) => s.x))
    const newX = distinctXs(255).find((x) => !used.has(x)) ?? 0
    const repaired: Share = { x: newX, bytes: interpolateAt(helpers, newX) }
    // the same share as the sum of each helper's Lagrange contribution λ_i(newX)·y_i
    const xs = helpers.map((s) => s.x)
    let sum: Uint8Array = new Uint8Array(secret.length)
    helpers.forEach((s, i) => { sum = addBytes(sum, scaleBytes(lagrangeCoefficient(xs, i, newX), s.bytes)) })
    assert.equal(sum, repaired.bytes)
    const others = shuffle(shares).slice(0, t - 1)
    assert.equal(await libCombine([...others, repaired]), secret, `t=${t} n=${n}`)
    // interpolating at an existing x reproduces that holder's share exactly
    const lost = shares.find((s) => !helpers.includes(s))
    if (lost !== undefined) assert.is(toHex(interpolateAt(helpers, lost.x)), toHex(lost.bytes))
  }
})

GF.run()
