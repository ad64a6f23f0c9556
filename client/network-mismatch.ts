/**
 * Why a client that reached a bootstrap node learnt no roster: asks one
 * connected node for its roster and compares the certificates' network and
 * issuer with the tenant's anchor, so a tenant pointed at another network or
 * authority hears that, not "not enough sites". The answer is the peer's
 * unverified claim, asked only when nobody was admitted: a liar can change
 * the words of a failure that happens anyway, never its outcome.
 *
 * @module
 */
import type { Libp2p } from '@libp2p/interface'
import { BioshardError } from '../errors.ts'
import { equalBytes, toHex } from '../crypto/bytes.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { encodeAdmitMessage, readAdmitMessage } from '../protocol/admit.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import { request } from '../net/rpc.ts'

// As long as one roster exchange may take (net/admission.ts).
const ASK_TIMEOUT_MS = 5_000

/**
 * The mismatch between the nodes' network and the tenant's anchor, if the
 * first connected node that answers shows one.
 *
 * @returns ERR_NOT_ADMITTED naming the mismatch, or undefined when none is seen (no answer, or the same network and authority)
 * @example const e = await networkMismatch(host, anchor); if (e !== undefined) throw e
 */
export async function networkMismatch (host: Libp2p, anchor: TrustAnchor): Promise<BioshardError | undefined> {
  for (const peer of host.getPeers()) {
    let entries
    try {
      const body = await request(host, peer, PROTOCOL.ADMIT, {
        body: encodeAdmitMessage([]),
        timeoutMs: ASK_TIMEOUT_MS,
        maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
      })
      entries = readAdmitMessage(body).entries
    } catch {
      continue
    }
    const certs = entries.map((e) => e.cert.body)
    if (certs.length === 0) continue
    const networks = [...new Set(certs.map((c) => c.network))]
    if (!networks.includes(anchor.network)) {
      return new BioshardError('ERR_NOT_ADMITTED',
        `the bootstrap node says it belongs to network ${networks.join(', ')}; the tenant's authority.json is for network ${anchor.network}`)
    }
    const trusted = certs.some((c) => anchor.authorities.some((a) => equalBytes(a, c.issuer)))
    if (!trusted) {
      const issuer = toHex(certs[0]?.issuer ?? new Uint8Array()).slice(0, 16)
      return new BioshardError('ERR_NOT_ADMITTED',
        `the bootstrap node says the nodes of network ${anchor.network} are certified by authority ${issuer}…, not the tenant's authority.json`)
    }
    return undefined
  }
  return undefined
}
