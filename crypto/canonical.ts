/**
 * The one canonical encoding for everything bioshard signs, hashes or sends:
 * deterministic CBOR (RFC 8949 §4.2.1 core deterministic encoding) via `cborg`.
 * Decoding is strict and checks canonical form in the same pass
 * ({@link decodeCanonical}), so two encodings of one message cannot both verify
 * (no signature malleability). The field readers below let each message
 * decoder validate every field and reject unknown ones before a value is used.
 *
 * @module
 */
import { encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { DecodeError, TooLargeError } from '../errors.ts'
import { decodeStrict, sourceOf, NotCanonicalError } from './canonical-decode.ts'

/** A decoded CBOR map with string keys. */
export type CborMap = Record<string, unknown>

/**
 * Encode a value canonically.
 *
 * @throws {TypeError} when the value holds something {@link decodeCanonical}
 *   refuses (undefined, NaN, ±Infinity, integers beyond 2^53, non-string map
 *   keys, unsupported types)
 * @example encodeCanonical({ b: 1, a: new Uint8Array([1]) })
 */
export function encodeCanonical (value: unknown): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = cborEncode(value, rfc8949EncodeOptions)
  } catch (e) {
    throw new TypeError(`value cannot be encoded canonically: ${(e as Error).message}`)
  }
  // cborg encodes values the strict decoder refuses (an optional field left
  // `undefined`, NaN, a Map with number keys, a BigInt): such bytes could be
  // signed and sent but never decoded by a peer, so refuse them here.
  let check: unknown
  try {
    check = decodeStrict(bytes, false)
  } catch (e) {
    throw new TypeError(`value cannot be encoded canonically: ${(e as Error).message}`)
  }
  // The check copied every byte string of the value, and some are secrets (a store request's share).
  wipeBytesIn(check)
  return bytes
}

/** Zero every byte string in a decoded value. */
function wipeBytesIn (value: unknown): void {
  if (value instanceof Uint8Array) value.fill(0)
  else if (Array.isArray(value)) for (const v of value) wipeBytesIn(v)
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) wipeBytesIn(v)
}

/**
 * The canonical bytes of a value that came out of {@link decodeCanonical}
 * (or a part of one), e.g. the exact bytes a nested signature covers. A map
 * is answered with the input bytes it was decoded from (canonical form makes
 * them its encoding; no second encode on every request's path); anything
 * else is encoded without the decode-back check, since it is known to
 * round-trip. The value must not have been changed since it was decoded, nor
 * its input wiped: take the bytes right after decoding (as `readSigned` does).
 */
export function reencodeDecoded (value: unknown): Uint8Array {
  return sourceOf(value) ?? cborEncode(value, rfc8949EncodeOptions)
}

/**
 * Decode canonical CBOR of at most `maxBytes`. The size limit is checked
 * before parsing; indefinite lengths, undefined, NaN/Infinity, big integers,
 * tags and duplicate map keys are rejected, and every item must be in its one
 * canonical form (checked in the same pass, see {@link decodeStrict}).
 *
 * @throws {TooLargeError} ERR_TOO_LARGE before parsing when over the limit
 * @throws {DecodeError} ERR_DECODE for malformed or non-canonical bytes
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number, what = 'message'): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what} must be bytes`)
  if (bytes.length > maxBytes) throw new TooLargeError(what, bytes.length, maxBytes)
  try {
    return decodeStrict(bytes)
  } catch (e) {
    const why = (e as Error).message
    throw new DecodeError(e instanceof NotCanonicalError ? `${what} is not canonically encoded: ${why}` : `${what} is not valid CBOR: ${why}`)
  }
}

/** The shape {@link decodeMap} requires: a size limit and the map's keys. */
export interface MapShape {
  /** refuse larger input before decoding */
  maxBytes: number
  /** keys that must be present */
  required: readonly string[]
  /** keys that may be present besides (default none) */
  optional?: readonly string[]
}

/** Decode and require a map whose keys are exactly (a subset of optional +) the required ones. */
export function decodeMap (bytes: Uint8Array, what: string, shape: MapShape): CborMap {
  return asMap(decodeCanonical(bytes, shape.maxBytes, what), what, shape.required, shape.optional)
}

/** Require `value` to be a map with all `required` keys and nothing outside `required ∪ optional`. */
export function asMap (value: unknown, what: string, required: readonly string[], optional: readonly string[] = []): CborMap {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new DecodeError(`${what} must be a map`)
  }
  const m = value as CborMap
  for (const k of required) if (!(k in m)) throw new DecodeError(`${what}.${k} is missing`)
  for (const k of Object.keys(m)) {
    if (!required.includes(k) && !optional.includes(k)) throw new DecodeError(`${what}.${k} is not a known field`)
  }
  return m
}

/** Read a byte-string field, optionally of exact length or bounded length. */
export function bytesField (m: CborMap, key: string, what: string, len?: { exact?: number, max?: number, min?: number }): Uint8Array {
  const v = m[key]
  if (!(v instanceof Uint8Array)) throw new DecodeError(`${what}.${key} must be bytes`)
  if (len?.exact !== undefined && v.length !== len.exact) throw new DecodeError(`${what}.${key} must be ${len.exact} bytes`)
  if (len?.max !== undefined && v.length > len.max) throw new DecodeError(`${what}.${key} exceeds ${len.max} bytes`)
  if (len?.min !== undefined && v.length < len.min) throw new DecodeError(`${what}.${key} is shorter than ${len.min} bytes`)
  return v
}

/** An inclusive range of numbers a field may hold. */
export interface FieldRange { min: number, max: number }

/** Read a safe-integer field within `[range.min, range.max]`. */
export function intField (m: CborMap, key: string, what: string, range: FieldRange): number {
  const { min, max } = range
  const v = m[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new DecodeError(`${what}.${key} must be an integer`)
  if (v < min || v > max) throw new DecodeError(`${what}.${key} must be in [${min}, ${max}]`)
  return v
}

/** Read a finite number field within `[range.min, range.max]`. */
export function numberField (m: CborMap, key: string, what: string, range: FieldRange): number {
  const { min, max } = range
  const v = m[key]
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DecodeError(`${what}.${key} must be a number`)
  if (v < min || v > max) throw new DecodeError(`${what}.${key} must be in [${min}, ${max}]`)
  return v
}

/** Read a string field of at most `limits.max` characters, matching `limits.pattern` when given. */
export function strField (m: CborMap, key: string, what: string, limits: { max: number, pattern?: RegExp }): string {
  const { max: maxLen, pattern } = limits
  const v = m[key]
  if (typeof v !== 'string') throw new DecodeError(`${what}.${key} must be a string`)
  if (v.length > maxLen) throw new DecodeError(`${what}.${key} exceeds ${maxLen} characters`)
  if (pattern !== undefined && !pattern.test(v)) throw new DecodeError(`${what}.${key} has an invalid format`)
  return v
}

/** Read a string field that must be one of `values`. */
export function enumField<T extends string> (m: CborMap, key: string, what: string, values: readonly T[]): T {
  const v = m[key]
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new DecodeError(`${what}.${key} must be one of ${values.join(', ')}`)
  return v as T
}

/** Read a boolean field. */
export function boolField (m: CborMap, key: string, what: string): boolean {
  const v = m[key]
  if (typeof v !== 'boolean') throw new DecodeError(`${what}.${key} must be a boolean`)
  return v
}

/** Read an array field of at most `items.max` items, mapping each through `items.item`. */
export function arrayField<T> (m: CborMap, key: string, what: string, items: { max: number, item: (v: unknown, i: number) => T }): T[] {
  const { max: maxItems, item } = items
  const v = m[key]
  if (!Array.isArray(v)) throw new DecodeError(`${what}.${key} must be an array`)
  if (v.length > maxItems) throw new DecodeError(`${what}.${key} has more than ${maxItems} items`)
  return v.map(item)
}
