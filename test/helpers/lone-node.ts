/**
 * Test helper: one provisioned node directory, run as `bioshard node start`
 * child processes one after another, and a certified client that stores,
 * fetches and erases shares of fresh templates there. Each template is t = 2,
 * n = 2: share 1 goes to the node, share 2 is kept here (its listed holder, at
 * another site, never runs). The crash, disk-fault and kill-storm runs share
 * it, so they all exercise the node exactly as a verifier's library would.
 */
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { provisionNode, type Tenant, type Verifier } from '../../sim/local-network.ts'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier } from '../../keys/authority.ts'
import { createHost, type Host } from '../../net/host.ts'
import { certifiedHost } from './certified-host.ts'
import type { Admission } from '../../net/admission.ts'
import { storeShare, fetchShare, eraseAt, prepareFetch, sendFetch, type CallOptions } from '../../client/holder-requests.ts'
import { toWire } from '../../protocol/signed.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { StoreReceipt } from '../../protocol/store.ts'
import type { EraseReceipt } from '../../protocol/erase.ts'
import type { Share } from '../../crypto/shares.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { testEnclave, prepareEnrolment, openFetched, TEST_RATE } from './enrol.ts'
import { startNodeProcess, type NodeProcess, type StartOptions } from './node-process.ts'

/** A template prepared for the lone node: its share there (`held`) and the one kept here. */
export interface Held { templateId: Uint8Array, template: Uint8Array, secret: Uint8Array, held: Share, kept: Share, manifest: Manifest }

/** How long the client waits to connect to a freshly started node (ms). */
const DIAL_TIMEOUT_MS = 5_000
/** How long it waits for that node to accept its certificate (ms); generous, for a loaded machine. */
const ADMIT_TIMEOUT_MS = 20_000

/**
 * One node directory under `root` (an authority, a tenant 'acme' with its
 * verifier and test enclave) and a client host that proves the tenant's
 * certificate to it.
 *
 * @example
 * const lone = await LoneNode.create(root)
 * await lone.start()
 * const s = await lone.prepare(); await lone.store(s); await lone.fetch(s)
 */
export class LoneNode {
  readonly dir: string
  readonly peer: string
  /** The running child, if any (the last started). */
  node?: NodeProcess
  readonly #client: Host
  readonly #admission: Admission
  readonly #tenant: Tenant
  readonly #enclave: ReturnType<typeof testEnclave>
  readonly #creds: { verifier: Verifier['key'], cert: Verifier['wire'], attestation: ReturnType<typeof testEnclave>['attestation'] }
  readonly #absent: string
  readonly #anchor: TrustAnchor
  readonly #extra: Array<() => Promise<void>> = []

  private constructor (init: {
    dir: string, peer: string, client: Host, admission: Admission, tenant: Tenant, verifier: Verifier, absent: string, anchor: TrustAnchor
  }) {
    this.dir = init.dir
    this.peer = init.peer
    this.#client = init.client
    this.#admission = init.admission
    this.#tenant = init.tenant
    this.#enclave = testEnclave(init.verifier)
    this.#creds = { verifier: init.verifier.key, cert: init.verifier.wire, attestation: this.#enclave.attestation }
    this.#absent = init.absent
    this.#anchor = init.anchor
  }

  /** Provision `<root>/node` and start the client host (not yet connected). */
  static async create (root: string): Promise<LoneNode> {
    initAuthority(join(root, 'authority'))
    const authority = loadAuthority(join(root, 'authority'))
    const anchor = { network: authority.info.network, authorities: [authority.info.publicKey] }
    const dir = join(root, 'node')
    const peer = await provisionNode({ dir, site: 'site-1', authority })
    const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const t0 = admitTenant(authority, 'acme')
    const tenant: Tenant = { key: t0.key, cert: t0.cert, wire: toWire(t0.cert) }
    const v0 = authoriseVerifier(tenant.key, 'verifier', ['login'])
    const verifier: Verifier = { key: v0.key, cert: v0.cert, wire: toWire(v0.cert) }
    const { host: client, admission } = await certifiedHost(anchor, tenant)
    return new LoneNode({ dir, peer, client, admission, tenant, verifier, absent, anchor })
  }

  /** Start the node process on the directory, connect the client and wait (bounded) until the node has accepted its certificate. */
  async start (args: string[] = [], options: StartOptions = {}): Promise<NodeProcess> {
    const node = await startNodeProcess(this.dir, args, options)
    this.node = node
    if (node.peer !== this.peer) throw new Error(`node started as ${node.peer}, expected ${this.peer}`)
    const accepted = this.#admission.acceptances
    await this.#client.dial(multiaddr(node.addrs[0]), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    // A request sent before the new process has accepted the client's proof is refused as from an uncertified peer.
    const deadline = Date.now() + ADMIT_TIMEOUT_MS
    while (this.#admission.acceptances === accepted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    return node
  }

  /** Encrypt and split a fresh template; share 1 is for the node. */
  async prepare (): Promise<Held> {
    const placement = [{ peer: this.peer, site: 'site-1' }, { peer: this.#absent, site: 'site-2' }]
    const p = await prepareEnrolment(this.#tenant, placement, { t: 2, measurements: [this.#enclave.measurement], policy: TEST_RATE })
    return { templateId: p.templateId, template: p.template, secret: p.secret, held: p.shares[0], kept: p.shares[1], manifest: p.manifest }
  }

  /** Store the node's share of `s` (a copy of its bytes: `s` keeps its own). */
  async store (s: Held, o: CallOptions = {}): Promise<StoreReceipt> {
    return await storeShare(this.#client, this.peer, { manifest: s.manifest, x: s.held.x, share: s.held.bytes.slice(), tenant: this.#tenant.key }, o)
  }

  /** Fetch the node's share of `s` as the test enclave and open it; `o.now` is the client's (possibly skewed) clock. */
  async fetch (s: Held, o: CallOptions = {}): Promise<Uint8Array> {
    const now = o.now ?? Date.now()
    const res = await fetchShare(this.#client, this.peer, { templateId: s.templateId, x: s.held.x, purpose: 'login', creds: this.#creds }, { ...o, now })
    return openFetched(this.#enclave.keys, res, now)
  }

  /**
   * One signed fetch request for `s`, and a way to send those same bytes
   * again and again (a replay); each send resolves to 'ok' or the refusal's code.
   */
  replayable (s: Held): { send: (o?: CallOptions) => Promise<string> } {
    const prepared = prepareFetch(this.#client, { templateId: s.templateId, xs: [s.held.x], purpose: 'login', creds: this.#creds })
    const send = async (o: CallOptions = {}): Promise<string> => {
      try {
        await sendFetch(this.#client, this.peer, { x: s.held.x, prepared }, o)
        return 'ok'
      } catch (e) {
        return (e as { code?: string }).code ?? (e as Error).name
      }
    }
    return { send }
  }

  /**
   * Another client host certified by the same tenant (a second machine of
   * it), connected to the running node, which has accepted its certificate
   * (until then its streams would be a stranger's, charged to its address).
   */
  async anotherClient (): Promise<Host> {
    const { host, admission, stop } = await certifiedHost(this.#anchor, this.#tenant)
    this.#extra.push(stop)
    await host.dial(multiaddr(this.node!.addrs[0]), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    if (!await admission.acceptedWithin(this.peer, ADMIT_TIMEOUT_MS)) throw new Error('the node did not accept the second client\'s certificate')
    return host
  }

  /** A host with no certificate at all (it proves nothing), connected to the running node. */
  async stranger (): Promise<Host> {
    const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor: this.#anchor, role: 'client' })
    await host.start()
    this.#extra.push(async () => { await host.stop() })
    await host.dial(multiaddr(this.node!.addrs[0]), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    return host
  }

  /** Ask the node to erase its share of `s`, as the tenant. */
  async erase (s: Held, o: CallOptions = {}): Promise<EraseReceipt> {
    return await eraseAt(this.#client, this.peer, { manifest: s.manifest, signer: this.#tenant.key }, o)
  }

  /** Kill the node (if running) and stop the client. */
  async close (): Promise<void> {
    await this.node?.kill('SIGKILL')
    for (const stop of this.#extra) await stop()
    await this.#admission.stop()
    await this.#client.stop()
  }
}
