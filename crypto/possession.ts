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
 * known to anyone). Secret scalars go through noble's constant-time
 * `multiply`; verification uses Pippenger's multi-scalar multiplication over
 * public values. Scalars are bigints, which JavaScript cannot wipe.
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
 * Window of the precomputed multiples kept per generator: 4 makes the
 * constant-time multiplications about three times faster for ≈ 100 KB a
 * generator (≈ 7 MB for a 2 KiB share's 72).
 */
const GENERATOR_WINDOW = 4

/** Generators hashed to the group, made on first use (index 0 is H, 1 is G₁ for the length). */
const generators: Point[] = []

function generator (i: number): Point {
  while (generators.length <= i) {
    const g = hasher.hashToCurve(u32be(generators.length), { DST: utf8(HASH.AUDIT_GENERATOR) })
    g.precompute(GENERATOR_WINDOW)
    generators.push(g)
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

/** Σ s_j·P_j with constant-time multiplications (the scalars are secret). */
function secretCombination (scalars: readonly bigint[]): Point {
  let acc = RistrettoPoint.ZERO
  // `multiply` takes scalars in [1, ℓ); a zero term adds nothing.
  scalars.forEach((s, j) => { if (s !== 0n) acc = acc.add(generator(j).multiply(s)) })
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
