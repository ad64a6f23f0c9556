/**
 * The admit service: swaps rosters with every peer that speaks
 * `/bioshard/admit/1.0.0` when it connects, pushes changes to connected peers
 * (debounced), and re-syncs with one random peer periodically (anti-entropy),
 * so every node and client converges on the full roster without a directory.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { decodeAdmitMessage, encodeAdmitMessage, readAdmitMessage, admitMessageWire, type RosterEntry } from '../protocol/admit.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import type { NodeCert } from '../protocol/certs.ts'
import { serve, request, type InvalidRequestBudget, type Served } from './rpc.ts'
import type { Roster } from './roster.ts'
import { logger } from './log.ts'

const log = logger('admit')

/** Wait this long after a roster change before pushing it, so a burst of joins is one push. */
const PUSH_DEBOUNCE_MS = 200
const RESYNC_INTERVAL_MS = 30_000
const EXCHANGE_TIMEOUT_MS = 5_000

export interface AdmissionInit {
  libp2p: Libp2p
  roster: Roster
  /** This node's own certificate; absent for clients (verifiers, tenants). */
  cert?: NodeCert
  budget: InvalidRequestBudget
  onServed?: (s: Served) => void
}

function stripPeer (addr: string): string {
  const i = addr.indexOf('/p2p/')
  return i === -1 ? addr : addr.slice(0, i)
}

export class Admission {
  private readonly init: AdmissionInit
  private pushTimer?: ReturnType<typeof setTimeout>
  private resyncTimer?: ReturnType<typeof setInterval>
  private readonly onIdentify: (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>) => void
  private stopped = false

  constructor (init: AdmissionInit) {
    this.init = init
    this.onIdentify = (evt) => {
      if (evt.detail.protocols.includes(PROTOCOL.ADMIT)) void this.exchange(evt.detail.peerId)
    }
  }

  async start (): Promise<void> {
    const { libp2p } = this.init
    if (this.init.cert !== undefined) this.merge([{ cert: this.init.cert, addrs: [] }])
    await serve(libp2p, PROTOCOL.ADMIT, async (bytes, ctx) => {
      const msg = decodeAdmitMessage(bytes)
      this.merge(msg.entries, ctx.peer, ctx.connection.remoteAddr.toString())
      return admitMessageWire(this.entries())
    }, { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.ADMIT], timeoutMs: EXCHANGE_TIMEOUT_MS, idleTimeoutMs: EXCHANGE_TIMEOUT_MS, maxInboundStreams: 4, onServed: this.init.onServed }, this.init.budget)
    libp2p.addEventListener('peer:identify', this.onIdentify as never)
    this.resyncTimer = setInterval(() => { this.resync() }, RESYNC_INTERVAL_MS)
    this.resyncTimer.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.pushTimer)
    clearInterval(this.resyncTimer)
    this.init.libp2p.removeEventListener('peer:identify', this.onIdentify as never)
    await this.init.libp2p.unhandle(PROTOCOL.ADMIT).catch(() => {})
  }

  /** Our roster as sent on the wire, our own entry first with current addresses. */
  entries (): RosterEntry[] {
    const own = this.init.cert?.body.peer
    const out: RosterEntry[] = []
    for (const e of this.init.roster.list()) {
      const addrs = e.peer === own ? this.init.libp2p.getMultiaddrs().map((a) => stripPeer(a.toString())) : e.addrs
      out.push({ cert: e.cert, addrs })
    }
    return out
  }

  /** Swap rosters with one peer now. Failures are logged, never thrown: admission is best-effort gossip. */
  async exchange (peer: PeerId): Promise<void> {
    if (this.stopped) return
    try {
      const body = await request(this.init.libp2p, peer, PROTOCOL.ADMIT, encodeAdmitMessage(this.entries()), {
        timeoutMs: EXCHANGE_TIMEOUT_MS, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
      })
      this.merge(readAdmitMessage(body).entries, peer.toString())
    } catch (e) {
      log('roster exchange with %s failed: %s', peer.toString(), (e as Error).message)
    }
  }

  private merge (entries: readonly RosterEntry[], from?: string, fromAddr?: string): void {
    let changed = false
    for (const entry of entries) {
      const peer = entry.cert.body.peer
      // The sender's observed address is better evidence than what it claims.
      const addrs = peer === from && fromAddr !== undefined ? [stripPeer(fromAddr), ...entry.addrs] : entry.addrs
      if (!this.init.roster.add({ cert: entry.cert, addrs })) continue
      changed = true
      if (peer === this.init.libp2p.peerId.toString()) continue
      const known = this.init.roster.get(peer)
      if (known === undefined || known.addrs.length === 0) continue
      const multiaddrs = known.addrs.flatMap((a) => { try { return [multiaddr(a)] } catch { return [] } })
      void this.init.libp2p.peerStore.merge(peerIdFromString(peer), { multiaddrs }).catch(() => {})
    }
    if (changed) this.schedulePush()
  }

  private schedulePush (): void {
    if (this.stopped || this.pushTimer !== undefined) return
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined
      for (const peer of this.admitPeers()) void this.exchange(peer)
    }, PUSH_DEBOUNCE_MS)
    this.pushTimer.unref()
  }

  private resync (): void {
    const peers = this.admitPeers()
    if (peers.length > 0) void this.exchange(peers[Math.floor(Math.random() * peers.length)])
  }

  private admitPeers (): PeerId[] {
    const seen = new Set<string>()
    const out: PeerId[] = []
    for (const c of this.init.libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      out.push(c.remotePeer)
    }
    return out
  }
}
