/**
 * Test helper: read what holders serve, as a verifier's enclave would get
 * it. A client host certified by the tenant fetches one share from one node
 * with the credentials of a test enclave (whose measurement the template's
 * policy lists), opens it, and returns it with the digest of the manifest
 * the holder sealed it under, so a check can hold the share against the
 * manifest the holder serves alongside it.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Host } from '../../net/host.ts'
import { certifiedHost } from './certified-host.ts'
import type { Admission } from '../../net/admission.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { Share } from '../../crypto/shares.ts'
import type { Tenant, Verifier } from '../../sim/local-network.ts'
import { testEnclave, openFetched } from './enrol.ts'

/** How long one fetch may take on a loaded machine (ms). */
const FETCH_TIMEOUT_MS = 20_000
/** How long a dial to a node may take (ms). */
const DIAL_TIMEOUT_MS = 10_000

/** A share a holder served, and the digest of the manifest it was served under. */
export interface Served { share: Share, manifest: Uint8Array }

/**
 * A certified reader of shares.
 *
 * @example
 * const reader = await HolderReader.create(anchor, tenant, verifier)
 * const got = await reader.read(addr, peer, templateId, 2) // Served, or the refusal's code
 */
export class HolderReader {
  /** The test enclave's measurement: list it in a template's policy for its shares to be readable here. */
  readonly measurement: Uint8Array
  readonly #host: Host
  readonly #admission: Admission
  readonly #enclave: ReturnType<typeof testEnclave>
  readonly #creds: { verifier: Verifier['key'], cert: Verifier['wire'], attestation: ReturnType<typeof testEnclave>['attestation'] }

  private constructor (host: Host, admission: Admission, verifier: Verifier) {
    this.#host = host
    this.#admission = admission
    this.#enclave = testEnclave(verifier)
    this.measurement = this.#enclave.measurement
    this.#creds = { verifier: verifier.key, cert: verifier.wire, attestation: this.#enclave.attestation }
  }

  /** A client host proving `tenant`'s certificate, fetching as `verifier`. */
  static async create (anchor: TrustAnchor, tenant: Tenant, verifier: Verifier): Promise<HolderReader> {
    const { host, admission } = await certifiedHost(anchor, tenant)
    return new HolderReader(host, admission, verifier)
  }

  /**
   * Fetch and open share `x` of `templateId` from the node at `addr` (multiaddr with /p2p).
   *
   * @returns what it served, or the code of its refusal (or of the failure to reach it)
   */
  async read (addr: string, peer: string, templateId: Uint8Array, x: number): Promise<Served | string> {
    try {
      await this.#host.dial(multiaddr(addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      const now = Date.now()
      const res = await fetchShare(this.#host, peer, { templateId, x, purpose: 'login', creds: this.#creds }, { timeoutMs: FETCH_TIMEOUT_MS, now })
      return { share: { x: res.body.x, bytes: openFetched(this.#enclave.keys, res, now) }, manifest: res.body.manifest }
    } catch (e) {
      return (e as { code?: string }).code ?? (e as Error).name
    }
  }

  async close (): Promise<void> {
    await this.#admission.stop()
    await this.#host.stop()
  }
}
