/**
 * Templates enrolled by hand for enclave tests: encrypt → split → commit →
 * a tenant-signed manifest (holders named but not running), each share
 * sealed to an enclave key as a holder would (under a fresh request hash,
 * its time and the manifest digest), and match requests built from them.
 */
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { MatchRequest, SealedShare } from '../../enclave/enclave.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare, type Share } from '../../crypto/shares.ts'
import { seal } from '../../crypto/seal.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { generateSigningKey, type SigningKey } from '../../crypto/sign.ts'
import { issueTenantCert } from '../../protocol/certs.ts'
import { shareSealInfo } from '../../protocol/fetch.ts'
import { encodeManifest, signManifest, type Manifest, type Policy } from '../../protocol/manifest.ts'
import { manifestDigest, sealBinding } from '../../protocol/seal-binding.ts'
import type { SignedWire } from '../../protocol/signed.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { makeTemplate, encodeTemplate, type TemplateDtype } from '../../matcher/template.ts'

/** The model id every template here is enrolled under. */
export const MODEL = 'test-model-1'

/** Peer ids for the holders a hand-made manifest names (no node runs behind them). */
const PEERS = await Promise.all(Array.from({ length: 8 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))

/** A tenant with a certificate from a throwaway authority (the enclave does not check the chain; holders do). */
export function testTenant (name = 'acme'): { key: SigningKey, wire: SignedWire } {
  const authority = generateSigningKey().key
  const key = generateSigningKey().key
  const wire = issueTenantCert({ network: 'bsn-0123456789abcdef', key: key.publicKey, name, nb: 0, na: Date.now() + 86_400_000 }, authority)
  return { key, wire }
}

const TENANT = testTenant()

/** A template enrolled by hand: its id, vector, plaintext shares, manifest, its canonical bytes and digest. */
export interface Enrolled {
  templateId: Uint8Array
  vector: Float32Array
  shares: Share[]
  t: number
  manifest: Manifest
  manifestBytes: Uint8Array
  digest: Uint8Array
  /** the encoded template and its envelope (the secret that was split), for tests that look for them in memory */
  templateBytes: Uint8Array
  envelope: Uint8Array
}

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

/** Options of {@link enrol}. */
export interface EnrolOptions {
  dim?: number
  t?: number
  n?: number
  dtype?: TemplateDtype
  vector?: Float32Array
  /** policy fields over the test default: threshold 0.5, scores revealed (so tests can check them) */
  policy?: Partial<Policy>
  /** the signing tenant @default one shared test tenant */
  tenant?: { key: SigningKey, wire: SignedWire }
  modality?: 'face' | 'voice'
  model?: string
}

/** Encrypt, encode and split a (random unless given) template, and sign its manifest. */
export async function enrol (opts: EnrolOptions = {}): Promise<Enrolled> {
  const t = opts.t ?? 3
  const n = opts.n ?? 5
  const vector = opts.vector ?? unit(opts.dim ?? 128)
  const modality = opts.modality ?? 'face'
  const model = opts.model ?? MODEL
  const templateId = randomBytes(32)
  const bytes = encodeTemplate(makeTemplate(vector, { modality, model, dtype: opts.dtype ?? 'f32' }))
  const envelope = encryptTemplate(bytes, { templateId, modality, model })
  const shares = await splitSecret(envelope, t, n)
  const tenant = opts.tenant ?? TENANT
  const manifest = buildManifest({
    templateId,
    tenant: tenant.key,
    tenantCert: tenant.wire,
    modality,
    model,
    dim: vector.length,
    t,
    n,
    shares: shares.map((s, i) => ({ x: s.x, holder: PEERS[i], site: `site-${i}`, commitment: commitShare(templateId, s) })),
    policy: { measurements: [randomBytes(32)], threshold: 500_000, revealScore: true, ...opts.policy }
  })
  const manifestBytes = encodeManifest(manifest)
  return { templateId, vector, shares, t, manifest, manifestBytes, digest: manifestDigest(manifestBytes), templateBytes: bytes, envelope }
}

/** What a holder returns: the share sealed to the enclave for a (here random) request hash at `time`, under `e`'s manifest. */
export function sealed (enclaveKey: Uint8Array, e: Enrolled, share: Share, o: { request?: Uint8Array, time?: number } = {}): SealedShare {
  const request = o.request ?? randomBytes(32)
  const time = o.time ?? Date.now()
  return { x: share.x, sealed: seal(enclaveKey, share.bytes, shareSealInfo(e.templateId, share.x), sealBinding(request, time, e.digest)), request, time }
}

/** A match request for `e` with `probe`: the given shares, or its first t sealed to `enclave`. */
export function request (enclave: { publicKey: Uint8Array }, e: Enrolled, probe: Float32Array, shares?: SealedShare[]): MatchRequest {
  return {
    manifest: e.manifestBytes,
    nonce: randomBytes(16),
    shares: shares ?? e.shares.slice(0, e.t).map((s) => sealed(enclave.publicKey, e, s)),
    probe: { kind: 'embedding', vector: probe }
  }
}

/** The commitment the manifest of `e` lists for x. */
export function commitmentOf (e: Enrolled, x: number): Uint8Array {
  return e.manifest.body.shares.find((s) => s.x === x)!.commitment
}

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection (p: Promise<unknown>): Promise<Error & { code?: string, bad?: number[] }> {
  try { await p } catch (e) { return e as Error & { code?: string } }
  assert.unreachable('expected a rejection')
  throw new Error('unreachable')
}

/**
 * The same template and shares under another manifest: `change` applied to
 * the body, signed by `tenant` (the test tenant unless given). Shares sealed
 * for the result are sealed under its digest, as a holder storing it would.
 */
export function remanifest (e: Enrolled, change: Partial<Manifest['body']>, tenant: { key: SigningKey, wire: SignedWire } = TENANT): Enrolled {
  const manifest = signManifest({ ...e.manifest.body, tenant: tenant.key.publicKey, ...change }, tenant.key, tenant.wire)
  const manifestBytes = encodeManifest(manifest)
  return { ...e, manifest, manifestBytes, digest: manifestDigest(manifestBytes) }
}
