/**
 * The verifier library's client: option checking, then a composition of the
 * parts — the identity it acts as (client/identity.ts), its place in the
 * network (client/join.ts), its enclave (client/enclave-keeper.ts), its
 * manifests — behind the enroll, verify, erase and lookup methods, which
 * throw typed errors.
 *
 * @module
 */
import type { PrivateKey } from '@libp2p/interface'
import { BioshardError } from '../errors.ts'
import { aint, abytes } from '../crypto/bytes.ts'
import type { Manifest } from '../protocol/manifest.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { PURPOSE } from '../protocol/fields.ts'
import type { EnclaveOptions } from '../enclave/enclave.ts'
import { ManifestStore } from './manifest-store.ts'
import { RecordReplicas } from '../net/record-replicas.ts'
import { PreparedIds } from './prepared-ids.ts'
import { enrollWithOptions, type EnrollOptions, type EnrollResult } from './enroll.ts'
import { verify as verifyFlow, type VerifyResult, type Probe } from './verify.ts'
import { Session, type SessionOptions } from './session.ts'
import { erase as eraseFlow, type EraseResult, type EraseOptions } from './erase.ts'
import type { ClientContext, ClientTimeouts, Credential, LivenessDetector } from './context.ts'
import { resolveIdentity } from './identity.ts'
import { joinNetwork, type Joined } from './join.ts'
import { EnclaveKeeper } from './enclave-keeper.ts'
import { auditTemplate, type HolderAudit } from './audit.ts'
import { refreshTemplate, repairTemplate, type MaintenanceReport } from './maintain.ts'
import { DEFAULT_TIMEOUTS, MAX_TIMEOUT_MS, checkTimeouts } from './constants.ts'

export type { EnrollOptions } from './enroll.ts'
export type { MaintenanceReport } from './maintain.ts'

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
  /** Ask every holder of a template to prove possession of its share (client/audit.ts); one outcome per holder. */
  audit: (templateId: Uint8Array) => Promise<HolderAudit[]>
  /** Proactively refresh every share of a template (client/maintain.ts); manifest seq + 1. */
  refresh: (templateId: Uint8Array) => Promise<MaintenanceReport>
  /** Replace lost holders of a template with new ones by repair (client/maintain.ts); manifest seq + 1 per holder. */
  repair: (templateId: Uint8Array, options: { lost: string[] }) => Promise<MaintenanceReport>
  /** The current manifest of a template (cache, then DHT). */
  manifest: (templateId: Uint8Array, options?: { refresh?: boolean }) => Promise<Manifest>
  /** Open a continuous-authentication session on an enrolled template. */
  session: (templateId: Uint8Array, options?: SessionOptions) => Session
  /** The enclave measurement this client's verifications run under. */
  measurement: () => Promise<Uint8Array>
  /** Admitted nodes this client knows. */
  roster: () => Array<{ peer: string, site: string }>
  /** What this client's roster says of a node: admitted, revoked by the authority, retiring, or not known as admitted. */
  standing: (peer: string) => 'admitted' | 'revoked' | 'retiring' | 'unknown'
  /** This client's peer id. */
  readonly peerId: string
  close: () => Promise<void>
}

/** Check the options that need no network; returns the timeouts in force. */
function checkOptions (options: ClientOptions): ClientTimeouts {
  if (!Array.isArray(options?.bootstrap) || options.bootstrap.length === 0) throw new TypeError('bootstrap must list at least one multiaddr')
  abytes(options.authority?.publicKey, 32, 'authority.publicKey')
  for (const [k, v] of Object.entries(options.timeouts ?? {})) {
    if (!(k in DEFAULT_TIMEOUTS)) throw new TypeError(`timeouts.${k} is not a known timeout`)
    aint(v, 1, MAX_TIMEOUT_MS, `timeouts.${k}`)
  }
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  checkTimeouts(timeouts)
  return timeouts
}

/**
 * Create a client and join the network.
 *
 * @throws {TypeError|RangeError} for malformed options; {BioshardError} ERR_QUORUM_UNAVAILABLE when no bootstrap node answers
 * @example
 * const client = await createClient({ bootstrap, authority, credentials: { tenant, verifier } })
 * const { templateId } = await client.enroll({ template: embedding, modality: 'face', model: 'mobilefacenet-foamliu-a6cc9032' })
 * const { accept, decision } = await client.verify({ templateId, probe, purpose: 'login' })
 * await client.close()
 */
export async function createClient (options: ClientOptions): Promise<Client> {
  const timeouts = checkOptions(options)
  const anchor: TrustAnchor = { network: options.authority.network, authorities: [options.authority.publicKey] }
  const id = resolveIdentity(options.credentials)
  const identity = options.identity !== undefined ? { identity: options.identity } : {}
  const joined = await joinNetwork({ bootstrap: options.bootstrap, anchor, proof: id.proof, ...identity })
  const keeper = new EnclaveKeeper(options.enclave, id.verifier)
  const ctx: ClientContext = {
    host: joined.host,
    roster: joined.roster,
    anchor,
    ...(id.tenant !== undefined ? { tenant: id.tenant } : {}),
    ...(id.verifier !== undefined ? { verifier: id.verifier } : {}),
    manifests: new ManifestStore(RecordReplicas.overRoster(joined.host.services.dht, joined.roster), anchor, id.ownTenant),
    enclave: async () => await keeper.handle(),
    ...(options.liveness !== undefined ? { liveness: options.liveness } : {}),
    timeouts
  }
  return clientOf(ctx, { joined, keeper, ...(options.enclave?.faceModel !== undefined ? { faceModel: options.enclave.faceModel } : {}) })
}

/** The probe as verify takes it. */
function probeOf (probe: VerifyOptions['probe']): Probe {
  if (probe instanceof Float32Array) return { kind: 'embedding', vector: probe }
  if (probe !== null && typeof probe === 'object' && probe.image instanceof Uint8Array) return { kind: 'image', bytes: probe.image }
  throw new TypeError('probe must be a Float32Array or { image: Uint8Array }')
}

/** The client's methods over its context, each checking its own arguments. */
function clientOf (ctx: ClientContext, parts: { joined: Joined, keeper: EnclaveKeeper, faceModel?: EnclaveOptions['faceModel'] }): Client {
  const prepared = new PreparedIds()
  const { joined, keeper } = parts
  const client: Client = {
    peerId: joined.host.peerId.toString(),
    prepareEnrollment () {
      if (ctx.tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; enrol needs them')
      return { templateId: prepared.issue(), tenant: ctx.tenant.key.publicKey }
    },
    enroll: async (o) => await enrollWithOptions(ctx, o, { prepared, ...(parts.faceModel !== undefined ? { faceModel: parts.faceModel } : {}) }),
    async verify (o) {
      abytes(o?.templateId, 32, 'templateId')
      if (typeof o.purpose !== 'string' || !PURPOSE.test(o.purpose)) throw new TypeError('purpose must be a purpose token such as login')
      return await verifyFlow(ctx, { templateId: o.templateId, probe: probeOf(o.probe), purpose: o.purpose })
    },
    async erase (templateId, eo) {
      abytes(templateId, 32, 'templateId')
      return await eraseFlow(ctx, templateId, eo)
    },
    async audit (templateId) {
      abytes(templateId, 32, 'templateId')
      return await auditTemplate(ctx, templateId)
    },
    async refresh (templateId) {
      abytes(templateId, 32, 'templateId')
      return await refreshTemplate(ctx, templateId)
    },
    async repair (templateId, ro) {
      abytes(templateId, 32, 'templateId')
      return await repairTemplate(ctx, templateId, ro)
    },
    async manifest (templateId, mo) {
      abytes(templateId, 32, 'templateId')
      return await ctx.manifests.get(templateId, { ...mo, signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
    },
    session (templateId, so) {
      abytes(templateId, 32, 'templateId')
      return new Session(templateId, async (probe, purpose) => await client.verify({ templateId, probe, purpose }), so)
    },
    measurement: async () => (await keeper.handle()).enclave.measurement,
    roster: () => joined.roster.list().map((e) => ({ peer: e.peer, site: e.site })),
    standing: (peer) => joined.roster.isRevoked(peer)
      ? 'revoked'
      : joined.roster.isRetiring(peer) ? 'retiring' : joined.roster.isAdmitted(peer) ? 'admitted' : 'unknown',
    async close () {
      await keeper.close()
      await joined.leave()
    }
  }
  return client
}
