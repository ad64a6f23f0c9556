/**
 * The libp2p host every bioshard peer runs: TCP, noise, yamux, identify,
 * ping and the private Kademlia DHT (`/bioshard/kad/1.0.0`) whose `bioshard`
 * record namespace only accepts valid, tenant-signed manifests under their
 * tenant's key, whose routing table holds admitted nodes only, and whose
 * protocols (with every other bioshard protocol but admission) are served to
 * authorised peers only.
 *
 * @module
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { memory } from '@libp2p/memory'
import { noise } from '@chainsafe/libp2p-noise'
import { coalescedWrites } from './coalesced-writes.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { deferredWindowUpdates } from './deferred-window-updates.ts'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { SignatureChecker, TrustAnchor } from '../protocol/certs.ts'
import { PROTOCOL } from '../protocol/constants.ts'
import { validateManifestRecord, selectManifestRecord } from '../protocol/records.ts'
import { RECORD_NAMESPACE } from '../protocol/ownership.ts'
import { logger } from './log.ts'
import { GuardedDatastore } from './record-guard.ts'
import { installAccessGate, routeOnlyAdmitted, type AccessGateInit } from './access-gate.ts'
import {
  DHT_ALPHA, DHT_DISJOINT_PATHS, DHT_QUERY_SELF_INTERVAL_MS, DHT_REPROVIDE_INTERVAL_MS, DHT_REQUEST_MAX_MS, DHT_TABLE_REFRESH_MS
} from './constants.ts'

const log = logger('host')

/** How a host reaches others: TCP, or in-process memory channels (`/memory/<name>` addresses; simulator networks in one process). */
export type HostTransport = 'tcp' | 'memory'

/** The transport that reaches `addrs`: memory when every one is a `/memory/` address (and there is one), TCP otherwise. */
export function transportFor (addrs: readonly string[]): HostTransport {
  return addrs.length > 0 && addrs.every((a) => a.startsWith('/memory/')) ? 'memory' : 'tcp'
}

export interface HostInit {
  privateKey: PrivateKey
  listen: string[]
  /** @default transportFor(listen): TCP unless every listen address is a `/memory/` one */
  transport?: HostTransport
  anchor: TrustAnchor
  /** Nodes serve the DHT; clients (verifier library) only query it. */
  role: 'node' | 'client'
  /** Refuse encrypted inbound connections from these peers (invalid-request bans). */
  isDenied?: (peer: PeerId) => boolean
  /**
   * Refuse inbound connections from this address (a refusal ban on
   * unauthenticated traffic). Asked before the handshake without a peer
   * (refuse cheaply when the address is flooding) and again once the peer
   * id is known, so an admitted node sharing the address (a site's NAT,
   * loopback) can be let in.
   */
  isAddressDenied?: (addr: Multiaddr, peer?: PeerId) => boolean
  /**
   * Where DHT records and the peer store live. Default: in memory, with
   * stored manifest records replaced only by ones the selector prefers
   * (record-guard.ts); a datastore given here should do the same.
   */
  datastore?: Datastore
  /**
   * Who may use the gated protocols (every `/bioshard/` protocol except
   * admission; access-gate.ts). Without it nothing is gated: only a host
   * that serves nothing but admission may leave it out.
   */
  authorise?: (peer: PeerId) => boolean
  /** Told of each stream the gate refused. */
  onRefused?: AccessGateInit['onRefused']
  /** Peers that may enter the DHT routing table (admitted nodes); everyone when absent. */
  isAdmitted?: (peer: PeerId) => boolean
  /**
   * Refuse any connection with this peer, dialled (`outbound`) or accepted
   * (`inbound`): a link policy (the simulator's partitions). Nothing is refused when absent.
   */
  isLinkDenied?: (peer: PeerId, direction: LinkDirection) => boolean
  /**
   * Remembered signatures (the node's roster cache): the tenant certificate
   * every manifest record repeats is verified once, not at every PUT.
   * Every signature is verified when absent.
   */
  signatures?: SignatureChecker
}

/** Which side opened a connection, as a link policy sees it. */
export type LinkDirection = 'inbound' | 'outbound'

export type Host = Libp2p<{ dht: KadDHT, identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }>

/** Create (but do not start) a host. */
export async function createHost (init: HostInit): Promise<Host> {
  const recordChecks = init.signatures !== undefined ? { signatures: init.signatures } : {}
  const host = await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    datastore: init.datastore ?? new GuardedDatastore(),
    addresses: { listen: init.listen },
    transports: [(init.transport ?? transportFor(init.listen)) === 'memory' ? memory() : tcp()],
    // Same bytes on the wire, one socket write per encrypted message (see coalesced-writes.ts).
    connectionEncrypters: [coalescedWrites(noise())],
    // Window updates ride with the next frame instead of alone (see deferred-window-updates.ts).
    streamMuxers: [deferredWindowUpdates(yamux())],
    connectionManager: {
      // libp2p's default (5 inbound connections per second per host) is a DoS
      // guard for public nodes; a site runs many nodes and the devnet runs all
      // of them on 127.0.0.1, where that limit makes nodes reset each other's
      // dials. Admission and per-peer request budgets guard us instead.
      inboundConnectionThreshold: 1_000,
      maxIncomingPendingConnections: 256,
      maxConnections: 1_000,
      dialTimeout: 10_000
    },
    // libp2p's connection monitor opens a ping stream on every connection
    // every 10 s and drops a connection on one missed ping; on a loaded
    // 2-core machine that tears down healthy links in the middle of a
    // verification. Without the drop, all it does is estimate round-trip
    // times nothing here reads, at the cost of a stream, a protocol
    // negotiation and peer-store writes per ping: an idle node's largest
    // chore. Off: a dead peer is found by the request that fails (and
    // hedged), and yamux's keep-alive (a frame every 30 s) keeps idle links
    // open through NATs and firewalls.
    connectionMonitor: { enabled: false },
    connectionGater: {
      denyInboundConnection: (maConn) => init.isAddressDenied?.(maConn.remoteAddr) ?? false,
      denyInboundEncryptedConnection: (peer, maConn) => (init.isDenied?.(peer) ?? false) || (init.isAddressDenied?.(maConn.remoteAddr, peer) ?? false) ||
        (init.isLinkDenied?.(peer, 'inbound') ?? false),
      denyDialPeer: (peer) => init.isLinkDenied?.(peer, 'outbound') ?? false,
      denyOutboundEncryptedConnection: (peer) => init.isLinkDenied?.(peer, 'outbound') ?? false
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL.KAD,
        clientMode: init.role === 'client',
        // Sites may run on private networks and the devnet runs on loopback:
        // keep every address (the default strips private ones).
        peerInfoMapper: passthroughMapper,
        allowQueryWithZeroPeers: true,
        // Background work sized for a private network of up to ~1000 admitted nodes (net/constants.ts).
        alpha: DHT_ALPHA,
        disjointPaths: DHT_DISJOINT_PATHS,
        querySelfInterval: DHT_QUERY_SELF_INTERVAL_MS,
        networkDialTimeout: { maxTimeout: DHT_REQUEST_MAX_MS },
        reprovide: { interval: DHT_REPROVIDE_INTERVAL_MS },
        validators: {
          [RECORD_NAMESPACE]: async (key, value) => { validateManifestRecord(key, value, init.anchor, recordChecks) }
        },
        selectors: {
          [RECORD_NAMESPACE]: (_key, records) => selectManifestRecord(records)
        }
      })
    }
  })
  if (init.authorise !== undefined) {
    installAccessGate(host, { authorise: init.authorise, ...(init.onRefused !== undefined ? { onRefused: init.onRefused } : {}) })
  }
  if (init.isAdmitted !== undefined) routeOnlyAdmitted(host.services.dht, init.isAdmitted)
  setTableRefresh(host.services.dht, DHT_TABLE_REFRESH_MS)
  return host
}

/**
 * Set how often kad-dht refreshes its routing table: its init takes no such
 * option, so the refresher's interval is set before the host starts (it is
 * read when each refresh schedules the next). Left alone when the field is
 * not there (another kad-dht version).
 */
function setTableRefresh (dht: unknown, ms: number): void {
  const refresh = (dht as { routingTableRefresh?: { refreshInterval?: number } }).routingTableRefresh
  if (refresh !== undefined && typeof refresh.refreshInterval === 'number') refresh.refreshInterval = ms
}

/**
 * Dial the bootstrap peers, retrying each a few times (`attempts`, default
 * 10): at a network's first start several nodes come up together and a
 * bootstrap peer may not be listening yet. A node keeps dialling after
 * that with backoff (net/bootstrap.ts).
 */
export async function dialBootstrap (
  host: Libp2p,
  bootstrap: readonly string[],
  options: { signal?: AbortSignal, attempts?: number } = {}
): Promise<number> {
  const { signal, attempts = 10 } = options
  let connected = 0
  await Promise.all(bootstrap.map(async (addr) => {
    for (let attempt = 0; attempt < attempts && signal?.aborted !== true; attempt++) {
      try {
        await host.dial(multiaddr(addr), { signal: AbortSignal.timeout(5_000) })
        connected++
        return
      } catch (e) {
        log('bootstrap %s attempt %d failed: %s', addr, attempt + 1, (e as Error).message)
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)))
      }
    }
  }))
  return connected
}
