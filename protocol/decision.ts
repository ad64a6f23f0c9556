/**
 * The signed match decision: what an enclave says about one 1:1 match, signed
 * with the enclave's own Ed25519 key (generated inside it and vouched for by
 * its attestation), so a relying party can check the outcome without trusting
 * the verifier process that carried it. It names the exact enrolment matched
 * and the tenant's own threshold, and cannot claim an outcome its own numbers
 * contradict ({@link DecisionBody}).
 *
 * @module
 */
import { asMap, arrayField, boolField, bytesField, decodeCanonical, intField, numberField, type CborMap } from '../crypto/canonical.ts'
import { DecodeError } from '../errors.ts'
import { SIG } from '../crypto/tags.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { checkSigned, readSigned, signAndEncode, type Signed } from './signed.ts'
import { HASH_BYTES, KEY_BYTES, MAX_SHARES, TEMPLATE_ID_BYTES, WIRE_VERSION } from './constants.ts'

/**
 * A score as a decision may reveal it: rounded to `quantum`, and kept on the
 * side of `threshold` the exact score was on, so `accept` still equals
 * `score >= threshold` (a reject just under the threshold reads as the
 * largest step below it; thresholds are multiples of 10⁻⁶).
 *
 * @param score - exact cosine in [-1, 1]
 * @param threshold - the policy threshold
 * @param quantum - the step (the manifest's SCORE_QUANTUM)
 * @returns the quantised score, in [-1, 1]
 * @example quantiseScore(0.8137, 0.5, 0.01) // 0.81
 */
export function quantiseScore (score: number, threshold: number, quantum: number): number {
  const accept = score >= threshold
  let q = Math.round(score / quantum) * quantum
  // Two decimals exactly, not 0.8100000000000001.
  q = Number(q.toFixed(6))
  if (accept && q < threshold) q = threshold
  if (!accept && q >= threshold) q = Number((threshold - 1e-6).toFixed(6))
  return Math.min(1, Math.max(-1, q))
}

/** Shortest accepted caller nonce (the verifier's 16-byte request nonces). */
export const DECISION_NONCE_MIN_BYTES = 16
/** Longest accepted caller nonce. */
export const DECISION_NONCE_MAX_BYTES = 64
/** A decision with all 255 x listed as bad is under 1.5 KiB; anything larger is refused unparsed. */
export const MAX_DECISION_BYTES = 2048

/**
 * The signed statement. Wire form: canonical CBOR of `{ body, sig }`, `sig`
 * over the canonical body under {@link SIG.DECISION}.
 *
 * `tenant`, `manifest` (its digest, protocol/seal-binding.ts) and `seq` name
 * the exact enrolment matched, so a decision cannot be presented for another
 * tenant's template or another version of the manifest. `threshold` is the
 * one the tenant's signed policy sets (the enclave takes it from the
 * manifest, never from its host). `score` is present only when that policy
 * says `revealScore`, and then quantised ({@link quantiseScore}). When a
 * score is present `accept` must equal `score >= threshold`.
 */
export interface DecisionBody {
  v: number
  /** 32-byte template id that was matched */
  templateId: Uint8Array
  /** 32-byte public key of the tenant whose manifest was matched */
  tenant: Uint8Array
  /** `manifestDigest` of the exact manifest matched (its canonical bytes) */
  manifest: Uint8Array
  /** `seq` of that manifest */
  seq: number
  /** quantised cosine similarity in [-1, 1]; present only when the manifest policy reveals scores */
  score?: number
  /** the policy threshold the score was compared with, in [-1, 1] */
  threshold: number
  /** whether the exact score reached the threshold */
  accept: boolean
  /** the caller's nonce, echoed so the decision is fresh for that caller */
  nonce: Uint8Array
  /** enclave clock, ms since the epoch */
  time: number
  /** x of shares that failed to open or failed their commitment, ascending */
  bad: number[]
  /** measurement of the enclave code that made the decision */
  measurement: Uint8Array
}

/** A decoded decision (signature not necessarily checked). */
export type Decision = Signed<DecisionBody>

/** The fields a signer supplies; `v` is added. */
export type DecisionInit = Omit<DecisionBody, 'v'>

const WHAT = 'decision'

function decodeDecisionBody (value: unknown): DecisionBody {
  const m = asMap(value, WHAT, ['v', 'templateId', 'tenant', 'manifest', 'seq', 'threshold', 'accept', 'nonce', 'time', 'bad', 'measurement'], ['score'])
  const body: DecisionBody = {
    v: intField(m, 'v', WHAT, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', WHAT, { exact: TEMPLATE_ID_BYTES }),
    tenant: bytesField(m, 'tenant', WHAT, { exact: KEY_BYTES }),
    manifest: bytesField(m, 'manifest', WHAT, { exact: HASH_BYTES }),
    seq: intField(m, 'seq', WHAT, { min: 1, max: Number.MAX_SAFE_INTEGER }),
    ...('score' in m ? { score: numberField(m, 'score', WHAT, { min: -1, max: 1 }) } : {}),
    threshold: numberField(m, 'threshold', WHAT, { min: -1, max: 1 }),
    accept: boolField(m, 'accept', WHAT),
    nonce: bytesField(m, 'nonce', WHAT, { min: DECISION_NONCE_MIN_BYTES, max: DECISION_NONCE_MAX_BYTES }),
    time: intField(m, 'time', WHAT, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    bad: arrayField(m, 'bad', WHAT, {
      max: MAX_SHARES,
      item: (v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 255) throw new DecodeError(`${WHAT}.bad[${i}] must be an integer in [1, 255]`)
        return v
      }
    }),
    measurement: bytesField(m, 'measurement', WHAT, { exact: HASH_BYTES })
  }
  // One encoding per statement: ascending, no repeats.
  for (let i = 1; i < body.bad.length; i++) {
    if (body.bad[i] <= body.bad[i - 1]) throw new DecodeError(`${WHAT}.bad must be strictly ascending`)
  }
  if (body.score !== undefined && body.accept !== (body.score >= body.threshold)) throw new DecodeError(`${WHAT}.accept contradicts score and threshold`)
  return body
}

function checkInit (init: DecisionInit): void {
  if (init === null || typeof init !== 'object') throw new TypeError('init must be a decision body')
  for (const [k, len] of [['templateId', TEMPLATE_ID_BYTES], ['tenant', KEY_BYTES], ['manifest', HASH_BYTES], ['measurement', HASH_BYTES]] as const) {
    const v = init[k]
    if (!(v instanceof Uint8Array)) throw new TypeError(`init.${k} must be a Uint8Array`)
    if (v.length !== len) throw new RangeError(`init.${k} must be ${len} bytes, got ${v.length}`)
  }
  if (!(init.nonce instanceof Uint8Array)) throw new TypeError('init.nonce must be a Uint8Array')
  if (init.nonce.length < DECISION_NONCE_MIN_BYTES || init.nonce.length > DECISION_NONCE_MAX_BYTES) {
    throw new RangeError(`init.nonce must be ${DECISION_NONCE_MIN_BYTES}..${DECISION_NONCE_MAX_BYTES} bytes, got ${init.nonce.length}`)
  }
  if (!Number.isSafeInteger(init.seq) || init.seq < 1) throw new RangeError('init.seq must be a positive integer')
  for (const k of ['score', 'threshold'] as const) {
    const v = init[k]
    if (k === 'score' && v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`init.${k} must be a finite number`)
    if (v < -1 || v > 1) throw new RangeError(`init.${k} must be in [-1, 1], got ${v}`)
  }
  if (typeof init.accept !== 'boolean') throw new TypeError('init.accept must be a boolean')
  if (init.score !== undefined && init.accept !== (init.score >= init.threshold)) throw new RangeError('init.accept must equal score >= threshold')
  if (!Number.isSafeInteger(init.time) || init.time < 0) throw new RangeError('init.time must be a non-negative integer (ms)')
  if (!Array.isArray(init.bad) || init.bad.length > MAX_SHARES) throw new TypeError(`init.bad must be an array of at most ${MAX_SHARES} x-coordinates`)
  for (const x of init.bad) if (!Number.isInteger(x) || x < 1 || x > 255) throw new RangeError(`init.bad holds ${String(x)}, not an x in [1, 255]`)
}

/**
 * Sign a decision as the enclave.
 *
 * @param init - the decision fields (`bad` in any order; repeats are dropped)
 * @param key - the enclave's decision key
 * @returns canonical bytes of `{ body, sig }`
 * @throws {TypeError|RangeError} naming the first invalid field, including an `accept` that contradicts `score >= threshold`
 * @example const bytes = signDecision({ templateId, tenant, manifest, seq, threshold, accept, nonce, time: Date.now(), bad: [], measurement }, key)
 */
export function signDecision (init: DecisionInit, key: SigningKey): Uint8Array {
  checkInit(init)
  const bad = [...new Set(init.bad)].sort((a, b) => a - b)
  const body: DecisionBody = {
    v: WIRE_VERSION,
    templateId: init.templateId,
    tenant: init.tenant,
    manifest: init.manifest,
    seq: init.seq,
    ...(init.score !== undefined ? { score: init.score } : {}),
    threshold: init.threshold,
    accept: init.accept,
    nonce: init.nonce,
    time: init.time,
    bad,
    measurement: init.measurement
  }
  return signAndEncode(SIG.DECISION, body, key).bytes
}

/**
 * Decode a decision: size limit, canonical form and every field checked; the
 * signature is NOT checked (use {@link verifyDecision}).
 *
 * @param bytes - output of {@link signDecision}
 * @returns the body, its signed bytes and the signature
 * @throws {TooLargeError} ERR_TOO_LARGE over {@link MAX_DECISION_BYTES}
 * @throws {DecodeError} ERR_DECODE for malformed, non-canonical or self-contradicting input
 * @example const { body } = decodeDecision(bytes)
 */
export function decodeDecision (bytes: Uint8Array): Decision {
  return readSigned(decodeCanonical(bytes, MAX_DECISION_BYTES, WHAT) as CborMap, WHAT, decodeDecisionBody)
}

/**
 * Decode a decision and check its signature under the enclave's decision key
 * (the `signer` of the enclave's attestation). The signature says only that
 * this enclave made this decision: a relying party must also check that
 * `tenant`, `templateId`, `manifest` and `seq` name the enrolment it asked
 * about (the digest of the manifest it trusts, a seq it accepts), that
 * `nonce` is the one it gave, and that `measurement` is an enclave it trusts.
 * `score` is absent unless the tenant's policy reveals scores.
 *
 * @param bytes - output of {@link signDecision}
 * @param signerKey - 32-byte Ed25519 public key
 * @returns the verified body
 * @throws {SignatureError} ERR_BAD_SIGNATURE when the signature does not verify under `signerKey`
 * @throws {TooLargeError|DecodeError} as {@link decodeDecision}
 * @example
 * const d = verifyDecision(result.decision, attestation.body.signer)
 * if (d.accept && equalBytes(d.manifest, manifestDigest(encodeManifest(trusted))) && equalBytes(d.nonce, myNonce)) grant()
 */
export function verifyDecision (bytes: Uint8Array, signerKey: Uint8Array): DecisionBody {
  const d = decodeDecision(bytes)
  checkSigned(SIG.DECISION, d, signerKey, WHAT)
  return d.body
}
