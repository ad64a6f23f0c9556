/**
 * Arithmetic in GF(2^8) with exactly the field and tables of
 * `shamir-secret-sharing` (reduction polynomial x^8 + x^4 + x^3 + x + 1,
 * generator 0xe5, its LOG/EXP layout including `LOG[1] = 255`), so polynomials
 * built here stay compatible with that library's `combine`. Proactive refresh
 * ({@link zeroSharing}) and repair ({@link interpolateAt}) build on it without
 * needing the secret. Not constant-time, like the library ({@link mul}).
 *
 * @module
 */
import { aint, randomBytes, wipe } from './bytes.ts'
import type { Share } from './shares.ts'

/** The reduction polynomial x^8 + x^4 + x^3 + x + 1 (the AES field). */
export const FIELD_POLY = 0x11b
/** The generator the library's tables are built on. */
export const GENERATOR = 0xe5

/** Carry-less multiply reduced by {@link FIELD_POLY}; used only to build the tables. */
function slowMul (a: number, b: number): number {
  let r = 0
  while (b > 0) {
    if ((b & 1) !== 0) r ^= a
    a <<= 1
    if ((a & 0x100) !== 0) a ^= FIELD_POLY
    b >>= 1
  }
  return r
}

function buildTables (): { log: Uint8Array, exp: Uint8Array } {
  const exp = new Uint8Array(256)
  const log = new Uint8Array(256)
  let v = 1
  for (let i = 0; i < 256; i++) {
    exp[i] = v
    // i = 255 wraps to g^255 = 1 and overwrites LOG[1] with 255, which is the
    // library's table (taken from HashiCorp Vault); LOG[0] stays 0, unused.
    if (i > 0) log[v] = i
    v = slowMul(v, GENERATOR)
  }
  return { log, exp }
}

const TABLES = buildTables()
/** log_g(x) for each byte x, laid out as in `shamir-secret-sharing`. Do not modify. */
export const LOG_TABLE: Readonly<Uint8Array> = TABLES.log
/** g^i for i in 0..255 (EXP[255] = 1), laid out as in `shamir-secret-sharing`. Do not modify. */
export const EXP_TABLE: Readonly<Uint8Array> = TABLES.exp

const LOG = TABLES.log
const EXP = TABLES.exp

// Unchecked kernels for loops over typed arrays, whose elements are bytes by construction.
function mulU (a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[(LOG[a] + LOG[b]) % 255]
}
function divU (a: number, b: number): number {
  return a === 0 ? 0 : EXP[(LOG[a] - LOG[b] + 255) % 255]
}

function abyte (v: unknown, name: string): number {
  return aint(v, 0, 255, name)
}

/**
 * Field addition, which is also subtraction (XOR).
 *
 * @param a - a byte
 * @param b - a byte
 * @returns a + b in GF(2^8)
 * @throws {TypeError} when an argument is not an integer; {RangeError} outside 0..255
 * @example add(0x53, 0xca) // 0x99
 */
export function add (a: number, b: number): number {
  return abyte(a, 'a') ^ abyte(b, 'b')
}

/**
 * Field multiplication.
 *
 * Not constant-time: like the library, it uses table lookups indexed by
 * secret bytes and branches on zero operands. It runs inside one process on
 * data that process already holds; no remote timing oracle is exposed.
 *
 * @param a - a byte
 * @param b - a byte
 * @returns a · b in GF(2^8)
 * @throws {TypeError} when an argument is not an integer; {RangeError} outside 0..255
 * @example mul(0x53, 0xca) // 0x01 (they are inverses in the AES field)
 */
export function mul (a: number, b: number): number {
  return mulU(abyte(a, 'a'), abyte(b, 'b'))
}

/**
 * Field division.
 *
 * @param a - dividend byte
 * @param b - divisor byte, non-zero
 * @returns a / b in GF(2^8)
 * @throws {RangeError} when `b` is 0 or an argument is outside 0..255; {TypeError} for non-integers
 * @example div(1, 0x53) // 0xca
 */
export function div (a: number, b: number): number {
  abyte(a, 'a')
  if (abyte(b, 'b') === 0) throw new RangeError('b must be non-zero (division by zero)')
  return divU(a, b)
}

/**
 * Multiplicative inverse.
 *
 * @param a - a non-zero byte
 * @returns a^-1 in GF(2^8)
 * @throws {RangeError} when `a` is 0 or outside 0..255; {TypeError} for non-integers
 * @example inv(0x53) // 0xca
 */
export function inv (a: number): number {
  if (abyte(a, 'a') === 0) throw new RangeError('a must be non-zero (0 has no inverse)')
  return divU(1, a)
}

/**
 * Evaluate a polynomial by Horner's rule.
 *
 * @param coeffs - coefficients, `coeffs[0]` the constant term; at least one
 * @param x - the point, 0..255 (0 yields the constant term)
 * @returns the polynomial's value at `x`
 * @throws {TypeError} when `coeffs` is not a Uint8Array or `x` not an integer; {RangeError} for empty `coeffs` or `x` outside 0..255
 * @example evalPoly(Uint8Array.of(7, 1), 2) // 7 ^ 2 = 5
 */
export function evalPoly (coeffs: Uint8Array, x: number): number {
  if (!(coeffs instanceof Uint8Array)) throw new TypeError('coeffs must be a Uint8Array')
  if (coeffs.length === 0) throw new RangeError('coeffs must not be empty')
  abyte(x, 'x')
  let r = coeffs[coeffs.length - 1]
  for (let i = coeffs.length - 2; i >= 0; i--) r = mulU(r, x) ^ coeffs[i]
  return r
}

/** Validate a list of distinct x-coordinates, each in [min, 255]. */
function axs (xs: unknown, min: number, name: string): number[] {
  if (!Array.isArray(xs)) throw new TypeError(`${name} must be an array of integers`)
  if (xs.length === 0) throw new RangeError(`${name} must not be empty`)
  if (xs.length > 256) throw new RangeError(`${name} has more than 256 entries`)
  const seen = new Set<number>()
  for (let k = 0; k < xs.length; k++) {
    const x = aint(xs[k], min, 255, `${name}[${k}]`)
    if (seen.has(x)) throw new RangeError(`${name} must be distinct, ${x} repeats`)
    seen.add(x)
  }
  return xs as number[]
}

/** λ_i(at) over validated, distinct `xs`. */
function lagrangeU (xs: readonly number[], i: number, at: number): number {
  let num = 1
  let den = 1
  const xi = xs[i]
  for (let j = 0; j < xs.length; j++) {
    if (j === i) continue
    num = mulU(num, at ^ xs[j])
    den = mulU(den, xi ^ xs[j])
  }
  return divU(num, den)
}

/**
 * The Lagrange basis polynomial of point `i` over `xs`, evaluated at `at`:
 * λ_i(at) = Π_{j≠i} (at − x_j) / (x_i − x_j). A holder of the share at
 * `xs[i]` contributes λ_i(at) · y_i towards the value at `at`
 * (`at = 0` recovers the secret, a new x repairs a lost share).
 *
 * @param xs - distinct x-coordinates (0..255) of the points interpolated through
 * @param i - index into `xs` (not an x value) of the basis polynomial
 * @param at - where to evaluate, 0..255; default 0
 * @returns λ_i(at)
 * @throws {TypeError} for non-arrays or non-integers; {RangeError} for repeated xs, `i` out of bounds or bytes out of range
 * @example lagrangeCoefficient([1, 2, 3], 0, 0)
 */
export function lagrangeCoefficient (xs: number[], i: number, at = 0): number {
  axs(xs, 0, 'xs')
  aint(i, 0, xs.length - 1, 'i')
  return lagrangeU(xs, i, abyte(at, 'at'))
}

/**
 * One party's sharing of zero for proactive refresh: per byte position, a
 * fresh random polynomial of degree `t − 1` with constant term 0, evaluated
 * at each x. Adding it (XOR, {@link addBytes}) to the shares at those x
 * re-randomises them without changing the secret; the result never mixes
 * with shares from before the refresh.
 *
 * @param xs - distinct x-coordinates of the holders, 1..255
 * @param t - the threshold (polynomial degree + 1), 2..255
 * @param length - bytes per share (the secret's length), ≥ 1
 * @returns one fresh Uint8Array of `length` bytes per entry of `xs`, in the same order
 * @throws {TypeError} for non-integers or a non-array `xs`; {RangeError} for values out of range or repeated xs
 * @example const deltas = zeroSharing([17, 40, 201], 2, 64)
 */
export function zeroSharing (xs: number[], t: number, length: number): Uint8Array[] {
  axs(xs, 1, 'xs')
  aint(t, 2, 255, 't')
  aint(length, 1, 0x7fff_ffff, 'length')
  const degree = t - 1
  const out = xs.map(() => new Uint8Array(length))
  // coefficients 1..t-1 of every byte's polynomial, drawn at once
  const coeffs = randomBytes(length * degree)
  for (let b = 0; b < length; b++) {
    const base = b * degree
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k]
      // Horner over coefficients degree..1, then one more multiply by x for the zero constant
      let r = coeffs[base + degree - 1]
      for (let c = degree - 2; c >= 0; c--) r = mulU(r, x) ^ coeffs[base + c]
      out[k][b] = mulU(r, x)
    }
  }
  wipe(coeffs)
  return out
}

/**
 * Bytewise Lagrange interpolation through `points`, evaluated at `at`: for
 * each byte position, the value at `at` of the unique polynomial of degree
 * < points.length through the points. With `at = 0` and t shares this is
 * what `combine` computes; with a new x it is share repair.
 *
 * @param points - shares with distinct x (0..255 allowed) and equal-length bytes; at least one
 * @param at - where to evaluate, 0..255
 * @returns a fresh Uint8Array of the points' byte length
 * @throws {TypeError} for malformed points; {RangeError} for repeated x, unequal lengths or out-of-range values
 * @example const repaired = interpolateAt(threeShares, 99)
 */
export function interpolateAt (points: Share[], at: number): Uint8Array {
  if (!Array.isArray(points)) throw new TypeError('points must be an array of shares')
  if (points.length === 0) throw new RangeError('points must not be empty')
  abyte(at, 'at')
  const xs: number[] = []
  let length = -1
  for (let k = 0; k < points.length; k++) {
    const p = points[k]
    if (p === null || typeof p !== 'object') throw new TypeError(`points[${k}] must be a share`)
    xs.push(p.x)
    if (!(p.bytes instanceof Uint8Array)) throw new TypeError(`points[${k}].bytes must be a Uint8Array`)
    if (length === -1) length = p.bytes.length
    else if (p.bytes.length !== length) throw new RangeError(`points[${k}].bytes must be ${length} bytes like points[0], got ${p.bytes.length}`)
  }
  axs(xs, 0, 'points.x')
  const lambdas = xs.map((_, i) => lagrangeU(xs, i, at))
  const out = new Uint8Array(length)
  for (let k = 0; k < points.length; k++) mulAddInto(out, lambdas[k], points[k].bytes)
  return out
}

function mulAddInto (acc: Uint8Array, c: number, bytes: Uint8Array): void {
  if (c === 0) return
  const lc = LOG[c]
  for (let b = 0; b < bytes.length; b++) {
    const y = bytes[b]
    if (y !== 0) acc[b] ^= EXP[(LOG[y] + lc) % 255]
  }
}

/**
 * Bytewise field addition of two equal-length vectors (XOR), e.g. a share
 * plus a zero-sharing delta.
 *
 * @returns a fresh Uint8Array
 * @throws {TypeError} for non-Uint8Array inputs; {RangeError} when lengths differ
 * @example const refreshed = addBytes(share.bytes, delta)
 */
export function addBytes (a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!(a instanceof Uint8Array)) throw new TypeError('a must be a Uint8Array')
  if (!(b instanceof Uint8Array)) throw new TypeError('b must be a Uint8Array')
  if (a.length !== b.length) throw new RangeError(`b must be ${a.length} bytes like a, got ${b.length}`)
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}

/**
 * Multiply every byte of a vector by a field scalar, e.g. a holder's repair
 * contribution λ_i(x_new) · y_i.
 *
 * @param c - the scalar, 0..255
 * @param bytes - the vector
 * @returns a fresh Uint8Array
 * @throws {TypeError} for a non-Uint8Array or non-integer; {RangeError} when `c` is outside 0..255
 * @example const contribution = scaleBytes(lagrangeCoefficient(xs, i, newX), share.bytes)
 */
export function scaleBytes (c: number, bytes: Uint8Array): Uint8Array {
  abyte(c, 'c')
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array')
  const out = new Uint8Array(bytes.length)
  mulAddInto(out, c, bytes)
  return out
}
