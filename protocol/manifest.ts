/**
 * The manifest: the public, tenant-signed description of one enrolment
 * (docs/architecture.md, "Data"). It names every share's holder and commitment, the access
 * policy and the consent record, and contains nothing biometric.
 *
 * @module
 */
import { asMap, bytesField, intField, arrayField, enumField, strField, boolField, decodeCanonical, encodeCanonical } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { sign, verify, type SigningKey } from '../crypto/sign.ts'
import { signBody, readSigned, checkSigned, toWire, type Signed, type SignedWire } from './signed.ts'
import { readTenantCert, checkTenantCert, type SignatureChecker, type TenantCert, type TrustAnchor } from './certs.ts'
import { peerField, nameField, PURPOSE, MODEL_ID } from './field-formats.ts'
import {
  AUDIT_COMMITMENT_BYTES, KEY_BYTES, HASH_BYTES, MAX_MANIFEST_BYTES, MAX_SEQ, MAX_POLICY_ITEMS, MAX_SHARES, TEMPLATE_ID_BYTES, WIRE_VERSION
} from './constants.ts'

/**
 * One share's placement: x-coordinate, holder, its site, the share commitment
 * and, for manifests made since possession audits exist, the share's audit
 * commitment (crypto/possession.ts). Absent in older manifests, which still
 * decode and re-encode to the bytes their tenant signed; their shares cannot
 * be audited until a refresh or re-enrolment publishes one.
 */
export interface ShareEntry { x: number, holder: string, site: string, commitment: Uint8Array, audit?: Uint8Array }

/** Who may fetch shares, for what, into which enclaves, how often, until when. */
export interface Policy {
  /** Verifier public keys allowed; empty = any verifier certified by the tenant (tenant as verifier CA). */
  verifiers: Uint8Array[]
  purposes: string[]
  /** Allowed enclave measurements (hashes of the enclave code). */
  measurements: Uint8Array[]
  /** Fetches per minute per verifier for this template, at each holder (the token bucket's refill rate). */
  ratePerMinute: number
  /**
   * Fetches a verifier may make at once before the refill rate applies (the
   * token bucket's capacity). Absent in manifests signed before it existed:
   * then the capacity is `ratePerMinute`, as it was.
   */
  burst?: number
  /**
   * Whether the enclave's signed decision carries the score (quantised to
   * {@link SCORE_QUANTUM}). Absent or false: the decision says accept or
   * reject and nothing more, so matches cannot be used to rebuild the template.
   */
  revealScore?: boolean
  /** Match threshold the enclave applies (cosine score). Stored ×10⁶ as an integer to keep encodings exact. */
  threshold: number
  /** Enrolment expiry, ms since epoch (0 = none). */
  expires: number
  /** Presentation-attack detection must pass on verify. */
  liveness: boolean
}

/** How consent was obtained: signed by the subject's own key, or attested by the tenant. */
export interface Consent { by: 'subject' | 'tenant', at: number, subject?: Uint8Array, sig?: Uint8Array }

export interface ManifestBody {
  v: number
  templateId: Uint8Array
  tenant: Uint8Array
  modality: 'face' | 'voice'
  model: string
  dim: number
  custody: 'network' | 'tenant'
  t: number
  n: number
  shares: ShareEntry[]
  policy: Policy
  consent: Consent
  seq: number
  state: 'active' | 'erased'
  created: number
}

/** A decoded manifest with the tenant's certificate that vouches for its signer. */
export interface Manifest extends Signed<ManifestBody> {
  readonly cert: TenantCert
}

const WHAT = 'manifest'

function decodeShareEntry (v: unknown, i: number): ShareEntry {
  const what = `manifest.shares[${i}]`
  const m = asMap(v, what, ['x', 'holder', 'site', 'commitment'], ['audit'])
  return {
    x: intField(m, 'x', what, { min: 1, max: 255 }),
    holder: peerField(m, 'holder', what),
    site: nameField(m, 'site', what),
    commitment: bytesField(m, 'commitment', what, { exact: HASH_BYTES }),
    ...('audit' in m ? { audit: bytesField(m, 'audit', what, { exact: AUDIT_COMMITMENT_BYTES }) } : {})
  }
}

function decodePolicy (v: unknown): Policy {
  const what = 'manifest.policy'
  const m = asMap(v, what, ['verifiers', 'purposes', 'measurements', 'ratePerMinute', 'threshold', 'expires', 'liveness'], ['burst', 'revealScore'])
  const key = (k: unknown, i: number): Uint8Array => bytesField({ k }, 'k', `${what}.verifiers[${i}]`, { exact: KEY_BYTES })
  const hash = (k: unknown, i: number): Uint8Array => bytesField({ k }, 'k', `${what}.measurements[${i}]`, { exact: HASH_BYTES })
  // Optional fields stay absent when absent, so the body re-encodes to the bytes the tenant signed.
  return {
    verifiers: arrayField(m, 'verifiers', what, { max: MAX_POLICY_ITEMS, item: key }),
    purposes: arrayField(m, 'purposes', what, {
      max: MAX_POLICY_ITEMS,
      item: (p) => strField({ p }, 'p', `${what}.purposes[]`, { max: 64, pattern: PURPOSE })
    }),
    measurements: arrayField(m, 'measurements', what, { max: MAX_POLICY_ITEMS, item: hash }),
    ratePerMinute: intField(m, 'ratePerMinute', what, { min: 1, max: 1_000_000 }),
    ...('burst' in m ? { burst: intField(m, 'burst', what, { min: 1, max: 1_000_000 }) } : {}),
    threshold: intField(m, 'threshold', what, { min: -1_000_000, max: 1_000_000 }),
    expires: intField(m, 'expires', what, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    liveness: boolField(m, 'liveness', what),
    ...('revealScore' in m ? { revealScore: boolField(m, 'revealScore', what) } : {})
  }
}

/** Step of a score revealed in a decision (`policy.revealScore`): two decimals, enough for a trust model, too coarse to rebuild a template from. */
export const SCORE_QUANTUM = 0.01

/** The policy's match threshold as a cosine in [-1, 1] (stored ×10⁶). */
export function policyThreshold (policy: Pick<Policy, 'threshold'>): number {
  return policy.threshold / 1_000_000
}

function decodeConsent (v: unknown): Consent {
  const what = 'manifest.consent'
  const m = asMap(v, what, ['by', 'at'], ['subject', 'sig'])
  const by = enumField(m, 'by', what, ['subject', 'tenant'] as const)
  const consent: Consent = { by, at: intField(m, 'at', what, { min: 0, max: Number.MAX_SAFE_INTEGER }) }
  if (by === 'subject') {
    consent.subject = bytesField(m, 'subject', what, { exact: KEY_BYTES })
    consent.sig = bytesField(m, 'sig', what, { exact: 64 })
  } else if ('subject' in m || 'sig' in m) {
    throw new BioshardError('ERR_DECODE', `${what}: tenant-attested consent carries no subject signature`)
  }
  return consent
}

/** Decode and validate a manifest body. @throws {DecodeError} */
export function decodeManifestBody (value: unknown): ManifestBody {
  const m = asMap(value, WHAT, [
    'v', 'templateId', 'tenant', 'modality', 'model', 'dim', 'custody', 't', 'n', 'shares', 'policy', 'consent', 'seq', 'state', 'created'
  ])
  const t = intField(m, 't', WHAT, { min: 2, max: MAX_SHARES })
  const n = intField(m, 'n', WHAT, { min: t, max: MAX_SHARES })
  const shares = arrayField(m, 'shares', WHAT, { max: MAX_SHARES, item: decodeShareEntry })
  if (shares.length !== n) throw new BioshardError('ERR_DECODE', `manifest lists ${shares.length} shares, n = ${n}`)
  const xs = new Set(shares.map((s) => s.x))
  const holders = new Set(shares.map((s) => s.holder))
  const sites = new Set(shares.map((s) => s.site))
  if (xs.size !== n) throw new BioshardError('ERR_DECODE', 'manifest repeats an x-coordinate')
  // docs/architecture.md, "Flows" (Enrol): a template never has two shares at one node or at nodes of one site.
  if (holders.size !== n || sites.size !== n) throw new BioshardError('ERR_DECODE', 'manifest places two shares at one holder or site')
  return {
    v: intField(m, 'v', WHAT, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', WHAT, { exact: TEMPLATE_ID_BYTES }),
    tenant: bytesField(m, 'tenant', WHAT, { exact: KEY_BYTES }),
    modality: enumField(m, 'modality', WHAT, ['face', 'voice'] as const),
    model: strField(m, 'model', WHAT, { max: 128, pattern: MODEL_ID }),
    dim: intField(m, 'dim', WHAT, { min: 1, max: 8192 }),
    custody: enumField(m, 'custody', WHAT, ['network', 'tenant'] as const),
    t,
    n,
    shares,
    policy: decodePolicy(m.policy),
    consent: decodeConsent(m.consent),
    seq: intField(m, 'seq', WHAT, { min: 1, max: MAX_SEQ }),
    state: enumField(m, 'state', WHAT, ['active', 'erased'] as const),
    created: intField(m, 'created', WHAT, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** The wire form of a manifest: signed body plus the tenant's certificate. */
export interface ManifestWire extends SignedWire { cert: SignedWire }

/** Read a manifest's structure (no signature check). @throws {DecodeError} */
export function readManifest (value: unknown): Manifest {
  const m = asMap(value, WHAT, ['body', 'sig', 'cert'])
  const signed = readSigned({ body: m.body, sig: m.sig }, WHAT, decodeManifestBody)
  return { ...signed, cert: readTenantCert(m.cert) }
}

/** Decode manifest bytes (size-limited, canonical). @throws {DecodeError|TooLargeError} */
export function decodeManifest (bytes: Uint8Array): Manifest {
  return readManifest(decodeCanonical(bytes, MAX_MANIFEST_BYTES, WHAT))
}

/** The wire object of a decoded manifest. */
export function manifestToWire (m: Manifest): ManifestWire {
  return { ...toWire(m), cert: toWire(m.cert) }
}

/** Canonical bytes of a manifest (what holders store and the DHT carries). */
export function encodeManifest (m: Manifest): Uint8Array {
  return encodeCanonical(manifestToWire(m))
}

/**
 * Check a manifest: the tenant certificate chains to the authority, the body
 * is signed by that tenant, and the enrolment has not expired.
 *
 * @throws {BioshardError} ERR_NOT_ADMITTED, ERR_BAD_SIGNATURE, ERR_EXPIRED
 */
export function checkManifest (
  m: Manifest, anchor: TrustAnchor, now: number, options: { ignoreExpiry?: boolean, signatures?: SignatureChecker } = {}
): void {
  checkTenantCert(m.cert, anchor, now, options.signatures)
  if (!equalBytes(m.cert.body.key, m.body.tenant)) throw new BioshardError('ERR_NOT_AUTHORISED', 'manifest tenant does not match its certificate')
  checkSigned(SIG.MANIFEST, m, m.body.tenant, WHAT)
  checkConsent(m.body)
  if (options.ignoreExpiry !== true && m.body.policy.expires !== 0 && now > m.body.policy.expires) {
    throw new BioshardError('ERR_EXPIRED', 'enrolment has expired')
  }
}

/** The bytes a subject signs to consent to one enrolment (by one tenant, at one time). */
export function consentMessage (templateId: Uint8Array, tenant: Uint8Array, at: number): Uint8Array {
  return encodeCanonical({ templateId, tenant, at })
}

/**
 * Subject consent: the subject's own key signs `{templateId, tenant, at}`.
 *
 * @example const consent = subjectConsent(templateId, tenantKey.publicKey, subjectKey)
 */
export function subjectConsent (templateId: Uint8Array, tenant: Uint8Array, subject: SigningKey, at = Date.now()): Consent {
  return { by: 'subject', at, subject: subject.publicKey, sig: sign(SIG.CONSENT, consentMessage(templateId, tenant, at), subject) }
}

/** A subject-signed consent must verify; tenant-attested consent is covered by the manifest signature. */
function checkConsent (body: ManifestBody): void {
  checkConsentFor(body.templateId, body.tenant, body.consent)
}

/**
 * Check a consent record for one enrolment: subject consent must be signed
 * by the subject over exactly this template id and tenant.
 *
 * @throws {BioshardError} ERR_BAD_SIGNATURE when a subject signature is missing or does not verify
 * @example checkConsentFor(templateId, tenantKey.publicKey, consent)
 */
export function checkConsentFor (templateId: Uint8Array, tenant: Uint8Array, c: Consent): void {
  if (c.by !== 'subject') return
  if (c.subject === undefined || c.sig === undefined || !verify(SIG.CONSENT, consentMessage(templateId, tenant, c.at), c.sig, c.subject)) {
    throw new BioshardError('ERR_BAD_SIGNATURE', 'manifest.consent: the subject signature does not verify')
  }
}

/**
 * Sign a manifest body as the tenant.
 *
 * @example const m = signManifest(body, tenantKey, tenantCertWire)
 */
export function signManifest (body: ManifestBody, tenant: SigningKey, cert: SignedWire): Manifest {
  const wire = { ...signBody(SIG.MANIFEST, body, tenant), cert }
  return readManifest(structuredClone(wire))
}

/** The share entry for holder `peerId`, if listed. */
export function entryFor (m: ManifestBody, peerId: string): ShareEntry | undefined {
  return m.shares.find((s) => s.holder === peerId)
}
