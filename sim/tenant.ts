/**
 * The simulator's tenant: one client context built from the verifier
 * library's parts (client/context.ts), so the run enrols, verifies and erases
 * through the real flows, with timeouts generous enough that a verification's
 * outcome depends on which holders answer, not on how fast a busy machine
 * answers. Beside it, an auditor host of the same tenant fetches single
 * shares directly (client/holder-requests.ts) into a key of its own, which
 * the simulator's policies list as an allowed measurement: that is how the
 * run names Byzantine holders and checks erasure by trying.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { Tenant } from './local-network.ts'
import type { NodeFleet } from './fleet.ts'
import type { ClientContext, ClientTimeouts } from '../client/context.ts'
import { resolveIdentity } from '../client/identity.ts'
import { joinNetwork, type Joined } from '../client/join.ts'
import { EnclaveKeeper } from '../client/enclave-keeper.ts'
import { ManifestStore } from '../client/manifest-store.ts'
import { RecordReplicas } from '../net/record-replicas.ts'
import { fetchShare, type FetchCredentials } from '../client/holder-requests.ts'
import { generateSealKeyPair, open, type SealKeyPair } from '../crypto/seal.ts'
import { generateSigningKey } from '../crypto/sign.ts'
import { shareMatches } from '../crypto/shares.ts'
import { randomBytes, wipe } from '../crypto/bytes.ts'
import { attestProcess } from '../protocol/attestation.ts'
import { sealBinding, shareSealInfo } from '../protocol/seal-binding.ts'
import type { Manifest } from '../protocol/manifest.ts'
import type { FetchResponse } from '../protocol/fetch.ts'

/**
 * Client timeouts of the simulator: a request may take this long before it
 * counts as unanswered. Far above a loaded two-core machine's latency (tens
 * of ms), so only a holder that never answers (crashed, stalled, cut off)
 * misses it; the hedge asks a spare after half a second.
 */
export const SIM_TIMEOUTS: ClientTimeouts = { requestMs: 8_000, hedgeMs: 500, dhtMs: 20_000 }
/**
 * Client timeouts of the enrolment phase. It runs before the first fault is
 * injected, so every holder is up and reachable and a slow answer is the
 * machine's load (a run beside other CPU-bound work), never a fault: only a
 * wait far past any load ends it, and the enrolled set stays a function of the seed.
 */
export const SIM_ENROL_TIMEOUTS: ClientTimeouts = { requestMs: 60_000, hedgeMs: 500, dhtMs: 120_000 }
/** The purpose every simulated verification and audit fetch uses. */
export const SIM_PURPOSE = 'login'
/** The measurement the auditor's key is attested under (listed in every simulated policy beside the enclave's). */
export const AUDIT_MEASUREMENT = createHash('sha256').update('bioshard-sim-audit').digest()

/** What an audit fetch of one share found. */
export type AuditOutcome = { kind: 'good' } | { kind: 'bad' } | { kind: 'refused', code: string }

/** The auditor: its own host, verifier credentials and sealing key. */
export interface Auditor {
  /** Fetch share `x` of the manifest's template from `holder` and check it against its commitment. */
  fetch: (manifest: Manifest, entry: { x: number, holder: string }) => Promise<AuditOutcome>
}

/** The simulator's tenant: its client context, its auditor, and how to close both. */
export interface SimTenant {
  tenant: Tenant
  ctx: ClientContext
  auditor: Auditor
  /**
   * Wait until each of `peers` serves both of the tenant's hosts (a node that
   * has just started or restarted refuses a client until the admission
   * exchange on the new connection is done); returns the peers that still refuse.
   */
  ready: (peers: readonly string[]) => Promise<string[]>
  close: () => Promise<void>
}

/**
 * How long {@link SimTenant.ready} keeps asking the nodes, and how often: a
 * base (for both of the tenant's hosts) and more per node asked, since every
 * node is asked at once from one event loop (the shape of the network's
 * convergence deadline).
 */
const READY_DEADLINE_MS = 30_000
const READY_PER_NODE_MS = 300
const READY_POLL_MS = 100

/** Ask `peer` for a share of an id nobody holds until it answers anything but the access gate's refusal, or `deadline` passes. */
async function servedBy (host: Joined['host'], peer: string, o: { creds: FetchCredentials, deadline: number }): Promise<boolean> {
  const { creds, deadline } = o
  for (;;) {
    try {
      await fetchShare(host, peer, { templateId: randomBytes(32), x: 1, purpose: SIM_PURPOSE, creds }, { timeoutMs: SIM_TIMEOUTS.requestMs })
      return true
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_NOT_ADMITTED') return true
      if (Date.now() > deadline) return false
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
    }
  }
}

/** What joining as the tenant needs of the network: its authority's word and a way in (a LocalNetwork or any fleet). */
type Provisioner = Pick<NodeFleet, 'tenant' | 'verifier' | 'bootstrap' | 'anchor'>

/** Join the network as the simulator's tenant. */
export async function joinAsTenant (net: Provisioner): Promise<SimTenant> {
  const tenant = net.tenant('sim-tenant')
  const id = resolveIdentity({ tenant: { key: tenant.key, cert: tenant.wire } })
  const joined = await joinNetwork({ bootstrap: net.bootstrap, anchor: net.anchor, proof: id.proof })
  const keeper = new EnclaveKeeper(undefined, id.verifier)
  const ctx: ClientContext = {
    host: joined.host,
    roster: joined.roster,
    anchor: net.anchor,
    ...(id.tenant !== undefined ? { tenant: id.tenant } : {}),
    ...(id.verifier !== undefined ? { verifier: id.verifier } : {}),
    manifests: new ManifestStore(RecordReplicas.overRoster(joined.host.services.dht, joined.roster), net.anchor, id.ownTenant),
    enclave: async () => await keeper.handle(),
    timeouts: SIM_TIMEOUTS
  }
  const audit = await joinAuditor(net, tenant)
  const ready = async (peers: readonly string[]): Promise<string[]> => {
    const handle = await ctx.enclave()
    const v = id.verifier ?? id.proof
    const creds: FetchCredentials = { verifier: v.key, cert: v.cert, attestation: handle.attestation }
    const deadline = Date.now() + READY_DEADLINE_MS + READY_PER_NODE_MS * peers.length
    const served = await Promise.all(peers.map(async (p) =>
      await servedBy(ctx.host, p, { creds, deadline }) && await servedBy(audit.joined.host, p, { creds: audit.creds, deadline })))
    return peers.filter((_, i) => !served[i])
  }
  return {
    tenant,
    ctx,
    auditor: audit.auditor,
    ready,
    close: async () => {
      await keeper.close()
      await joined.leave()
      await audit.joined.leave()
    }
  }
}

/** A second host of the tenant, with a verifier of its own and a sealing key attested under {@link AUDIT_MEASUREMENT}. */
async function joinAuditor (net: Provisioner, tenant: Tenant): Promise<{ joined: Joined, auditor: Auditor, creds: FetchCredentials }> {
  const verifier = net.verifier(tenant, [SIM_PURPOSE], 'sim-auditor')
  const proof = { key: verifier.key, cert: verifier.wire, ...(verifier.chain !== undefined ? { chain: verifier.chain } : {}) }
  const joined = await joinNetwork({ bootstrap: net.bootstrap, anchor: net.anchor, proof })
  const keys = generateSealKeyPair()
  const attestation = attestProcess({ key: keys.publicKey, signer: generateSigningKey().key.publicKey, measurement: AUDIT_MEASUREMENT }, verifier.key)
  const creds: FetchCredentials = { verifier: verifier.key, cert: verifier.wire, attestation }
  return { joined, creds, auditor: { fetch: async (manifest, entry) => await auditFetch(joined, { keys, creds }, manifest, entry) } }
}

async function auditFetch (
  joined: Joined, key: { keys: SealKeyPair, creds: FetchCredentials }, manifest: Manifest, entry: { x: number, holder: string }
): Promise<AuditOutcome> {
  const { templateId, shares } = manifest.body
  const now = Date.now()
  let res: FetchResponse
  try {
    const order = { templateId, x: entry.x, purpose: SIM_PURPOSE, creds: key.creds }
    res = await fetchShare(joined.host, entry.holder, order, { now, timeoutMs: SIM_TIMEOUTS.requestMs })
  } catch (e) {
    const code = (e as { code?: unknown }).code
    return { kind: 'refused', code: typeof code === 'string' ? code : 'ERR_INTERNAL' }
  }
  let share: Uint8Array | undefined
  try {
    // A share sealed under another template, or one failing its commitment, is a bad share, as the enclave would find it.
    share = open(key.keys, res.body.sealed, shareSealInfo(templateId, entry.x), sealBinding(res.body.request, now, res.body.manifest))
    const commitment = shares.find((s) => s.x === entry.x)?.commitment
    return commitment !== undefined && shareMatches(templateId, { x: entry.x, bytes: share }, commitment) ? { kind: 'good' } : { kind: 'bad' }
  } catch {
    return { kind: 'bad' }
  } finally {
    wipe(share)
  }
}
