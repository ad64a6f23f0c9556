/**
 * Building and signing manifests on the tenant side, with the policy
 * defaults an application gets when it does not say otherwise.
 *
 * @module
 */
import type { SigningKey } from '../crypto/sign.ts'
import { signManifest, type Manifest, type ManifestBody, type Policy, type ShareEntry, type Consent } from '../protocol/manifest.ts'
import type { SignedWire } from '../protocol/signed.ts'
import { MAX_SEQ, WIRE_VERSION } from '../protocol/constants.ts'

/**
 * Policy defaults: login only, no expiry, no score in decisions, and a fetch
 * rate sized for continuous authentication rather than for an attacker.
 *
 * Rate: a continuous-authentication session observes every 10 to 60 s, and
 * every verification costs one fetch at each holder it asks; 6 a minute (one
 * every 10 s, sustained) covers the busiest such session. The burst of 3
 * covers an explicit login together with a retry after an enclave restart
 * and one more, without letting a compromised verifier pull the share in
 * bulk. A tenant with other needs sets `ratePerMinute` and `burst` in its
 * policy; holders enforce whatever the signed manifest says.
 */
export const DEFAULT_POLICY: Omit<Policy, 'measurements'> & Required<Pick<Policy, 'burst' | 'revealScore'>> = {
  verifiers: [],
  purposes: ['login'],
  ratePerMinute: 6,
  burst: 3,
  threshold: 500_000,
  expires: 0,
  liveness: false,
  revealScore: false
}

export interface ManifestInit {
  templateId: Uint8Array
  tenant: SigningKey
  tenantCert: SignedWire
  modality: 'face' | 'voice'
  model: string
  dim: number
  custody?: 'network' | 'tenant'
  t: number
  n: number
  shares: ShareEntry[]
  policy: Partial<Policy> & { measurements: Uint8Array[] }
  consent?: Consent
  seq?: number
  state?: 'active' | 'erased'
  created?: number
}

/**
 * Build and sign a manifest as the tenant.
 *
 * @example const m = buildManifest({ templateId, tenant, tenantCert, modality: 'face', model, dim: 128, t: 3, n: 5, shares, policy: { measurements: [m] } })
 */
export function buildManifest (init: ManifestInit): Manifest {
  const now = init.created ?? Date.now()
  const body: ManifestBody = {
    v: WIRE_VERSION,
    templateId: init.templateId,
    tenant: init.tenant.publicKey,
    modality: init.modality,
    model: init.model,
    dim: init.dim,
    custody: init.custody ?? 'network',
    t: init.t,
    n: init.n,
    shares: [...init.shares].sort((a, b) => a.x - b.x),
    policy: { ...DEFAULT_POLICY, ...init.policy },
    consent: init.consent ?? { by: 'tenant', at: now },
    seq: init.seq ?? 1,
    state: init.state ?? 'active',
    created: now
  }
  return signManifest(body, init.tenant, init.tenantCert)
}

/**
 * The same enrolment at the next `seq`, marked erased (for the DHT record
 * after erase). An erased manifest wins over any active one whatever its
 * seq, so at the largest seq it keeps that seq rather than overflow.
 */
export function erasedManifest (m: Manifest, tenant: SigningKey, tenantCert: SignedWire): Manifest {
  return signManifest({ ...m.body, seq: Math.min(m.body.seq + 1, MAX_SEQ), state: 'erased' }, tenant, tenantCert)
}
