/**
 * Test helpers that drive real nodes through the holder protocols directly
 * (below the verifier library): make a client host, enrol a template by
 * hand, set up a test enclave key and its attestation.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, dialBootstrap, transportFor, type Host } from '../../net/host.ts'
import { Roster } from '../../net/roster.ts'
import { Admission } from '../../net/admission.ts'
import { InvalidRequestBudget } from '../../net/rpc.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare, type Share } from '../../crypto/shares.ts'
import { generateSealKeyPair, open, type SealKeyPair } from '../../crypto/seal.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { attestProcess } from '../../protocol/attestation.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { shareSealInfo, type FetchResponse } from '../../protocol/fetch.ts'
import { sealBinding } from '../../protocol/seal-binding.ts'
import type { SignedWire } from '../../protocol/signed.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { storeShare } from '../../client/holder-requests.ts'
import type { LocalNetwork, Tenant, Verifier } from '../../sim/local-network.ts'
import type { SiteNode } from '../../node/site-node.ts'
import type { Credential } from '../../client/context.ts'
import { requestsAwaitAcceptance } from '../../client/join.ts'

export const MODEL = 'test-model-1'

/** How long {@link clientHost} waits for its roster and an acceptance before it fails. */
const SYNC_DEADLINE_MS = 60_000

/**
 * A client libp2p host joined to `net`, with its roster synced. It proves
 * `credential` to the nodes it meets (by default the certificate of a tenant
 * made for it); `null` makes an uncertified peer.
 */
export async function clientHost (
  net: LocalNetwork,
  options: { credential?: Credential | null } = {}
): Promise<{ host: Host, roster: Roster, admission: Admission, stop: () => Promise<void> }> {
  const roster = new Roster(net.anchor)
  const host = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listen: [],
    transport: transportFor(net.bootstrap),
    anchor: net.anchor,
    role: 'client',
    isAdmitted: (peer) => roster.isAdmitted(peer.toString())
  })
  const own = options.credential === undefined ? net.tenant('client-host') : undefined
  const credential = own !== undefined ? { key: own.key, cert: own.wire } : options.credential ?? undefined
  const admission = new Admission({
    libp2p: host,
    roster,
    budget: new InvalidRequestBudget(20, 60_000, 60_000),
    ...(credential !== undefined ? { credential } : {})
  })
  await host.start()
  await admission.start()
  // As a real client's (client/join.ts): requests wait for the node's acceptance, and resend once after a fresh one.
  if (credential !== undefined) requestsAwaitAcceptance(host, admission)
  await dialBootstrap(host, net.bootstrap)
  // Synced: every node is in the roster and, when proving a credential, every running node has accepted
  // it (so no first request races the proof on a busy machine). The deadline only ends a sync that cannot happen.
  const live = net.nodes.filter((n) => n.libp2p !== undefined)
  if (credential !== undefined) {
    await Promise.all(live.map(async (n) => { try { await host.dial(multiaddr(n.addrs[0])) } catch {} }))
  }
  const deadline = Date.now() + SYNC_DEADLINE_MS
  const synced = (): boolean => roster.size() >= net.nodes.length && (credential === undefined || admission.acceptances >= live.length)
  while (!synced() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  if (!synced()) {
    await admission.stop()
    await host.stop()
    throw new Error(`client host did not sync: roster ${roster.size()} of ${net.nodes.length}, ${admission.acceptances} acceptance(s)`)
  }
  return { host, roster, admission, stop: async () => { await admission.stop(); await host.stop() } }
}

/** A tenant 'acme', its verifier for 'login', a test enclave, and the fetch credentials they make. */
export function fetchParties (net: LocalNetwork): {
  tenant: Tenant
  verifier: Verifier
  enclave: ReturnType<typeof testEnclave>
  creds: { verifier: Verifier['key'], cert: SignedWire, attestation: SignedWire }
} {
  const tenant = net.tenant('acme')
  const verifier = net.verifier(tenant, ['login'])
  const enclave = testEnclave(verifier)
  return { tenant, verifier, enclave, creds: { verifier: verifier.key, cert: verifier.wire, attestation: enclave.attestation } }
}

/** A test enclave: a fresh X25519 key, a measurement, and the verifier's attestation of both. */
export function testEnclave (verifier: Verifier, measurement = randomBytes(32)): { keys: SealKeyPair, measurement: Uint8Array, attestation: SignedWire } {
  const keys = generateSealKeyPair()
  const attestation = attestProcess({ key: keys.publicKey, signer: generateSigningKey().key.publicKey, measurement }, verifier.key)
  return { keys, measurement, attestation }
}

export interface Enrolled { templateId: Uint8Array, template: Uint8Array, manifest: Manifest, shares: Share[], holders: SiteNode[] }

/** A random template, encrypted, split and described by a signed manifest, not yet stored anywhere. */
export interface Prepared { templateId: Uint8Array, template: Uint8Array, secret: Uint8Array, shares: Share[], manifest: Manifest }

/**
 * Encrypt and split a random `dim`-d template at (t, holders.length) and sign
 * a manifest placing share i at holder i. The caller stores the shares and
 * wipes what it no longer needs.
 */
export async function prepareEnrolment (
  tenant: Pick<Tenant, 'key' | 'wire'>,
  holders: ReadonlyArray<{ peer: string, site: string }>,
  o: { t: number, measurements: Uint8Array[], dim?: number, policy?: Record<string, unknown> }
): Promise<Prepared> {
  const dim = o.dim ?? 128
  const templateId = randomBytes(32)
  const template = new Uint8Array(new Float32Array(Array.from({ length: dim }, () => Math.random() - 0.5)).buffer)
  const secret = encryptTemplate(template, { templateId, modality: 'face', model: MODEL })
  const shares = await splitSecret(secret, o.t, holders.length)
  const manifest = buildManifest({
    templateId,
    tenant: tenant.key,
    tenantCert: tenant.wire,
    modality: 'face',
    model: MODEL,
    dim,
    t: o.t,
    n: holders.length,
    shares: shares.map((s, i) => ({ x: s.x, holder: holders[i].peer, site: holders[i].site, commitment: commitShare(templateId, s) })),
    policy: { measurements: o.measurements, ...o.policy }
  })
  return { templateId, template, secret, shares, manifest }
}

/**
 * Open a fetched share as the enclave would: under the binding of the request
 * hash, the request's time (what the caller signed) and the manifest digest
 * the holder names.
 */
export function openFetched (keys: SealKeyPair, res: FetchResponse, requestTime: number): Uint8Array {
  const binding = sealBinding(res.body.request, requestTime, res.body.manifest)
  return open(keys, res.body.sealed, shareSealInfo(res.body.templateId, res.body.x), binding)
}

/**
 * A policy for tests that fetch one template many times: far above the
 * continuous-authentication default, so the rate limit is not what they test.
 */
export const TEST_RATE = { ratePerMinute: 100_000, burst: 100_000 }

/** What {@link enrolByHand} enrols under. */
export interface ByHandOptions {
  /** Enclave measurements the manifest's policy accepts. */
  measurements: Uint8Array[]
  /** Threshold. @default 3 */
  t?: number
  /** Policy fields beside the measurements. @default {@link TEST_RATE} */
  policy?: Record<string, unknown>
}

/** Encrypt, split and store a random 128-d template at every one of `holders` (at {@link TEST_RATE} unless `policy` says otherwise). */
export async function enrolByHand (host: Host, holders: SiteNode[], tenant: Tenant, options: ByHandOptions): Promise<Enrolled> {
  const { measurements, t = 3, policy = TEST_RATE } = options
  const placement = holders.map((h) => ({ peer: h.cert.body.peer, site: h.config.site }))
  const { templateId, template, secret, shares, manifest } = await prepareEnrolment(tenant, placement, { t, measurements, policy })
  secret.fill(0)
  await Promise.all(shares.map(async (s, i) =>
    await storeShare(host, holders[i].cert.body.peer, { manifest, x: s.x, share: s.bytes.slice(), tenant: tenant.key })))
  return { templateId, template, manifest, shares, holders }
}
