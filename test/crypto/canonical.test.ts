/**
 * Canonical CBOR (crypto/canonical.ts): round-trips, one encoding per value,
 * strict rejection of every non-canonical or unsupported form, size limits
 * before parsing, field readers, and a seeded fuzz slice.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  arrayField, asMap, boolField, bytesField, decodeCanonical, decodeMap, encodeCanonical, enumField, intField, numberField, reencodeDecoded, strField,
  type CborMap
} from '../../crypto/canonical.ts'
import { MAX_DEPTH } from '../../crypto/canonical-decode.ts'
import { concat, fromHex, toHex, utf8 } from '../../crypto/bytes.ts'
import { DecodeError, TooLargeError } from '../../errors.ts'
import { prng } from '../helpers/random.ts'
import { codeOf } from '../helpers/assert.ts'

const Canonical = suite('canonical')

const MAX = 64 * 1024

function seededBytes (rnd: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256)
  return out
}

/** Assert `f` throws DecodeError whose message contains `text`. */
function decodeErrorNaming (f: () => unknown, text: string): void {
  try {
    f()
    assert.unreachable(`expected ERR_DECODE naming ${text}`)
  } catch (e) {
    assert.instance(e, DecodeError)
    assert.is((e as DecodeError).code, 'ERR_DECODE')
    assert.ok((e as Error).message.includes(text), `"${(e as Error).message}" should name ${text}`)
  }
}

// --- round trips and determinism ------------------------------------------------------

const NESTED = {
  v: 1,
  id: fromHex('00ff10'),
  name: 'ünïcødé ✓',
  neg: -42,
  big: Number.MAX_SAFE_INTEGER,
  small: Number.MIN_SAFE_INTEGER,
  ratio: 0.25,
  flags: [true, false, null],
  empty: { map: {}, list: [], bytes: new Uint8Array(0), str: '' },
  shares: [
    { x: 1, holder: 'peer-a', commitment: new Uint8Array(32).fill(7) },
    { x: 2, holder: 'peer-b', commitment: new Uint8Array(32).fill(9), nested: [[[1, [2, [3]]]]] }
  ]
}

Canonical('round-trips nested maps, arrays, bytes, integers, strings, booleans and null', () => {
  const bytes = encodeCanonical(NESTED)
  const back = decodeCanonical(bytes, MAX)
  assert.equal(back, NESTED)
  assert.equal(encodeCanonical(back), bytes)
  assert.instance((back as { id: unknown }).id, Uint8Array)
})

Canonical('round-trips scalars at the edges of their encodings', () => {
  const values = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
    -1, -24, -25, -256, -257, -(2 ** 32), Number.MIN_SAFE_INTEGER, 1.5, -0.1, 1e300, 5e-324,
    '', 'a', 'x'.repeat(24), 'x'.repeat(256), true, false, null, new Uint8Array(24), new Uint8Array(300)]
  for (const v of values) {
    const bytes = encodeCanonical(v)
    assert.equal(decodeCanonical(bytes, MAX), v, `value ${String(v)}`)
  }
})

Canonical('encodes integers in the shortest form (RFC 8949 §4.2.1)', () => {
  assert.is(toHex(encodeCanonical(23)), '17')
  assert.is(toHex(encodeCanonical(24)), '1818')
  assert.is(toHex(encodeCanonical(256)), '190100')
  assert.is(toHex(encodeCanonical(-1)), '20')
  assert.is(toHex(encodeCanonical(1.5)), 'f93e00')
  // An integral float is an integer: one value, one encoding.
  assert.is(toHex(encodeCanonical(2.0)), '02')
})

Canonical('encodes objects identically whatever the key insertion order', () => {
  const a: Record<string, unknown> = {}
  const b: Record<string, unknown> = {}
  const keys = ['zeta', 'a', 'mm', 'b', 'aa', 'template', 'x']
  keys.forEach((k, i) => { a[k] = i })
  for (const k of [...keys].reverse()) b[k] = keys.indexOf(k)
  assert.equal(encodeCanonical(a), encodeCanonical(b))
  assert.equal(encodeCanonical({ outer: a, list: [b] }), encodeCanonical({ list: [a], outer: b }))
})

Canonical('orders map keys bytewise by their encoding, so shorter keys first', () => {
  // {"b": 2, "aa": 1}: the one-byte key sorts before the two-byte key.
  assert.is(toHex(encodeCanonical({ aa: 1, b: 2 })), 'a261620262616101')
})

Canonical('refuses to encode what the decoder would refuse, with TypeError', () => {
  const bad: unknown[] = [undefined, { optional: undefined }, [1, undefined], NaN, Infinity, -Infinity, { n: NaN },
    new Map([[1, 2]]), 2n ** 64n, new Date(0), () => 1, Symbol('s')]
  for (const v of bad) {
    assert.throws(() => encodeCanonical(v), (e: unknown) => e instanceof TypeError, `value ${String(v)}`)
  }
})

// --- strict decoding ---------------------------------------------------------------------

const NON_CANONICAL: Array<[string, string]> = [
  ['a2616201616102', 'map with unsorted keys {"b":1,"a":2}'],
  ['a3616101616202616103', 'map with unsorted keys {"a","b","a"} (also duplicate)'],
  ['1801', 'integer 1 in a one-byte argument'],
  ['190017', 'integer 23 in a two-byte argument'],
  ['1a00000018', 'integer 24 in a four-byte argument'],
  ['1b0000000000000001', 'integer 1 in an eight-byte argument'],
  ['3800', 'negative integer -1 in a one-byte argument'],
  ['780161', 'text length in a one-byte argument'],
  ['580101', 'byte-string length in a one-byte argument'],
  ['980101', 'array length in a one-byte argument'],
  ['b8016161f6', 'map length in a one-byte argument'],
  ['9f01ff', 'indefinite-length array'],
  ['bf616101ff', 'indefinite-length map'],
  ['5f4101ff', 'indefinite-length byte string'],
  ['7f6161ff', 'indefinite-length text string'],
  ['a2616101616102', 'duplicate map key'],
  ['0100', 'trailing byte'],
  ['a0a0', 'two top-level items'],
  ['f97e00', 'NaN'],
  ['fa7fc00000', 'NaN as float32'],
  ['f97c00', 'Infinity'],
  ['f9fc00', '-Infinity'],
  ['f7', 'undefined'],
  ['fb3ff8000000000000', '1.5 as float64 instead of float16'],
  ['f93c00', 'integer 1 encoded as a float'],
  ['f98000', 'negative zero'],
  ['1bffffffffffffffff', 'integer beyond 2^53'],
  ['3b0020000000000000', 'negative integer beyond -2^53'],
  ['c11a00000000', 'a tag'],
  ['a10102', 'non-string map key'],
  ['a1400102', 'byte-string map key'],
  ['f0', 'simple value'],
  ['f8ff', 'two-byte simple value'],
  ['62c328', 'invalid UTF-8'],
  ['', 'empty input'],
  ['62', 'truncated text header'],
  ['6261', 'truncated text'],
  ['a161', 'truncated map'],
  ['1c', 'reserved additional info 28'],
  ['ff', 'a lone break']
]

for (const [hex, what] of NON_CANONICAL) {
  Canonical(`rejects ${what} (${hex || 'no bytes'}) with ERR_DECODE`, () => {
    assert.is(codeOf(() => decodeCanonical(fromHex(hex), MAX)), 'ERR_DECODE')
  })
}

Canonical('a "__proto__" key is plain data, never a prototype', () => {
  const bytes = encodeCanonical(JSON.parse('{"__proto__": {"admin": true}}'))
  const v = decodeCanonical(bytes, MAX) as Record<string, unknown>
  assert.is(Object.getPrototypeOf(v), Object.prototype)
  assert.is((v as { admin?: unknown }).admin, undefined)
  assert.equal(Object.keys(v), ['__proto__'])
})

Canonical('rejects input that is not bytes with ERR_DECODE', () => {
  assert.is(codeOf(() => decodeCanonical('a0' as unknown as Uint8Array, MAX)), 'ERR_DECODE')
  assert.is(codeOf(() => decodeCanonical([0xa0] as unknown as Uint8Array, MAX)), 'ERR_DECODE')
})

Canonical('accepts Buffer input', () => {
  assert.equal(decodeCanonical(Buffer.from(encodeCanonical({ a: 1 })), MAX), { a: 1 })
})

// --- size limits ---------------------------------------------------------------------------

Canonical('rejects oversize input with ERR_TOO_LARGE before parsing it', () => {
  const valid = encodeCanonical({ blob: new Uint8Array(100) })
  assert.is(codeOf(() => decodeCanonical(valid, valid.length)), 'no error')
  assert.is(codeOf(() => decodeCanonical(valid, valid.length - 1)), 'ERR_TOO_LARGE')
  // Garbage over the limit is TooLarge, not Decode: the parser never ran.
  const garbage = new Uint8Array(1000).fill(0xff)
  try {
    decodeCanonical(garbage, 999, 'fetch request')
    assert.unreachable()
  } catch (e) {
    assert.instance(e, TooLargeError)
    assert.match((e as Error).message, 'fetch request')
  }
  assert.is(codeOf(() => decodeMap(garbage, 'store request', { maxBytes: 10, required: [] })), 'ERR_TOO_LARGE')
})

Canonical('does not crash on deep nesting within the size limit', () => {
  const depth = 10_000
  const deep = concat(new Uint8Array(depth).fill(0x81), Uint8Array.of(0x00))
  const code = codeOf(() => decodeCanonical(deep, deep.length))
  assert.ok(code === 'no error' || code === 'ERR_DECODE', code)
})

// --- field readers ---------------------------------------------------------------------------

const WHAT = 'manifest'
const MSG: CborMap = {
  id: new Uint8Array(32),
  t: 3,
  score: 0.75,
  name: 'site-a',
  modality: 'face',
  ok: true,
  items: [1, 2, 3],
  note: 'x'
}

Canonical('decodeMap returns a map with its required and optional fields', () => {
  const required = ['id', 't', 'score', 'name', 'modality', 'ok', 'items']
  const m = decodeMap(encodeCanonical(MSG), WHAT, { maxBytes: MAX, required, optional: ['note', 'absent'] })
  assert.equal(m, MSG)
})

Canonical('asMap rejects non-maps, missing and unknown fields, naming them', () => {
  for (const v of [null, 1, 'map', [], new Uint8Array(1), true]) decodeErrorNaming(() => asMap(v, WHAT, []), 'manifest must be a map')
  decodeErrorNaming(() => asMap({ a: 1 }, WHAT, ['a', 'b']), 'manifest.b is missing')
  decodeErrorNaming(() => asMap({ a: 1, extra: 2 }, WHAT, ['a'], ['opt']), 'manifest.extra is not a known field')
  decodeErrorNaming(() => decodeMap(encodeCanonical([1]), 'store request', { maxBytes: MAX, required: [] }), 'store request must be a map')
  assert.equal(asMap({ a: 1, opt: 2 }, WHAT, ['a'], ['opt']), { a: 1, opt: 2 })
})

Canonical('bytesField rejects wrong types and lengths, naming the field', () => {
  decodeErrorNaming(() => bytesField(MSG, 'name', WHAT), 'manifest.name must be bytes')
  decodeErrorNaming(() => bytesField(MSG, 'missing', WHAT), 'manifest.missing must be bytes')
  decodeErrorNaming(() => bytesField(MSG, 'id', WHAT, { exact: 31 }), 'manifest.id must be 31 bytes')
  decodeErrorNaming(() => bytesField(MSG, 'id', WHAT, { max: 16 }), 'manifest.id exceeds 16 bytes')
  decodeErrorNaming(() => bytesField(MSG, 'id', WHAT, { min: 33 }), 'manifest.id is shorter than 33 bytes')
  assert.is(bytesField(MSG, 'id', WHAT, { exact: 32 }).length, 32)
  assert.is(bytesField(MSG, 'id', WHAT, { min: 32, max: 32 }).length, 32)
})

Canonical('intField rejects non-integers and out-of-range values, naming the field', () => {
  decodeErrorNaming(() => intField(MSG, 'score', WHAT, { min: 0, max: 10 }), 'manifest.score must be an integer')
  decodeErrorNaming(() => intField(MSG, 'name', WHAT, { min: 0, max: 10 }), 'manifest.name must be an integer')
  decodeErrorNaming(() => intField({ big: 2 ** 60 }, 'big', WHAT, { min: 0, max: Infinity }), 'manifest.big must be an integer')
  decodeErrorNaming(() => intField(MSG, 't', WHAT, { min: 4, max: 10 }), 'manifest.t must be in [4, 10]')
  decodeErrorNaming(() => intField(MSG, 't', WHAT, { min: 0, max: 2 }), 'manifest.t must be in [0, 2]')
  assert.is(intField(MSG, 't', WHAT, { min: 3, max: 3 }), 3)
})

Canonical('numberField rejects non-numbers and out-of-range values, naming the field', () => {
  decodeErrorNaming(() => numberField(MSG, 'name', WHAT, { min: 0, max: 1 }), 'manifest.name must be a number')
  decodeErrorNaming(() => numberField({ n: NaN }, 'n', WHAT, { min: 0, max: 1 }), 'manifest.n must be a number')
  decodeErrorNaming(() => numberField({ n: Infinity }, 'n', WHAT, { min: 0, max: Infinity }), 'manifest.n must be a number')
  decodeErrorNaming(() => numberField(MSG, 'score', WHAT, { min: 0.8, max: 1 }), 'manifest.score must be in [0.8, 1]')
  assert.is(numberField(MSG, 'score', WHAT, { min: 0, max: 1 }), 0.75)
})

Canonical('strField rejects non-strings, overlong and malformed strings, naming the field', () => {
  decodeErrorNaming(() => strField(MSG, 't', WHAT, { max: 10 }), 'manifest.t must be a string')
  decodeErrorNaming(() => strField(MSG, 'name', WHAT, { max: 5 }), 'manifest.name exceeds 5 characters')
  decodeErrorNaming(() => strField(MSG, 'name', WHAT, { max: 50, pattern: /^[0-9]+$/ }), 'manifest.name has an invalid format')
  assert.is(strField(MSG, 'name', WHAT, { max: 6, pattern: /^site-[a-z]$/ }), 'site-a')
})

Canonical('enumField rejects values outside the set, naming the field', () => {
  decodeErrorNaming(() => enumField(MSG, 'name', WHAT, ['face', 'voice']), 'manifest.name must be one of face, voice')
  decodeErrorNaming(() => enumField(MSG, 't', WHAT, ['face', 'voice']), 'manifest.t must be one of')
  // Inherited property names are not members of the set.
  decodeErrorNaming(() => enumField({ m: 'toString' }, 'm', WHAT, ['face']), 'manifest.m must be one of')
  assert.is(enumField(MSG, 'modality', WHAT, ['face', 'voice'] as const), 'face')
})

Canonical('boolField rejects non-booleans, naming the field', () => {
  decodeErrorNaming(() => boolField(MSG, 't', WHAT), 'manifest.t must be a boolean')
  decodeErrorNaming(() => boolField({ b: null }, 'b', WHAT), 'manifest.b must be a boolean')
  assert.is(boolField(MSG, 'ok', WHAT), true)
})

Canonical('arrayField rejects non-arrays and too many items, and lets item readers reject items', () => {
  decodeErrorNaming(() => arrayField(MSG, 'name', WHAT, { max: 10, item: (v) => v }), 'manifest.name must be an array')
  decodeErrorNaming(() => arrayField(MSG, 'items', WHAT, { max: 2, item: (v) => v }), 'manifest.items has more than 2 items')
  const digit = (v: unknown, i: number): number => intField({ v }, 'v', `${WHAT}.xs[${i}]`, { min: 0, max: 9 })
  decodeErrorNaming(() => arrayField({ xs: [1, 'two'] }, 'xs', WHAT, { max: 10, item: digit }), 'manifest.xs[1].v must be an integer')
  assert.equal(arrayField(MSG, 'items', WHAT, { max: 3, item: (v) => (v as number) * 2 }), [2, 4, 6])
})

// --- fuzz -----------------------------------------------------------------------------------

/** @returns whether `bytes` decoded */
function assertOnlyTypedErrors (bytes: Uint8Array, limit: number, label: string): boolean {
  let value: unknown
  try {
    value = decodeCanonical(bytes, limit)
  } catch (e) {
    if (e instanceof DecodeError || e instanceof TooLargeError) return false
    throw new Error(`${label}: ${toHex(bytes.subarray(0, 64))} threw ${(e as Error)?.name}: ${(e as Error)?.message}`)
  }
  // Whatever decodes is canonical: it re-encodes to the very same bytes,
  // and the bytes it is answered with as a decoded value are those too.
  assert.is(toHex(encodeCanonical(value)), toHex(bytes), label)
  assert.is(toHex(reencodeDecoded(value)), toHex(bytes), `${label} (source bytes)`)
  return true
}

Canonical('random byte strings only ever decode canonically or throw DecodeError/TooLargeError', () => {
  const rnd = prng(0xcb0f)
  let decoded = 0
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rnd() * (i < 1000 ? 8 : 96))
    const bytes = seededBytes(rnd, len)
    if (assertOnlyTypedErrors(bytes, 64, `random #${i}`)) decoded++
  }
  // Short strings decode often enough that the re-encoding check runs too.
  assert.ok(decoded > 10, `only ${decoded} random strings decoded`)
})

Canonical('mutations of valid encodings only ever decode canonically or throw DecodeError/TooLargeError', () => {
  const rnd = prng(0x5eed)
  let decoded = 0
  const seeds = [NESTED, { a: 1, b: [1, 2, { c: utf8('x') }] }, [null, true, -5, 'str', 1.5], { aa: 1, b: 2 }].map((v) => encodeCanonical(v))
  for (let i = 0; i < 3000; i++) {
    const base = seeds[i % seeds.length]
    let m: Uint8Array = base.slice()
    const kind = Math.floor(rnd() * 6)
    const pos = Math.floor(rnd() * m.length)
    if (kind === 0) m[pos] ^= 1 << Math.floor(rnd() * 8) // flip a bit
    else if (kind === 1) m[pos] = Math.floor(rnd() * 256) // replace a byte
    else if (kind === 2) m = concat(m.subarray(0, pos), Uint8Array.of(Math.floor(rnd() * 256)), m.subarray(pos)) // insert
    else if (kind === 3) m = concat(m.subarray(0, pos), m.subarray(pos + 1)) // delete
    else if (kind === 4) m = m.subarray(0, pos) // truncate
    else m = concat(m.subarray(0, pos), seededBytes(rnd, 1 + Math.floor(rnd() * 8)), m.subarray(pos)) // splice junk
    if (assertOnlyTypedErrors(m, 4096, `mutation #${i} kind ${kind}`)) decoded++
    assertOnlyTypedErrors(m, Math.max(0, m.length - 1), `mutation #${i} over the limit`)
  }
  assert.ok(decoded > 10, `only ${decoded} mutations decoded`)
})

Canonical('a decoded map is answered with a copy of its exact input bytes, nested maps included', () => {
  const inner = { b: utf8('signed'), a: [1, 2, 3] }
  const bytes = encodeCanonical({ sig: new Uint8Array(64).fill(7), body: { inner, n: 5 } })
  const v = decodeCanonical(bytes, MAX) as { body: { inner: CborMap } }
  assert.is(toHex(reencodeDecoded(v.body)), toHex(encodeCanonical({ inner, n: 5 })))
  assert.is(toHex(reencodeDecoded(v.body.inner)), toHex(encodeCanonical(inner)))
  reencodeDecoded(v.body).fill(0)
  assert.is(toHex(reencodeDecoded(v.body)), toHex(encodeCanonical({ inner, n: 5 })), 'wiping one answer leaves the next intact')
})

Canonical('byte strings decoded from a Buffer are plain Uint8Array copies, never views of the input', () => {
  const input = Buffer.from(encodeCanonical({ b: Uint8Array.of(1, 2, 3) }))
  const v = decodeCanonical(input, MAX) as { b: Uint8Array }
  assert.is(Object.getPrototypeOf(v.b), Uint8Array.prototype)
  input.fill(0)
  assert.equal(v.b, Uint8Array.of(1, 2, 3))
})

Canonical('values that were never decoded are encoded afresh', () => {
  assert.is(toHex(reencodeDecoded({ z: 1, a: 'x' })), toHex(encodeCanonical({ a: 'x', z: 1 })))
  assert.is(toHex(reencodeDecoded([1, 'two'])), toHex(encodeCanonical([1, 'two'])))
})

Canonical(`nesting deeper than ${MAX_DEPTH} is refused with ERR_DECODE before it can exhaust the stack`, () => {
  const nested = (depth: number, open: number): Uint8Array => concat(new Uint8Array(depth).fill(open), Uint8Array.of(0x01))
  assert.ok(decodeCanonical(nested(MAX_DEPTH, 0x81), MAX) !== undefined, `${MAX_DEPTH} levels decode`)
  decodeErrorNaming(() => decodeCanonical(nested(MAX_DEPTH + 1, 0x81), MAX), 'deeper')
  decodeErrorNaming(() => decodeCanonical(nested(200_000, 0x81), 1 << 20), 'deeper')
})

Canonical('a length claiming more items than the data holds is refused at once (ERR_DECODE)', () => {
  assert.is(codeOf(() => decodeCanonical(fromHex('9a7fffffff01'), MAX)), 'ERR_DECODE')
  assert.is(codeOf(() => decodeCanonical(fromHex('ba7fffffff6161'), MAX)), 'ERR_DECODE')
})

Canonical.run()
