/**
 * A strict, single-pass decoder for deterministic CBOR (RFC 8949 §4.2.1)
 * that remembers where each decoded map came from.
 *
 * `cborg` decodes but neither checks canonical form nor reports where an item
 * sits in its input. This walks cborg's own tokenizer once (so every head,
 * length and minimal-integer rule is cborg's, under `strict`), checks what the
 * tokenizer does not, and records each map's input bytes, so {@link sourceOf}
 * hands back signed bytes without a second encoding pass.
 *
 * @module
 */
import { Tokenizer, Type, encode as cborEncode, rfc8949EncodeOptions, type Token } from 'cborg'

/** Deepest nesting of arrays and maps accepted (bioshard messages use fewer than 8 levels). */
export const MAX_DEPTH = 32

const TOKENIZER_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false
} as const

/** Why the bytes are not canonical CBOR (the caller wraps it in its typed error). */
export class NotCanonicalError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NotCanonicalError'
  }
}

/** Input bytes of decoded maps, by the object they decoded to. */
const sources = new WeakMap<object, { data: Uint8Array, start: number, end: number }>()
const utf8 = new TextEncoder()

function sameBytes (a: Uint8Array, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (a.length !== bEnd - bStart) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[bStart + i]) return false
  return true
}

/** Bytewise order of two byte strings: negative, zero or positive. */
function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i]
    if (d !== 0) return d
  }
  return a.length - b.length
}

class Walk {
  private readonly tokens: InstanceType<typeof Tokenizer>
  private readonly data: Uint8Array
  private readonly record: boolean

  constructor (data: Uint8Array, record: boolean) {
    this.data = data
    this.record = record
    this.tokens = new Tokenizer(data, TOKENIZER_OPTIONS)
  }

  top (): unknown {
    if (this.data.length === 0) throw new NotCanonicalError('no data')
    const value = this.item(0)
    if (!this.tokens.done()) throw new NotCanonicalError('trailing bytes after the value')
    return value
  }

  private item (depth: number): unknown {
    const start = this.tokens.pos()
    if (start >= this.data.length) throw new NotCanonicalError('unexpected end of data')
    const token: Token = this.tokens.next()
    switch (token.type) {
      case Type.uint:
      case Type.negint:
      case Type.bytes:
      case Type.true:
      case Type.false:
      case Type.null:
        return token.value
      case Type.string:
        this.checkText(token.value as string, start, this.tokens.pos())
        return token.value
      case Type.float: {
        const value = token.value as number
        if (!sameBytes(cborEncode(value, rfc8949EncodeOptions), this.data, start, this.tokens.pos())) {
          throw new NotCanonicalError('a number is not in its shortest form')
        }
        return value
      }
      case Type.array: {
        if (depth >= MAX_DEPTH) throw new NotCanonicalError(`nested deeper than ${MAX_DEPTH}`)
        const n = token.value as number
        if (n > this.data.length - this.tokens.pos()) throw new NotCanonicalError('array is longer than the data')
        const out: unknown[] = []
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1))
        return out
      }
      case Type.map:
        if (depth >= MAX_DEPTH) throw new NotCanonicalError(`nested deeper than ${MAX_DEPTH}`)
        return this.map(token.value as number, start, depth)
      default:
        throw new NotCanonicalError(`${token.type.name} items are not allowed`)
    }
  }

  /**
   * cborg's text decoder replaces invalid UTF-8 rather than refusing it, so
   * text must re-encode to its own bytes; ASCII (every map key) needs no
   * re-encoding to show that.
   */
  private checkText (value: string, start: number, end: number): void {
    const minor = this.data[start] & 0x1f
    const from = start + (minor < 24 ? 1 : minor === 24 ? 2 : minor === 25 ? 3 : minor === 26 ? 5 : 9)
    let ascii = true
    for (let i = from; i < end; i++) if (this.data[i] >= 0x80) { ascii = false; break }
    if (ascii) return
    if (!sameBytes(utf8.encode(value), this.data, from, end)) throw new NotCanonicalError('text is not valid UTF-8')
  }

  private map (n: number, start: number, depth: number): Record<string, unknown> {
    if (n > (this.data.length - this.tokens.pos()) / 2) throw new NotCanonicalError('map is longer than the data')
    const out: Record<string, unknown> = {}
    let prevStart = -1
    let prevEnd = -1
    for (let i = 0; i < n; i++) {
      const keyStart = this.tokens.pos()
      const key = this.item(depth + 1)
      const keyEnd = this.tokens.pos()
      if (typeof key !== 'string') throw new NotCanonicalError('map keys must be text')
      if (prevStart >= 0 && compareBytes(this.data.subarray(prevStart, prevEnd), this.data.subarray(keyStart, keyEnd)) >= 0) {
        throw new NotCanonicalError('map keys are not in canonical order or repeat')
      }
      prevStart = keyStart
      prevEnd = keyEnd
      const value = this.item(depth + 1)
      // Defined, not assigned: a "__proto__" key stays plain data instead of setting the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      else out[key] = value
    }
    if (this.record) sources.set(out, { data: this.data, start, end: this.tokens.pos() })
    return out
  }
}

/**
 * Decode one canonical CBOR item.
 *
 * Checked here, beyond cborg's tokenizer: map keys are text, in strictly
 * increasing bytewise order of their encodings (so no duplicates); text
 * re-encodes to its own bytes (valid UTF-8); a float is in its shortest form
 * and not integral (as the encoder writes it); no tags; a `__proto__` key is
 * plain data; nesting at most {@link MAX_DEPTH} deep; nothing after the
 * top-level item.
 *
 * @param data the complete encoding (nothing may follow the item)
 * @param record remember each map's input bytes for {@link sourceOf}
 * @returns the value (maps as plain objects, byte strings as copies)
 * @throws {NotCanonicalError} for anything not canonically encoded; cborg's own errors for malformed heads
 * @example decodeStrict(new Uint8Array([0xa1, 0x61, 0x61, 0x01])) // { a: 1 }
 */
export function decodeStrict (data: Uint8Array, record = true): unknown {
  // A Buffer's slice is a view: read through a plain Uint8Array so that byte
  // strings come out as copies (of type Uint8Array), never aliases of the input.
  const plainView = Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Walk(plainView, record).top()
}

/**
 * The exact input bytes a map came from, as a copy, if it was decoded by
 * {@link decodeStrict}; canonical form makes them the bytes its re-encoding
 * would give, as long as the map has not been changed since.
 *
 * @example sourceOf(decoded.body) // the signed body bytes
 */
export function sourceOf (value: unknown): Uint8Array | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const s = sources.get(value)
  return s === undefined ? undefined : s.data.slice(s.start, s.end)
}
