/**
 * Mutations of captured messages, as fast-check arbitraries (so a failing
 * input shrinks and replays from its seed): byte-level edits (bit flips,
 * inserts, deletes, splices, CBOR head and length edits, truncation) and
 * CBOR-aware edits that decode a message, change one field to a hostile
 * value (integer limits, NaN, huge strings, duplicated elements, deep
 * nesting, swapped or missing or unknown fields) and encode it again without
 * the canonical encoder's own checks, so the hostile value reaches the
 * decoder under test.
 *
 * @module
 */
import fc from 'fast-check'
import { encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { decodeStrict } from '../../crypto/canonical-decode.ts'

/** Byte values that sit on CBOR head boundaries (minor 23/24/27/31, each major type's first head). */
const INTERESTING_BYTES = [0x00, 0x17, 0x18, 0x1b, 0x1f, 0x20, 0x3b, 0x40, 0x58, 0x5b, 0x5f, 0x60, 0x78, 0x7b, 0x7f, 0x80, 0x98, 0x9b, 0x9f,
  0xa0, 0xb8, 0xbb, 0xbf, 0xc0, 0xd8, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xfb, 0xff]

/** Values that sit on the limits bioshard's fields check (times, seq, x, counts, lengths). */
export const HOSTILE_VALUES: readonly unknown[] = [
  0, -1, 1, 2, 254, 255, 256, 65_535, 2 ** 32, 2 ** 40, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
  8_640_000_000_000_000, 8_640_000_000_000_001, 1.5, -0.5, 1e300, -0, NaN, Infinity, -Infinity, 2n ** 64n - 1n, -(2n ** 64n),
  '', 'a', '\u0000', '__proto__', 'constructor', 'é'.repeat(40), 'x'.repeat(70_000), '12D3KooW' + '1'.repeat(44),
  new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(70_000), null, true, false, [], {}, [1, 1], [2, 1],
  Array.from({ length: 300 }, (_, i) => i + 1), { __proto__: null, x: 1 }
]

/** A byte-level edit at positions taken modulo the input's length. */
type ByteOp =
  | { k: 'flip', at: number, bit: number }
  | { k: 'set', at: number, v: number }
  | { k: 'insert', at: number, bytes: Uint8Array }
  | { k: 'delete', at: number, len: number }
  | { k: 'truncate', at: number }
  | { k: 'dup', at: number, len: number }
  | { k: 'splice', at: number, from: number, len: number }
  | { k: 'head', at: number, info: number, arg: number }

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ k: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ k: fc.constant('head' as const), at: fc.nat(), info: fc.integer({ min: 0, max: 31 }), arg: fc.nat() })
)

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Rewrite the CBOR head at `at`: keep its major type, give it `info` and, for 24–27, an argument of that width. */
function editHead (b: Uint8Array, at: number, info: number, arg: number): Uint8Array {
  const major = b[at] & 0xe0
  const width = info >= 24 && info <= 27 ? 1 << (info - 24) : 0
  const head = new Uint8Array(1 + width)
  head[0] = major | info
  for (let i = width, a = arg; i >= 1; i--, a = Math.floor(a / 256)) head[i] = a & 0xff
  const old = b[at] & 0x1f
  const oldWidth = old >= 24 && old <= 27 ? 1 << (old - 24) : 0
  return cat(b.subarray(0, at), head, b.subarray(Math.min(b.length, at + 1 + oldWidth)))
}

/** Apply one byte-level edit; `other` is a second seed for splices. */
export function applyByteOp (b: Uint8Array, op: ByteOp, other: Uint8Array): Uint8Array {
  if (b.length === 0) return op.k === 'insert' ? op.bytes.slice() : b
  const at = op.at % b.length
  switch (op.k) {
    case 'flip': { const c = b.slice(); c[at] ^= 1 << op.bit; return c }
    case 'set': { const c = b.slice(); c[at] = op.v; return c }
    case 'insert': return cat(b.subarray(0, at), op.bytes, b.subarray(at))
    case 'delete': return cat(b.subarray(0, at), b.subarray(at + op.len))
    case 'truncate': return b.slice(0, at)
    case 'dup': return cat(b.subarray(0, at + op.len), b.subarray(at))
    case 'splice': {
      const from = other.length === 0 ? 0 : op.from % other.length
      return cat(b.subarray(0, at), other.subarray(from, from + op.len), b.subarray(at + op.len))
    }
    case 'head': return editHead(b, at, op.info, op.arg)
  }
}

/** A CBOR-aware edit: at the node numbered `at` (in walk order), do `k`. */
interface TreeOp { k: 'replace' | 'delete' | 'add' | 'swap' | 'dup' | 'nest' | 'wrap', at: number, other: number, value: unknown, depth: number }

const treeOp: fc.Arbitrary<TreeOp> = fc.record({
  k: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'add', 'swap', 'dup', 'nest', 'wrap'),
  at: fc.nat(),
  other: fc.nat(),
  value: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_VALUES) }, fc.jsonValue(), fc.uint8Array({ maxLength: 70 })),
  depth: fc.integer({ min: 1, max: 200 })
}) as fc.Arbitrary<TreeOp>

/** Containers of a decoded message with the key or index of each child, in walk order. */
function slots (v: unknown, out: Array<{ parent: Record<string, unknown> | unknown[], key: string | number }> = []): typeof out {
  if (Array.isArray(v)) v.forEach((c, i) => { out.push({ parent: v, key: i }); slots(c, out) })
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const [k, c] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); slots(c, out) }
  }
  return out
}

function nested (depth: number, leaf: unknown): unknown {
  let v = leaf
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v }
  return v
}

function applyTreeOp (tree: unknown, op: TreeOp): unknown {
  const all = slots(tree)
  if (all.length === 0) return op.k === 'wrap' ? [tree, tree] : op.value
  const s = all[op.at % all.length]
  const p = s.parent as Record<string | number, unknown>
  // Copies, never shared references: a swap must not make a cycle, nor an edit change HOSTILE_VALUES.
  const value = structuredClone(op.value)
  switch (op.k) {
    case 'replace': p[s.key] = value; break
    case 'delete': if (Array.isArray(p)) p.splice(s.key as number, 1); else delete p[s.key]; break
    case 'add': if (Array.isArray(p)) p.push(p[s.key]); else p[`zz${op.other % 7}`] = value; break
    case 'swap': {
      const t = all[op.other % all.length]
      const q = t.parent as Record<string | number, unknown>
      ;[p[s.key], q[t.key]] = [structuredClone(q[t.key]), structuredClone(p[s.key])]
      break
    }
    case 'dup': if (Array.isArray(p)) p.splice(s.key as number, 0, p[s.key]); else p[s.key] = [p[s.key], p[s.key]]; break
    case 'nest': p[s.key] = nested(op.depth, p[s.key]); break
    case 'wrap': p[s.key] = [p[s.key]]; break
  }
  return tree
}

/** Decode `seed`, apply the edits and encode again (no canonical checks on the way out); the seed itself when it does not decode. */
export function applyTreeOps (seed: Uint8Array, ops: readonly TreeOp[]): Uint8Array {
  let tree: unknown
  try { tree = decodeStrict(seed, false) } catch { return seed }
  for (const op of ops) tree = applyTreeOp(tree, op)
  try {
    return cborEncode(tree, rfc8949EncodeOptions)
  } catch {
    return seed
  }
}

/** Byte-level mutations of the seeds: 1–8 edits of one seed, with a second seed to splice from. */
export function byteMutations (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat(), fc.nat(), fc.array(byteOp, { minLength: 1, maxLength: 8 })).map(([i, j, ops]) => {
    let b = seeds[i % seeds.length]
    for (const op of ops) b = applyByteOp(b, op, seeds[j % seeds.length])
    return b
  })
}

/** CBOR-aware mutations of the seeds: 1–4 field edits, sometimes followed by a byte edit. */
export function treeMutations (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat(), fc.array(treeOp, { minLength: 1, maxLength: 4 }), fc.option(byteOp, { freq: 4 })).map(([i, ops, extra]) => {
    const b = applyTreeOps(seeds[i % seeds.length], ops)
    return extra === null ? b : applyByteOp(b, extra, b)
  })
}

/** Hand-built hostile byte strings: deep nesting, huge declared lengths, indefinite items, tags, floats, empty input. */
export const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.integer({ min: 1, max: 100_000 }).map((n) => cat(new Uint8Array(n).fill(0x81), Uint8Array.of(0))),
  fc.integer({ min: 1, max: 20_000 }).map((n) => cat(...Array.from({ length: n }, () => Uint8Array.of(0xa1, 0x61, 0x61)), Uint8Array.of(0))),
  fc.constantFrom(0x5b, 0x7b, 0x9b, 0xbb).map((h) => Uint8Array.of(h, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
  fc.constantFrom(0x5a, 0x7a, 0x9a, 0xba).map((h) => Uint8Array.of(h, 0xff, 0xff, 0xff, 0xff)),
  fc.constantFrom(
    Uint8Array.of(), Uint8Array.of(0x9f, 0xff), Uint8Array.of(0xbf, 0xff), Uint8Array.of(0x5f, 0xff), Uint8Array.of(0xc2, 0x41, 0x01),
    Uint8Array.of(0xf9, 0x7e, 0x00), Uint8Array.of(0xf9, 0x7c, 0x00), Uint8Array.of(0xf7), Uint8Array.of(0xfb, 0, 0, 0, 0, 0, 0, 0, 0),
    Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
  ),
  fc.uint8Array({ maxLength: 64 })
)
