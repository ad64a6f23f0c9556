/**
 * Templates enrolled by hand for enclave tests: encrypt → split → commit,
 * each share sealed to an enclave key as a holder would, and match
 * requests built from them.
 */
import * as assert from 'uvu/assert'
import type { MatchRequest, SealedShare } from '../../matcher/enclave/enclave.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare, type Share } from '../../crypto/shares.ts'
import { seal } from '../../crypto/seal.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { shareSealInfo } from '../../protocol/fetch.ts'
import { makeTemplate, encodeTemplate, type TemplateDtype } from '../../matcher/template.ts'

/** The model id every template here is enrolled under. */
export const MODEL = 'test-model-1'

/** A template enrolled by hand: its id, vector and plaintext shares. */
export interface Enrolled { templateId: Uint8Array, vector: Float32Array, shares: Share[], t: number }

/** A random unit vector. */
export function unit (dim: number): Float32Array {
  const v = new Float32Array(dim).map(() => Math.random() - 0.5)
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}

/** Near `v`: cosine ≈ 0.99. */
export function near (v: Float32Array): Float32Array {
  return v.map((x) => x + (Math.random() - 0.5) * 0.02)
}

/** Encrypt, encode and split a (random unless given) template. */
export async function enrol (opts: { dim?: number, t?: number, n?: number, dtype?: TemplateDtype, vector?: Float32Array } = {}): Promise<Enrolled> {
  const t = opts.t ?? 3
  const vector = opts.vector ?? unit(opts.dim ?? 128)
  const templateId = randomBytes(32)
  const bytes = encodeTemplate(makeTemplate(vector, { modality: 'face', model: MODEL, dtype: opts.dtype ?? 'f32' }))
  const shares = await splitSecret(encryptTemplate(bytes, { templateId, modality: 'face', model: MODEL }), t, opts.n ?? 5)
  return { templateId, vector, shares, t }
}

/** What a holder returns: the share sealed to the enclave, bound to a (here random) request hash. */
export function sealed (enclaveKey: Uint8Array, e: Enrolled, share: Share): SealedShare {
  const aad = randomBytes(32)
  return { x: share.x, commitment: commitShare(e.templateId, share), sealed: seal(enclaveKey, share.bytes, shareSealInfo(e.templateId, share.x), aad), aad }
}

/** A match request for `e` with `probe`: the given shares, or its first t sealed to `enclave`. */
export function request (enclave: { publicKey: Uint8Array }, e: Enrolled, probe: Float32Array, shares?: SealedShare[]): MatchRequest {
  return {
    templateId: e.templateId,
    modality: 'face',
    model: MODEL,
    t: e.t,
    threshold: 0.5,
    nonce: randomBytes(16),
    shares: shares ?? e.shares.slice(0, e.t).map((s) => sealed(enclave.publicKey, e, s)),
    probe: { kind: 'embedding', vector: probe }
  }
}

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection (p: Promise<unknown>): Promise<Error & { code?: string, bad?: number[] }> {
  try { await p } catch (e) { return e as Error & { code?: string } }
  assert.unreachable('expected a rejection')
  throw new Error('unreachable')
}
