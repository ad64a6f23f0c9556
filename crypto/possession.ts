/**
 * Proof of possession of a share that reveals nothing about it. The manifest
 * carries, per share, a hiding Pedersen vector commitment over ristretto255
 * (RFC 9496): `C = r·H + L·G₁ + Σ m_j·G_{j+1}`, where the share's bytes are
 * packed 31 to a scalar `m_j`, `L` is its length and the blinding `r` is
 * derived from the share itself (so a holder can recommit after a refresh or
 * repair without anyone else seeing the share, and stores nothing extra).
 * To an auditor's fresh binding (a request hash) the holder answers with a
 * Schnorr proof of knowledge of the opening, made non-interactive by
 * Fiat-Shamir over that binding: `A = Σ k_j·P_j`, `e = H(C, A, binding)`,
 * `z_j = k_j + e·s_j`. Every `z_j` is uniform whatever the share (fresh
 * uniform `k_j`), so answers carry no share bytes, however many an auditor
 * collects from however many holders; a holder without the exact share
 * cannot answer (binding of the commitment under discrete log).
 *
 * The generators are hashed to the group (no discrete log between them is
 * known to anyone). Secret combinations `Σ s_j·P_j` run in a fixed sequence
 * of group operations whatever the scalars: all scalars share one
 * accumulator, doubled W times per window, and each window adds one entry of
 * every generator's table of multiples, picked by a scan of the whole table
 * (a zero digit adds the identity). Doing the doublings once for all scalars,
 * instead of one constant-time multiplication per generator, is what makes a
 * commitment cheap. Verification uses Pippenger's multi-scalar
 * multiplication over public values. Scalars are bigints, which JavaScript
 * cannot wipe.
 *
 * @module
 */
import { ristretto255, ristretto255_hasher as hasher } from '@noble/curves/ed25519.js'
import { pippenger } from '@noble/curves/abstract/curve.js'
import { abytes, aint, concat, randomBytes, u32be, utf8, wipe } from './bytes.ts'
import { HASH } from './tags.ts'
import { TEMPLATE_ID_BYTES } from './constants.ts'
import type { Share } from './shares.ts'

type Point = InstanceType<typeof ristretto255.Point>
const RistrettoPoint = ristretto255.Point
/** The group order ℓ (RFC 9496 §4). */
const ORDER = RistrettoPoint.Fn.ORDER

/** Bytes of an encoded ristretto255 point or scalar. */
export const AUDIT_ELEMENT_BYTES = 32
/** Bytes of an audit commitment (one encoded point). */
export const AUDIT_COMMITMENT_BYTES = AUDIT_ELEMENT_BYTES
/** Share bytes packed into one scalar: 31 bytes (248 bits) always stay below ℓ ≈ 2^252. */
export const BYTES_PER_SCALAR = 31
/** Longest share a proof can cover: protocol/constants.ts `MAX_SHARE_BYTES` (16 KiB). */
export const MAX_AUDITED_SHARE_BYTES = 16 * 1024
/** Scalars of the longest opening: blinding, length, and the packed share. */
const MAX_SCALARS = 2 + Math.ceil(MAX_AUDITED_SHARE_BYTES / BYTES_PER_SCALAR)

/**
 * Bits of a scalar consumed per window of {@link secretCombination}: each
 * generator keeps its 2^W multiples (256 points, ≈ 75 KB of heap, ≈ 5.3 MB
 * for a 2 KiB share's 72 generators; noble's window-4 tables they replace
 * took ≈ 100 KB a generator), and a combination of k scalars costs
 * ⌈253 / W⌉ · (W doublings + k additions).
 */
const WINDOW_BITS = 8
/** Entries of a generator's table: 0·P … (2^W − 1)·P. */
const WINDOW_SIZE = 2 ** WINDOW_BITS
/** Windows covering a scalar below ℓ < 2^253. */
const WINDOWS = Math.ceil(253 / WINDOW_BITS)
const WINDOW_MASK = BigInt(WINDOW_SIZE - 1)

/** Generators hashed to the group, made on first use (index 0 is H, 1 is G₁ for the length). */
const generators: Point[] = []
/** Each generator's multiples 0·P … (2^W − 1)·P, made beside it. */
const tables: Point[][] = []

function generator (i: number): Point {
  while (generators.length <= i) {
    const g = hasher.hashToCurve(u32be(generators.length), { DST: utf8(HASH.AUDIT_GENERATOR) })
    const table = [RistrettoPoint.ZERO, g]
    while (table.length < WINDOW_SIZE) table.push(table[table.length - 1].add(g))
    generators.push(g)
    tables.push(table)
  }
  return generators[i]
}

/** Scalars in an opening of a share of `length` bytes. */
function scalarCount (length: number): number {
  return 2 + Math.ceil(length / BYTES_PER_SCALAR)
}

/**
 * Bytes of a possession proof for a share of `length` bytes: the point `A`
 * and one response per scalar of the opening.
 *
 * @param length - the share's length, 1..{@link MAX_AUDITED_SHARE_BYTES}
 * @returns 32 · (3 + ⌈length / 31⌉)
 * @throws {TypeError}/{RangeError} naming `length`
 * @example auditProofBytes(2_100) // 2_272
 */
export function auditProofBytes (length: number): number {
  aint(length, 1, MAX_AUDITED_SHARE_BYTES, 'length')
  return AUDIT_ELEMENT_BYTES * (1 + scalarCount(length))
}

/** Largest possession proof (for the longest share). */
export const MAX_AUDIT_PROOF_BYTES = AUDIT_ELEMENT_BYTES * (1 + MAX_SCALARS)

function leToBigint (b: Uint8Array): bigint {
  let v = 0n
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
  return v
}

function bigintToLe (v: bigint): Uint8Array {
  const out = new Uint8Array(AUDIT_ELEMENT_BYTES)
  for (let i = 0; i < out.length; i++) { out[i] = Number(v & 0xffn); v >>= 8n }
  return out
}

/** A uniform scalar: 64 random bytes reduced mod ℓ (bias below 2^-250). */
function randomScalar (): bigint {
  const b = randomBytes(64)
  const v = leToBigint(b) % ORDER
  wipe(b)
  return v
}

function checkStatement (templateId: Uint8Array, share: Share): void {
  abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
  if (share === null || typeof share !== 'object') throw new TypeError('share must be a share {x, bytes}')
  aint(share.x, 1, 255, 'share.x')
  const b = abytes(share.bytes, undefined, 'share.bytes')
  aint(b.length, 1, MAX_AUDITED_SHARE_BYTES, 'share.bytes.length')
}

/** The opening of a share's commitment: [r, L, m_1 … m_k]. */
function opening (templateId: Uint8Array, share: Share): bigint[] {
  const input = concat(templateId, Uint8Array.of(share.x), share.bytes)
  const r = hasher.hashToScalar(input, { DST: utf8(HASH.AUDIT_BLINDING) })
  wipe(input)
  const out = [r, BigInt(share.bytes.length)]
  for (let off = 0; off < share.bytes.length; off += BYTES_PER_SCALAR) {
    out.push(leToBigint(share.bytes.subarray(off, off + BYTES_PER_SCALAR)))
  }
  return out
}

/** Entry `digit` of `table`, read by scanning every entry (which entry is picked does not change what is touched). */
function lookup (table: readonly Point[], digit: number): Point {
  let out = table[0]
  for (let i = 1; i < table.length; i++) out = i === digit ? table[i] : out
  return out
}

/**
 * Σ s_j·P_j for secret scalars in [0, ℓ): the same doublings and additions
 * whatever their values (see the module doc).
 */
function secretCombination (scalars: readonly bigint[]): Point {
  generator(scalars.length - 1)
  let acc = RistrettoPoint.ZERO
  for (let w = WINDOWS - 1; w >= 0; w--) {
    for (let b = 0; b < WINDOW_BITS; b++) acc = acc.double()
    const shift = BigInt(w * WINDOW_BITS)
    for (let j = 0; j < scalars.length; j++) acc = acc.add(lookup(tables[j], Number((scalars[j] >> shift) & WINDOW_MASK)))
  }
  return acc
}

/**
 * The audit commitment of a share, published in the manifest beside the
 * share's hash commitment. Computed by whoever holds the share: the tenant at
 * enrolment, the holder itself after a refresh or repair.
 *
 * @param templateId - 32-byte template id
 * @param share - the share (not modified)
 * @returns 32 bytes (an encoded ristretto255 point)
 * @throws {TypeError}/{RangeError} naming a malformed argument
 * @example entry.audit = auditCommitment(templateId, share)
 */
export function auditCommitment (templateId: Uint8Array, share: Share): Uint8Array {
  checkStatement(templateId, share)
  return secretCombination(opening(templateId, share)).toBytes()
}

function challenge (templateId: Uint8Array, x: number, parts: { commitment: Uint8Array, a: Uint8Array, binding: Uint8Array }): bigint {
  const msg = concat(templateId, Uint8Array.of(x), u32be(parts.binding.length), parts.binding, parts.commitment, parts.a)
  return hasher.hashToScalar(msg, { DST: utf8(HASH.AUDIT_CHALLENGE) })
}

/** What a possession proof is about: one share of one template, its published commitment, and the auditor's fresh binding. */
export interface AuditStatement {
  templateId: Uint8Array
  x: number
  /** The audit commitment from the manifest (32 bytes). */
  commitment: Uint8Array
  /** Fresh bytes from the auditor (the audit request's hash), 1..1024 bytes. */
  binding: Uint8Array
}

function checkBinding (s: AuditStatement): void {
  abytes(s.commitment, AUDIT_COMMITMENT_BYTES, 'commitment')
  const b = abytes(s.binding, undefined, 'binding')
  aint(b.length, 1, 1024, 'binding.length')
}

/**
 * Prove possession of `share` against its published commitment, for the
 * auditor's binding. The proof is fresh randomness plus the share masked by
 * it: it opens nothing.
 *
 * @param statement - template id, x, the manifest's audit commitment, the auditor's binding
 * @param share - the share held (its x must be `statement.x`); not modified
 * @returns {@link auditProofBytes}(share length) bytes
 * @throws {TypeError}/{RangeError} naming a malformed argument
 * @example const proof = proveAudit({ templateId, x, commitment: entry.audit, binding: requestHash }, held)
 */
export function proveAudit (statement: AuditStatement, share: Share): Uint8Array {
  checkStatement(statement.templateId, share)
  checkBinding(statement)
  if (share.x !== statement.x) throw new RangeError(`share.x ${share.x} is not statement.x ${statement.x}`)
  const secret = opening(statement.templateId, share)
  const nonces = secret.map(() => randomScalar())
  const a = secretCombination(nonces).toBytes()
  const e = challenge(statement.templateId, statement.x, { commitment: statement.commitment, a, binding: statement.binding })
  const parts = [a, ...secret.map((s, j) => bigintToLe((nonces[j] + e * s) % ORDER))]
  secret.fill(0n)
  nonces.fill(0n)
  const proof = concat(...parts)
  wipe(...parts)
  return proof
}

/**
 * Check a possession proof against the manifest's commitment and the
 * auditor's binding.
 *
 * @param statement - as given to {@link proveAudit}
 * @param proof - the holder's answer
 * @returns true only when the proof verifies; false for any malformed or wrong proof
 * @throws {TypeError}/{RangeError} for a malformed statement (not for a malformed proof)
 * @example if (!verifyAudit({ templateId, x, commitment: entry.audit, binding: requestHash }, proof)) fail(holder)
 */
export function verifyAudit (statement: AuditStatement, proof: Uint8Array): boolean {
  abytes(statement.templateId, TEMPLATE_ID_BYTES, 'templateId')
  aint(statement.x, 1, 255, 'x')
  checkBinding(statement)
  if (!(proof instanceof Uint8Array) || proof.length % AUDIT_ELEMENT_BYTES !== 0) return false
  const count = proof.length / AUDIT_ELEMENT_BYTES - 1
  if (count < 3 || count > MAX_SCALARS) return false
  let a: Point
  let c: Point
  try {
    a = RistrettoPoint.fromBytes(proof.subarray(0, AUDIT_ELEMENT_BYTES))
    c = RistrettoPoint.fromBytes(statement.commitment)
  } catch {
    return false
  }
  const z: bigint[] = []
  for (let j = 0; j < count; j++) {
    const v = leToBigint(proof.subarray(AUDIT_ELEMENT_BYTES * (j + 1), AUDIT_ELEMENT_BYTES * (j + 2)))
    if (v >= ORDER) return false // non-canonical responses would make proofs malleable
    z.push(v)
  }
  const a0 = proof.subarray(0, AUDIT_ELEMENT_BYTES)
  const e = challenge(statement.templateId, statement.x, { commitment: statement.commitment, a: a0, binding: statement.binding })
  const lhs = pippenger(RistrettoPoint, z.map((_, j) => generator(j)), z)
  return lhs.equals(a.add(c.multiplyUnsafe(e)))
}
