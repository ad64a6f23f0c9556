/**
 * Proofs of possession (crypto/possession.ts): an honest proof verifies; a
 * changed share, another holder's commitment, another binding or a mangled
 * proof does not; and answers carry nothing of the share: every response
 * scalar is uniform whatever the share, for one holder or all of a template's.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { auditCommitment, proveAudit, verifyAudit, auditProofBytes, MAX_AUDIT_PROOF_BYTES, BYTES_PER_SCALAR } from '../../crypto/possession.ts'
import { splitSecret, type Share } from '../../crypto/shares.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { MAX_AUDIT_PROOF_BYTES as WIRE_MAX, MAX_SHARE_BYTES } from '../../protocol/constants.ts'

const templateId = randomBytes(32)
const statementOf = (share: Share, binding = randomBytes(32)): { templateId: Uint8Array, x: number, commitment: Uint8Array, binding: Uint8Array } =>
  ({ templateId, x: share.x, commitment: auditCommitment(templateId, share), binding })

const Proofs = suite('possession proofs')

Proofs('an honest proof verifies, for short and template-sized shares', async () => {
  for (const length of [1, 30, 31, 32, 500, 2_125]) {
    const [share] = await splitSecret(randomBytes(length), 2, 3)
    const st = statementOf(share)
    const proof = proveAudit(st, share)
    assert.is(proof.length, auditProofBytes(length))
    assert.ok(verifyAudit(st, proof), `length ${length}`)
  }
  assert.is(MAX_AUDIT_PROOF_BYTES, WIRE_MAX, 'the wire limit is the largest proof')
  assert.is(auditProofBytes(MAX_SHARE_BYTES), MAX_AUDIT_PROOF_BYTES)
})

Proofs('a changed, truncated or other share, another binding, x or template, or a mangled proof fails', async () => {
  const shares = await splitSecret(randomBytes(200), 2, 3)
  const st = statementOf(shares[0])
  const altered = { x: shares[0].x, bytes: shares[0].bytes.slice() }
  altered.bytes[77] ^= 0x01
  assert.not.ok(verifyAudit(st, proveAudit(st, altered)), 'a share with one bit flipped')
  assert.not.ok(verifyAudit(st, proveAudit(st, { x: shares[0].x, bytes: shares[0].bytes.slice(0, 199) })), 'a truncated share')
  assert.not.ok(verifyAudit(st, proveAudit({ ...st, x: shares[1].x }, shares[1])), 'another holder\'s share')
  const proof = proveAudit(st, shares[0])
  assert.ok(verifyAudit(st, proof))
  assert.not.ok(verifyAudit({ ...st, binding: randomBytes(32) }, proof), 'a proof is bound to its request')
  assert.not.ok(verifyAudit({ ...st, templateId: randomBytes(32) }, proof))
  assert.not.ok(verifyAudit({ ...st, commitment: auditCommitment(templateId, shares[1]) }, proof))
  for (const bad of [proof.slice(0, proof.length - 32), proof.slice(0, 100), new Uint8Array(proof.length), randomBytes(proof.length), new Uint8Array(0)]) {
    assert.not.ok(verifyAudit(st, bad))
  }
  const flipped = proof.slice()
  flipped[40] ^= 0x01
  assert.not.ok(verifyAudit(st, flipped))
  // A response scalar ≥ ℓ (here 2^256 − 1) is refused rather than reduced.
  const wide = proof.slice()
  wide.fill(0xff, 32, 64)
  assert.not.ok(verifyAudit(st, wide))
})

/** Chi-square over 256 bins of the low 31 bytes of every response scalar of every proof. */
function chiSquare (proofs: Uint8Array[], scalar: number): number {
  const bins = new Uint32Array(256)
  let n = 0
  for (const p of proofs) {
    const z = p.subarray(32 * (1 + scalar), 32 * (2 + scalar))
    for (let i = 0; i < BYTES_PER_SCALAR; i++) { bins[z[i]]++; n++ }
  }
  const e = n / 256
  return bins.reduce((acc, k) => acc + (k - e) ** 2 / e, 0)
}

Proofs('answers are independent of the share: every response is uniform for an all-zero, an all-one and a random share', () => {
  const proofsFor = (bytes: Uint8Array): Uint8Array[] => {
    const share = { x: 9, bytes }
    const st = statementOf(share)
    return Array.from({ length: 200 }, () => proveAudit({ ...st, binding: randomBytes(32) }, share))
  }
  // Scalars: 0 blinding, 1 length, 2.. the share's bytes. With 255 degrees of freedom a
  // uniform source stays below 360 all but once in ~10^4 runs; a share-dependent one does not.
  for (const bytes of [new Uint8Array(62), new Uint8Array(62).fill(0xff), randomBytes(62)]) {
    const proofs = proofsFor(bytes)
    for (const scalar of [1, 2, 3]) {
      const chi = chiSquare(proofs, scalar)
      assert.ok(chi < 360, `scalar ${scalar}: chi-square ${chi.toFixed(1)}`)
    }
    // No two answers repeat a response (fresh randomness every time).
    assert.is(new Set(proofs.map((p) => toHex(p.subarray(64, 96)))).size, proofs.length)
  }
})

Proofs('an auditor holding every holder\'s answers to many audits sees nothing that depends on the shares', async () => {
  // Shares of a secret of all zero bytes: the worst case for a leak of structure.
  const shares = await splitSecret(new Uint8Array(62), 3, 5)
  const all: Uint8Array[] = []
  for (const share of shares) {
    const st = statementOf(share)
    for (let i = 0; i < 40; i++) {
      const audit = { ...st, binding: randomBytes(32) }
      const proof = proveAudit(audit, share)
      if (i === 0) assert.ok(verifyAudit(audit, proof), 'the answers the auditor holds are valid proofs')
      all.push(proof)
    }
  }
  // Across all 200 answers (40 per holder), the responses on the share's scalars are uniform...
  for (const scalar of [2, 3]) assert.ok(chiSquare(all, scalar) < 360)
  // ...and the holders' responses, combined the way shares are (byte-wise XOR of t of them), are uniform too.
  const combined = all.slice(0, 40).map((p, i) => {
    const out = p.slice()
    for (const q of [all[40 + i], all[80 + i]]) for (let b = 64; b < 96; b++) out[b] ^= q[b]
    return out
  })
  assert.ok(chiSquare(combined, 1) < 360)
})

Proofs('malformed statements are refused naming the argument', async () => {
  const [share] = await splitSecret(randomBytes(40), 2, 3)
  const st = statementOf(share)
  assert.throws(() => proveAudit({ ...st, templateId: randomBytes(31) }, share), RangeError)
  assert.throws(() => proveAudit({ ...st, x: share.x === 1 ? 2 : 1 }, share), RangeError)
  assert.throws(() => proveAudit({ ...st, binding: new Uint8Array(0) }, share), RangeError)
  assert.throws(() => auditCommitment(templateId, { x: 1, bytes: new Uint8Array(MAX_SHARE_BYTES + 1) }), RangeError)
  assert.throws(() => verifyAudit({ ...st, commitment: randomBytes(31) }, new Uint8Array(128)), RangeError)
})

Proofs.run()
