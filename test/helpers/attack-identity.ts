/**
 * Who attacks in attack.ts: a tenant the network admitted (its key and
 * certificate come in the plan), the verifier and test enclave it authorises
 * for itself, a template of its own stored at every target (so a replayed
 * request is one the nodes served once), and identities: fresh peer ids,
 * each proving the tenant's certificate to one target node.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { Admission } from '../../net/admission.ts'
import { Roster } from '../../net/roster.ts'
import { RefusalBudget } from '../../net/policy/refusal-budget.ts'
import { authoriseVerifier } from '../../keys/authority.ts'
import { signingKeyFromSeed } from '../../crypto/sign.ts'
import { fromHex } from '../../crypto/bytes.ts'
import { decodeCanonical } from '../../crypto/canonical.ts'
import type { SignedWire } from '../../protocol/signed.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { Credential } from '../../client/context.ts'
import { storeShare, type FetchCredentials } from '../../client/holder-requests.ts'
import { prepareEnrolment, testEnclave, TEST_RATE } from './enrol.ts'

/** The kinds of abuse: a replayed request, requests dated outside the freshness window, a stream flood, slow senders. */
export type AttackKind = 'replay' | 'skew' | 'streams' | 'slow'

/** A node under attack: its address, its peer id and its site (where the attacker's template places a share). */
export interface AttackTarget { addr: string, peer: string, site: string }

/** What an attacker process is told (JSON: it crosses to the child process). */
export interface AttackPlan {
  kind: AttackKind
  targets: AttackTarget[]
  /** The network id and the authority's public key (hex): the trust anchor. */
  network: string
  authority: string
  /** The attacker tenant's key seed and certificate (canonical bytes), hex. */
  tenant: { seed: string, cert: string }
  /** The local IP address the attacker's connections come from (a loopback address of its own on one machine). @default the system's choice */
  source?: string
}

/** The attacker's standing: how it proves itself, what it fetches with, and its template (for the kinds that fetch). */
export interface AttackerParty {
  anchor: TrustAnchor
  source?: string
  credential: Credential
  creds: FetchCredentials
  purpose: string
  held?: { templateId: Uint8Array, xs: number[] }
}

/** How long an identity's dial may take (ms). */
const DIAL_TIMEOUT_MS = 5_000
/** How long it waits for the node to accept its certificate (ms); generous, for a machine under attack. */
const ADMIT_WAIT_MS = 20_000
/** The purpose the attacker's verifier is authorised for. */
const PURPOSE = 'login'
/** Certificates are small: the bound a decode of one is held to. */
const CERT_MAX_BYTES = 4096

/** A fresh peer id proving the attacker's certificate, connected to one target and accepted by it. */
export class AttackIdentity {
  readonly host: Libp2p
  readonly peer: PeerId
  private readonly addr: Multiaddr
  private readonly admission: Admission

  private constructor (host: Libp2p, target: AttackTarget, admission: Admission) {
    this.host = host
    this.peer = peerIdFromString(target.peer)
    this.addr = multiaddr(target.addr)
    this.admission = admission
  }

  /**
   * Make an identity and connect it to `target`.
   *
   * @throws when the node cannot be reached or does not accept the certificate in time
   */
  static async connect (party: Pick<AttackerParty, 'anchor' | 'credential' | 'source'>, target: AttackTarget): Promise<AttackIdentity> {
    const host = await attackerHost(party.source)
    const admission = new Admission({
      libp2p: host,
      roster: new Roster(party.anchor),
      budget: new RefusalBudget(20, 60_000, 60_000),
      credential: party.credential
    })
    await host.start()
    await admission.start()
    const id = new AttackIdentity(host, target, admission)
    try {
      await host.dial(id.addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      if (!await admission.acceptedWithin(id.peer.toString(), ADMIT_WAIT_MS)) throw new Error('the node did not accept the certificate')
    } catch (e) {
      await id.close()
      throw e
    }
    return id
  }

  /**
   * Open more connections to the target, up to `n` in all (a peer may hold
   * several), as far as the node lets it.
   *
   * @returns the connections open now
   */
  async connections (n: number): Promise<Connection[]> {
    const more = n - this.host.getConnections(this.peer).length
    await Promise.all(Array.from({ length: Math.max(0, more) }, async () => {
      await this.host.dial(this.addr, { force: true, signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch(() => {})
    }))
    return this.host.getConnections(this.peer)
  }

  /** Whether the identity still has a connection to its target. */
  connected (): boolean {
    return this.host.getConnections(this.peer).length > 0
  }

  async close (): Promise<void> {
    await this.admission.stop().catch(() => {})
    await Promise.resolve(this.host.stop()).catch(() => {})
  }
}

/**
 * A bare libp2p peer (TCP, noise, yamux, identify: what admission needs)
 * with a fresh peer id, dialling from `source` when given. It serves
 * nothing; the attacker only dials.
 */
async function attackerHost (source?: string): Promise<Libp2p> {
  // net.connect takes localAddress; @libp2p/tcp passes its dial options through without naming it.
  const dialOpts = (source !== undefined ? { localAddress: source } : {}) as TCPSocketOptions
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    start: false,
    transports: [tcp({ dialOpts })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify() }
  })
}

/**
 * The attacker's standing from its plan: the tenant's credential, a verifier
 * and test enclave of its own, and, for the kinds that fetch, a template
 * stored at every target (t = 2).
 */
export async function prepareAttacker (plan: AttackPlan): Promise<AttackerParty> {
  const anchor: TrustAnchor = { network: plan.network, authorities: [fromHex(plan.authority)] }
  const key = signingKeyFromSeed(fromHex(plan.tenant.seed))
  const credential: Credential = { key, cert: decodeCanonical(fromHex(plan.tenant.cert), CERT_MAX_BYTES, 'tenant certificate') as SignedWire }
  const v = authoriseVerifier(key, 'attacker', [PURPOSE])
  const verifier = { key: v.key, cert: v.cert, wire: decodeCanonical(v.bytes, CERT_MAX_BYTES, 'verifier certificate') as SignedWire }
  v.seed.fill(0)
  const enclave = testEnclave(verifier)
  const party: AttackerParty = {
    anchor,
    ...(plan.source !== undefined ? { source: plan.source } : {}),
    credential,
    creds: { verifier: v.key, cert: verifier.wire, attestation: enclave.attestation },
    purpose: PURPOSE
  }
  if (plan.kind !== 'replay' && plan.kind !== 'skew') return party
  const placement = plan.targets.map((t) => ({ peer: t.peer, site: t.site }))
  const p = await prepareEnrolment({ key, wire: credential.cert }, placement, {
    t: Math.min(2, placement.length), measurements: [enclave.measurement], policy: TEST_RATE
  })
  p.secret.fill(0)
  p.template.fill(0)
  await Promise.all(plan.targets.map(async (target, i) => {
    const id = await AttackIdentity.connect(party, target)
    try {
      await storeShare(id.host, target.peer, { manifest: p.manifest, x: p.shares[i].x, share: p.shares[i].bytes, tenant: key })
    } finally {
      await id.close()
    }
  }))
  for (const s of p.shares) s.bytes.fill(0)
  return { ...party, held: { templateId: p.templateId, xs: p.shares.map((s) => s.x) } }
}
