/**
 * Byte helpers and argument assertions (noble-style): checks throw
 * `TypeError`/`RangeError` naming the argument, so a caller sees which
 * parameter was wrong without a stack dive.
 *
 * @module
 */
import { timingSafeEqual, randomFillSync } from 'node:crypto'

/**
 * Assert `value` is a `Uint8Array` (optionally of exact length) and return it
 * as a plain `Uint8Array` view: Node `Buffer`s (what libp2p stream reads and
 * node:crypto return) are re-viewed without copying, because some libraries
 * (shamir-secret-sharing) reject `Buffer` outright.
 *
 * @throws {TypeError} when not a Uint8Array; {RangeError} when the length is wrong
 * @example abytes(new Uint8Array(32), 32, 'dataKey')
 */
export function abytes (value: unknown, length: number | undefined, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`)
  }
  return plain(value)
}

/**
 * Assert `value` is an integer in `[min, max]`.
 *
 * @throws {TypeError} when not an integer; {RangeError} when out of range
 * @example aint(3, 2, 255, 't')
 */
export function aint (value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer`)
  if (value < min || value > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`)
  return value
}

/** A plain `Uint8Array` view over the same memory (no copy). */
export function plain (b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** Concatenate byte arrays into a fresh plain `Uint8Array`. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

/** Constant-time equality for equal-length inputs; false on a length mismatch. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Cryptographically random bytes. */
export function randomBytes (n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n))
}

/**
 * Overwrite secrets with zeros. JavaScript cannot promise that no copy was
 * made elsewhere (GC moves, engine temporaries); this wipes the buffers we own.
 */
export function wipe (...arrays: Array<Uint8Array | undefined | null>): void {
  for (const a of arrays) a?.fill(0)
}

/** Hex for public values only (ids, keys, hashes); never call on a secret. */
export function toHex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** Parse hex produced by {@link toHex}. @throws {TypeError} on odd length or non-hex characters */
export function fromHex (s: string, name = 'hex'): Uint8Array {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError(`${name} must be an even-length hex string`)
  return plain(Buffer.from(s, 'hex'))
}

/** UTF-8 encode a public string (labels, ids); never a secret. */
export function utf8 (s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

/** Big-endian 4-byte encoding of an unsigned 32-bit integer. */
export function u32be (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
