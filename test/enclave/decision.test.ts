/**
 * The signed match decision (protocol/decision.ts): what it signs, who can
 * verify it, and what its decoder refuses.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signDecision, decodeDecision, verifyDecision, quantiseScore, MAX_DECISION_BYTES, type DecisionInit } from '../../protocol/decision.ts'
import { generateSigningKey, sign } from '../../crypto/sign.ts'
import { encodeCanonical, decodeCanonical } from '../../crypto/canonical.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'

const Decision = suite('signed decision')
const { key } = generateSigningKey()

function init (over: Partial<DecisionInit> = {}): DecisionInit {
  return {
    templateId: randomBytes(32),
    tenant: randomBytes(32),
    manifest: randomBytes(32),
    seq: 3,
    score: 0.81,
    threshold: 0.5,
    accept: true,
    nonce: randomBytes(16),
    time: 1_700_000_000_000,
    bad: [],
    measurement: randomBytes(32),
    ...over
  } as DecisionInit
}

function code (f: () => unknown): string {
  try { f() } catch (e) { return (e as { code?: string }).code ?? (e as Error).name }
  return 'no error'
}

Decision('verifies under the signer and returns every field', () => {
  const i = init({ bad: [7, 3] })
  const body = verifyDecision(signDecision(i, key), key.publicKey)
  assert.equal(body.templateId, i.templateId)
  assert.equal(body.tenant, i.tenant)
  assert.equal(body.manifest, i.manifest)
  assert.is(body.seq, 3)
  assert.is(body.score, i.score)
  assert.is(body.threshold, 0.5)
  assert.is(body.accept, true)
  assert.equal(body.nonce, i.nonce)
  assert.is(body.time, i.time)
  assert.equal(body.bad, [3, 7], 'bad is signed in ascending order')
  assert.equal(body.measurement, i.measurement)
  assert.is(body.v, 1)
})

Decision('fails under another key (ERR_BAD_SIGNATURE)', () => {
  const bytes = signDecision(init(), key)
  assert.is(code(() => verifyDecision(bytes, generateSigningKey().key.publicKey)), 'ERR_BAD_SIGNATURE')
})

Decision('fails when any signed field is changed, even re-encoded canonically', () => {
  const bytes = signDecision(init({ score: 0.4, accept: false }), key)
  const wire = decodeCanonical(bytes, MAX_DECISION_BYTES) as { body: Record<string, unknown>, sig: Uint8Array }
  // Each forgery is self-consistent (accept = score ≥ threshold), so only the signature can catch it.
  const forgeries: Array<Record<string, unknown>> = [
    { score: 0.9, accept: true }, { threshold: 0.3, accept: true }, { nonce: randomBytes(16) }, { bad: [1] },
    { time: 1 }, { templateId: randomBytes(32) }, { measurement: randomBytes(32) },
    { tenant: randomBytes(32) }, { manifest: randomBytes(32) }, { seq: 4 }
  ]
  for (const change of forgeries) {
    const forged = encodeCanonical({ body: { ...wire.body, ...change }, sig: wire.sig })
    assert.is(code(() => verifyDecision(forged, key.publicKey)), 'ERR_BAD_SIGNATURE', Object.keys(change).join(','))
  }
})

Decision('without a score: signed and decoded with none, and the score cannot be added afterwards', () => {
  const { score: _, ...noScore } = init({ accept: false })
  const bytes = signDecision(noScore, key)
  const body = verifyDecision(bytes, key.publicKey)
  assert.is(body.score, undefined)
  assert.not.ok('score' in body)
  assert.is(body.accept, false)
  const wire = decodeCanonical(bytes, MAX_DECISION_BYTES) as { body: Record<string, unknown>, sig: Uint8Array }
  assert.is(code(() => verifyDecision(encodeCanonical({ body: { ...wire.body, score: 0.1 }, sig: wire.sig }), key.publicKey)), 'ERR_BAD_SIGNATURE')
})

Decision('quantiseScore: two decimals, on the side of the threshold the exact score was on', () => {
  assert.is(quantiseScore(0.8137, 0.5, 0.01), 0.81)
  assert.is(quantiseScore(-0.0449, 0.5, 0.01), -0.04)
  assert.is(quantiseScore(0.498, 0.5, 0.01), 0.499999, 'a reject rounding up to the threshold stays below it')
  assert.is(quantiseScore(0.5031, 0.503, 0.01), 0.503, 'an accept rounding down stays at the threshold')
  for (let i = 0; i < 2000; i++) {
    const score = Math.random() * 2 - 1
    const threshold = Math.round((Math.random() * 2 - 1) * 1e6) / 1e6
    const q = quantiseScore(score, threshold, 0.01)
    assert.is(q >= threshold, score >= threshold)
    assert.ok(Math.abs(q - score) <= 0.01, `${score} → ${q}`)
  }
})

Decision('a flipped byte anywhere fails to verify', () => {
  const bytes = signDecision(init(), key)
  for (let i = 0; i < bytes.length; i += 7) {
    const t = bytes.slice()
    t[i] ^= 0x01
    assert.not.equal(code(() => verifyDecision(t, key.publicKey)), 'no error', `byte ${i}`)
  }
})

Decision('a signature under another tag does not verify as a decision', () => {
  const bytes = signDecision(init(), key)
  const wire = decodeCanonical(bytes, MAX_DECISION_BYTES) as { body: Record<string, unknown>, sig: Uint8Array }
  const other = encodeCanonical({ body: wire.body, sig: sign(SIG.ATTESTATION, encodeCanonical(wire.body), key) })
  assert.is(code(() => verifyDecision(other, key.publicKey)), 'ERR_BAD_SIGNATURE')
})

Decision('refuses to sign an accept that contradicts score ≥ threshold', () => {
  assert.is(code(() => signDecision(init({ score: 0.2, accept: true }), key)), 'RangeError')
  assert.is(code(() => signDecision(init({ score: 0.5, threshold: 0.5, accept: false }), key)), 'RangeError')
})

Decision('the decoder refuses a self-contradicting body even when signed', () => {
  const body = {
    v: 1,
    templateId: randomBytes(32),
    tenant: randomBytes(32),
    manifest: randomBytes(32),
    seq: 1,
    score: 0.1,
    threshold: 0.5,
    accept: true,
    nonce: randomBytes(16),
    time: 1,
    bad: [],
    measurement: randomBytes(32)
  }
  const bytes = encodeCanonical({ body, sig: sign(SIG.DECISION, encodeCanonical(body), key) })
  assert.is(code(() => decodeDecision(bytes)), 'ERR_DECODE')
})

Decision('the decoder refuses unsorted or repeated bad, unknown fields, out-of-range numbers', () => {
  const base = {
    v: 1,
    templateId: randomBytes(32),
    tenant: randomBytes(32),
    manifest: randomBytes(32),
    seq: 1,
    score: 0.9,
    threshold: 0.5,
    accept: true,
    nonce: randomBytes(16),
    time: 1,
    bad: [] as number[],
    measurement: randomBytes(32)
  }
  const signed = (b: Record<string, unknown>): Uint8Array => encodeCanonical({ body: b, sig: sign(SIG.DECISION, encodeCanonical(b), key) })
  assert.is(code(() => decodeDecision(signed({ ...base, bad: [3, 2] }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, bad: [2, 2] }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, bad: [0] }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, extra: 1 }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, score: 1.5 }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, nonce: randomBytes(8) }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, measurement: randomBytes(31) }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, v: 2 }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, tenant: randomBytes(31) }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, manifest: randomBytes(33) }))), 'ERR_DECODE')
  assert.is(code(() => decodeDecision(signed({ ...base, seq: 0 }))), 'ERR_DECODE')
  const { seq: _, ...noSeq } = base
  assert.is(code(() => decodeDecision(signed(noSeq))), 'ERR_DECODE', 'seq is required')
})

Decision('oversized input is refused before parsing (ERR_TOO_LARGE)', () => {
  assert.is(code(() => decodeDecision(new Uint8Array(MAX_DECISION_BYTES + 1))), 'ERR_TOO_LARGE')
})

Decision('a decision listing all 255 x as bad fits the size limit', () => {
  const bytes = signDecision(init({ bad: Array.from({ length: 255 }, (_, i) => i + 1) }), key)
  assert.ok(bytes.length <= MAX_DECISION_BYTES, `${bytes.length} bytes`)
  assert.is(verifyDecision(bytes, key.publicKey).bad.length, 255)
})

Decision('signing checks its arguments, naming the field', () => {
  assert.throws(() => signDecision(init({ templateId: randomBytes(31) }), key), (e: Error) => e instanceof RangeError && e.message.includes('templateId'))
  assert.throws(() => signDecision(init({ score: Number.NaN }), key), (e: Error) => e instanceof TypeError && e.message.includes('score'))
  assert.throws(() => signDecision(init({ bad: [256] }), key), (e: Error) => e instanceof RangeError && e.message.includes('bad'))
})

Decision.run()
