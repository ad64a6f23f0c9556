/**
 * The verifier library's client: one libp2p peer (DHT client mode) that
 * learns the roster through admission, runs the enclave, and offers enroll,
 * verify, erase and manifest lookups with typed errors.
 *
 * @module
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { BioshardError } from '../errors.ts'
import { aint, abytes, equalBytes } from '../crypto/bytes.ts'
import { readVerifierCert } from '../protocol/certs.ts'
import { attestProcess } from '../protocol/attestation.ts'
import type { Manifest, Policy, Consent } from '../protocol/manifest.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { PURPOSE, MODEL_ID } from '../protocol/fields.ts'
import { createHost, dialBootstrap } from '../net/host.ts'
import { Roster } from '../net/roster.ts'
import { Admission } from '../net/admission.ts'
import { InvalidRequestBudget } from '../net/rpc.ts'
import { authoriseVerifier } from '../keys/authority.ts'
import { toWire } from '../protocol/signed.ts'
import { ManifestStore } from './manifest-store.ts'
import { PreparedIds } from './prepared-ids.ts'
import { checkConsentFor } from '../protocol/manifest.ts'
import { enroll as enrollFlow, type EnrollResult } from './enroll.ts'
import { verify as verifyFlow, type VerifyResult, type Probe } from './verify.ts'
import { Session, type SessionOptions } from './session.ts'
import { erase as eraseFlow, type EraseResult, type EraseOptions } from './erase.ts'
import type { ClientContext, ClientTimeouts, Credential, EnclaveHandle, LivenessDetector } from './context.ts'
import { Enclave, type EnclaveOptions } from '../enclave/enclave.ts'
import { makeTemplate, encodeTemplate, type TemplateDtype } from '../matcher/template.ts'
import { FaceMatcher } from '../matcher/face/pipeline.ts'
import { faceConfig } from '../enclave/launch.ts'
import { defaultThreshold } from '../matcher/thresholds.ts'

export interface ClientOptions {
  /** Multiaddrs (with /p2p/<id>) of nodes to join through. */
  bootstrap: string[]
  /** The network authority to trust (from its authority.json). */
  authority: { network: string, publicKey: Uint8Array }
  /** libp2p identity of this client; a fresh one when absent. */
  identity?: PrivateKey
  /** Tenant key and certificate (to enrol and erase), verifier key and certificate (to verify). */
  credentials: { tenant?: Credential, verifier?: Credential }
  /** Enclave options (e.g. face model paths to embed raw samples inside it). */
  enclave?: EnclaveOptions
  timeouts?: Partial<ClientTimeouts>
  /** Presentation-attack detection for enroll and verify (required when a policy sets `liveness`). */
  liveness?: LivenessDetector
}

export interface EnrollOptions {
  /**
   * The embedding to enrol (copied into the template, the copy wiped), or a
   * raw face photo. A photo is embedded in this process with the face models
   * given in `enclave.faceModel`: at enrolment the application holds the
   * sample anyway; it is at verification that samples stay inside the enclave.
   */
  template: Float32Array | { image: Uint8Array }
  modality: 'face' | 'voice'
  /** Model id of the embedder (bound into the encryption and checked at verify); taken from the face model for photos. */
  model?: string
  /** Threshold and share count. @default t = 3, n = 5 */
  t?: number
  n?: number
  /** Store int8 templates (4× smaller shares). @default 'f32' */
  dtype?: TemplateDtype
  /** Access policy; `measurements` defaults to this client's enclave. */
  policy?: Partial<Policy>
  /**
   * How consent was obtained. Subject consent is signed over the template id,
   * so it needs an id from {@link Client.prepareEnrollment} passed as `templateId`.
   */
  consent?: Consent
  /** An id from {@link Client.prepareEnrollment} (fresh, unused); a new random id when absent. */
  templateId?: Uint8Array
}

export interface VerifyOptions {
  templateId: Uint8Array
  /** The probe embedding, or a raw image to embed inside the enclave. */
  probe: Float32Array | { image: Uint8Array }
  purpose: string
}

/** The verifier library's client (see {@link createClient}). */
export interface Client {
  /**
   * Reserve a fresh template id for an enrolment (used once, within an hour),
   * with the tenant key a subject signs consent for: `subjectConsent(templateId, tenant, subjectKey)`.
   */
  prepareEnrollment: () => { templateId: Uint8Array, tenant: Uint8Array }
  /** Enrol a template; returns its id, manifest and the holders' receipts. */
  enroll: (options: EnrollOptions) => Promise<EnrollResult>
  /** Verify a probe against an enrolled template; returns the enclave-signed decision. */
  verify: (options: VerifyOptions) => Promise<VerifyResult>
  /** Erase a template everywhere (opt-out); complete only with all n receipts. */
  erase: (templateId: Uint8Array, options?: EraseOptions) => Promise<EraseResult>
  /** The current manifest of a template (cache, then DHT). */
  manifest: (templateId: Uint8Array, options?: { refresh?: boolean }) => Promise<Manifest>
  /** Open a continuous-authentication session on an enrolled template. */
  session: (templateId: Uint8Array, options?: SessionOptions) => Session
  /** The enclave measurement this client's verifications run under. */
  measurement: () => Promise<Uint8Array>
  /** Admitted nodes this client knows. */
  roster: () => Array<{ peer: string, site: string }>
  /** This client's peer id. */
  readonly peerId: string
  close: () => Promise<void>
}

const DEFAULT_TIMEOUTS: ClientTimeouts = { requestMs: 5_000, hedgeMs: 150, dhtMs: 5_000 }
const ROSTER_WAIT_MS = 10_000

/**
 * Create a client and join the network.
 *
 * @throws {TypeError} for malformed options; {BioshardError} ERR_QUORUM_UNAVAILABLE when no bootstrap node answers
 * @example
 * const client = await createClient({ bootstrap, authority, credentials: { tenant, verifier } })
 * const { templateId } = await client.enroll({ template: embedding, modality: 'face', model: 'mobilefacenet-foamliu-a6cc9032' })
 * const { accept, decision } = await client.verify({ templateId, probe, purpose: 'login' })
 * await client.close()
 */
export async function createClient (options: ClientOptions): Promise<Client> {
  if (!Array.isArray(options?.bootstrap) || options.bootstrap.length === 0) throw new TypeError('bootstrap must list at least one multiaddr')
  abytes(options.authority?.publicKey, 32, 'authority.publicKey')
  for (const [k, v] of Object.entries(options.timeouts ?? {})) {
    if (!(k in DEFAULT_TIMEOUTS)) throw new TypeError(`timeouts.${k} is not a known timeout`)
    aint(v, 1, 600_000, `timeouts.${k}`)
  }
  const anchor: TrustAnchor = { network: options.authority.network, authorities: [options.authority.publicKey] }
  const tenant = options.credentials?.tenant
  let verifier = options.credentials?.verifier
  if (verifier === undefined && tenant !== undefined) {
    // A tenant may verify its own enrolments: authorise a verifier key for this client.
    const v = authoriseVerifier(tenant.key, 'client', ['login', 'payment', 'step-up', 'session'], { days: 30 })
    verifier = { key: v.key, cert: toWire(v.cert), chain: tenant.cert }
  }
  // The tenant this client acts for: its own key, or the tenant that certified its verifier key.
  const ownTenant = tenant?.key.publicKey ?? (verifier !== undefined ? readVerifierCert(verifier.cert).body.tenant : undefined)
  if (ownTenant === undefined) throw new TypeError('credentials must hold a tenant or a verifier credential')
  if (tenant !== undefined && options.credentials?.verifier !== undefined && !equalBytes(readVerifierCert(options.credentials.verifier.cert).body.tenant, tenant.key.publicKey)) {
    throw new TypeError('credentials.verifier is certified by another tenant than credentials.tenant')
  }
  const roster = new Roster(anchor)
  const host = await createHost({ privateKey: options.identity ?? await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client', isAdmitted: (peer) => roster.isAdmitted(peer.toString()) })
  // Nodes serve clients that prove a certificate: a verifier key with its tenant's certificate, else the tenant key.
  const credential = verifier?.chain !== undefined ? verifier : tenant
  if (credential === undefined) throw new TypeError('credentials.verifier needs chain (its tenant certificate) when no tenant credential is given')
  const admission = new Admission({ libp2p: host, roster, budget: new InvalidRequestBudget(20, 600_000, 600_000), credential })
  await host.start()
  await admission.start()
  const connected = await dialBootstrap(host, options.bootstrap)
  if (connected === 0) {
    await admission.stop(); await host.stop()
    throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no bootstrap node could be reached')
  }
  // Ready when the roster has arrived, a node has accepted this client's
  // proof of certification, and the DHT has a peer to query (identify runs
  // after the connection opens; a lookup with an empty routing table ends at
  // once, empty).
  const dht = host.services.dht as KadDHT & { routingTable?: { size: number } }
  const deadline = Date.now() + ROSTER_WAIT_MS
  while ((roster.size() === 0 || admission.acceptances === 0 || (dht.routingTable?.size ?? 1) === 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))

  let enclave: Enclave | undefined
  let handle: EnclaveHandle | undefined
  let generation = -1
  const enclaveHandle = async (): Promise<EnclaveHandle> => {
    enclave ??= await Enclave.start(options.enclave)
    if (handle === undefined || generation !== enclave.generation) {
      if (verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
      await enclave.ready()
      generation = enclave.generation
      const e = enclave
      handle = { enclave: e, generation, attestation: attestProcess({ key: e.publicKey, signer: e.signer, measurement: e.measurement }, verifier.key), match: async (req) => await e.match(req) }
    }
    return handle
  }

  const ctx: ClientContext = {
    host,
    roster,
    anchor,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(verifier !== undefined ? { verifier } : {}),
    manifests: new ManifestStore(host.services.dht, anchor, ownTenant),
    enclave: enclaveHandle,
    ...(options.liveness !== undefined ? { liveness: options.liveness } : {}),
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  }

  const prepared = new PreparedIds()
  const client: Client = {
    peerId: host.peerId.toString(),
    prepareEnrollment () {
      if (tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
      return { templateId: prepared.issue(), tenant: tenant.key.publicKey }
    },
    async enroll (o) {
      let embedding: Float32Array
      let model = o?.model
      if (o?.template instanceof Float32Array) embedding = o.template
      else if (o?.template !== null && typeof o?.template === 'object' && o.template.image instanceof Uint8Array) {
        if (options.enclave?.faceModel === undefined) throw new TypeError('enrolling a photo needs enclave.faceModel (the face models) in the client options')
        const fm = await FaceMatcher.create(faceConfig(options.enclave.faceModel))
        try {
          const e = await fm.embed(o.template.image)
          embedding = e.embedding
          model ??= e.model
          if (model !== e.model) throw new TypeError(`model '${model}' does not match the face model '${e.model}'`)
        } finally {
          await fm.close()
        }
      } else throw new TypeError('template must be a Float32Array or { image: Uint8Array }')
      if (o.modality !== 'face' && o.modality !== 'voice') throw new TypeError("modality must be 'face' or 'voice'")
      if (typeof model !== 'string' || !MODEL_ID.test(model)) throw new TypeError('model must be a model id (letters, digits, . _ : + -)')
      const t = aint(o.t ?? 3, 2, 255, 't')
      const n = aint(o.n ?? 5, t, 255, 'n')
      const measurements = o.policy?.measurements ?? [(await enclaveHandle()).enclave.measurement]
      const threshold = o.policy?.threshold ?? Math.round(defaultThreshold(model) * 1_000_000)
      if (o.policy?.liveness === true) {
        if (options.liveness === undefined) throw new BioshardError('ERR_LIVENESS', 'the policy requires a liveness check and this client has no detector')
        const r = await options.liveness(o.template, { phase: 'enroll' })
        if (!r.live) throw new BioshardError('ERR_LIVENESS', `presentation attack suspected (liveness score ${r.score.toFixed(3)})`)
      }
      for (const p of o.policy?.purposes ?? []) if (!PURPOSE.test(p)) throw new TypeError(`policy.purposes: '${p}' is not a purpose token`)
      if (o.templateId !== undefined) abytes(o.templateId, 32, 'templateId')
      if (o.consent?.by === 'subject') {
        if (o.templateId === undefined) throw new TypeError('subject consent needs templateId from prepareEnrollment(): the subject signs over the id')
        if (tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
        checkConsentFor(o.templateId, tenant.key.publicKey, o.consent)
      }
      if (o.templateId !== undefined) prepared.take(o.templateId)
      const bytes = encodeTemplate(makeTemplate(embedding, { modality: o.modality, model, dtype: o.dtype ?? 'f32' }))
      if (!(o.template instanceof Float32Array)) embedding.fill(0)
      return await enrollFlow(ctx, {
        template: bytes,
        modality: o.modality,
        model,
        dim: embedding.length,
        t,
        n,
        policy: { ...o.policy, threshold, measurements },
        ...(o.consent !== undefined ? { consent: o.consent } : {}),
        ...(o.templateId !== undefined ? { templateId: o.templateId } : {})
      })
    },
    async verify (o) {
      abytes(o?.templateId, 32, 'templateId')
      if (typeof o.purpose !== 'string' || !PURPOSE.test(o.purpose)) throw new TypeError('purpose must be a purpose token such as login')
      let probe: Probe
      if (o.probe instanceof Float32Array) probe = { kind: 'embedding', vector: o.probe }
      else if (o.probe !== null && typeof o.probe === 'object' && o.probe.image instanceof Uint8Array) probe = { kind: 'image', bytes: o.probe.image }
      else throw new TypeError('probe must be a Float32Array or { image: Uint8Array }')
      return await verifyFlow(ctx, { templateId: o.templateId, probe, purpose: o.purpose })
    },
    async erase (templateId, eo) {
      abytes(templateId, 32, 'templateId')
      return await eraseFlow(ctx, templateId, eo)
    },
    async manifest (templateId, mo) {
      abytes(templateId, 32, 'templateId')
      return await ctx.manifests.get(templateId, { ...mo, signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
    },
    session (templateId, so) {
      abytes(templateId, 32, 'templateId')
      return new Session(templateId, async (probe, purpose) => await client.verify({ templateId, probe, purpose }), so)
    },
    async measurement () { return (await enclaveHandle()).enclave.measurement },
    roster: () => roster.list().map((e) => ({ peer: e.peer, site: e.site })),
    async close () {
      await enclave?.close()
      await admission.stop()
      await host.stop()
    }
  }
  return client
}
