/**
 * The admit service: swaps rosters with every peer that speaks
 * `/bioshard/admit/1.0.0` when it connects, pushes changes to connected peers
 * (debounced), and re-syncs with one random peer periodically (anti-entropy),
 * so every node and client converges on the full roster without a directory.
 * Admit traffic is unauthenticated by nature, so every part of it is bounded
 * and every refusal charged against the sender ({@link Admission}).
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { decodeAdmitMessage, encodeAdmitMessage, readAdmitMessage, admitMessageWire, type RosterEntry } from '../protocol/admit.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES, MAX_ADDRS_PER_PEER } from '../protocol/constants.ts'
import type { NodeCert } from '../protocol/certs.ts'
import { signNodeAddresses, type NodeAddresses, type NodeAddressesBody } from '../protocol/node-addresses.ts'
import { checkClientProof, makeClientProof, type ClientCredential, type ClientProof } from '../protocol/client-proof.ts'
import { encodeCanonical } from '../crypto/canonical.ts'
import { hasCode } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { serve, request, type Served, type RequestContext } from './rpc.ts'
import { checkAuthorityCertWith, type Roster } from './roster.ts'
import { addressKey, NO_OP_WEIGHT, type RefusalBudget } from './policy/refusal-budget.ts'
import { RateLimiter } from './policy/rate-limiter.ts'
import { CertifiedClients } from './policy/certified-clients.ts'
import { logger } from './log.ts'

const log = logger('admit')

/** Wait this long after a roster change before pushing it, so a burst of joins is one push. */
const PUSH_DEBOUNCE_MS = 200
/**
 * Anti-entropy: every this often, swap rosters with one random connected
 * peer. News travels by the push on every change and the exchange on every
 * new connection; the resync only repairs a push that was lost, so it can be
 * rare, and an idle node does little else.
 */
const RESYNC_INTERVAL_MS = 120_000
const EXCHANGE_TIMEOUT_MS = 5_000
/**
 * Admit requests per connection and minute (a bucket that starts full): a
 * peer exchanges on connecting, on every roster change (debounced) and
 * at each resync; a network's first start makes a few dozen changes.
 */
const PER_CONNECTION_PER_MINUTE = 60
/** Admit requests per minute from one address by unauthenticated peers (a site's nodes or a devnet share one). */
const PER_ADDRESS_PER_MINUTE = 240
/** Longest stretch of entry checks before yielding to the event loop. */
const SLICE_MS = 2

export interface AdmissionInit {
  libp2p: Libp2p
  roster: Roster
  /** This node's own certificate; absent for clients (verifiers, tenants). */
  cert?: NodeCert
  /** This node's peer key as a signing key (`keys.signing`), to sign its address statements; nodes only. */
  key?: SigningKey
  /** Clients: the certified key to prove in admit requests (a verifier key comes with its tenant's certificate as `chain`). */
  credential?: ClientCredential
  budget: RefusalBudget
  onServed?: (s: Served) => void
}

function stripPeer (addr: string): string {
  const i = addr.indexOf('/p2p/')
  return i === -1 ? addr : addr.slice(0, i)
}

async function yieldToEventLoop (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

/**
 * The admit service of one host.
 *
 * A node states its own addresses in a statement signed with its peer key
 * and re-signed when they change; the roster and the libp2p peer store take
 * a node's addresses from its newest statement only, replacing the old ones.
 * A client proves its certificate in its requests (protocol/client-proof.ts)
 * and counts as authorised while its connection lasts.
 *
 * Bounds: messages by size and item count before decoding, requests per
 * connection and (for unauthenticated peers) per address, signature checks
 * remembered, entries checked in slices that yield to the event loop, and
 * every refusal, push that changes nothing or forged entry charged against
 * the sender.
 */
export class Admission {
  private readonly init: AdmissionInit
  private pushTimer?: ReturnType<typeof setTimeout>
  private resyncTimer?: ReturnType<typeof setInterval>
  private readonly onIdentify: (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>) => void
  private readonly onDisconnect: (evt: CustomEvent<PeerId>) => void
  private readonly limiter = new RateLimiter()
  private readonly certified = new CertifiedClients()
  /** Peers that answered one of our exchanges (a client: that accepted its proof). */
  private readonly acceptedBy = new Set<string>()
  private own?: NodeAddresses
  private stopped = false

  constructor (init: AdmissionInit) {
    this.init = init
    this.onIdentify = (evt) => {
      if (evt.detail.protocols.includes(PROTOCOL.ADMIT)) void this.exchange(evt.detail.peerId)
    }
    this.onDisconnect = (evt) => {
      const peer = evt.detail.toString()
      this.certified.disconnected(peer)
      this.acceptedBy.delete(peer)
    }
  }

  async start (): Promise<void> {
    const { libp2p } = this.init
    if (this.init.cert !== undefined) this.init.roster.offer({ cert: this.init.cert })
    await serve(libp2p, PROTOCOL.ADMIT, async (bytes, ctx) => await this.serveRequest(bytes, ctx), {
      maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.ADMIT],
      timeoutMs: EXCHANGE_TIMEOUT_MS,
      idleTimeoutMs: EXCHANGE_TIMEOUT_MS,
      maxInboundStreams: 4,
      onServed: this.init.onServed,
      budget: this.init.budget
    })
    libp2p.addEventListener('peer:identify', this.onIdentify as never)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect as never)
    this.resyncTimer = setInterval(() => { this.resync() }, RESYNC_INTERVAL_MS)
    this.resyncTimer.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.pushTimer)
    clearInterval(this.resyncTimer)
    this.init.libp2p.removeEventListener('peer:identify', this.onIdentify as never)
    this.init.libp2p.removeEventListener('peer:disconnect', this.onDisconnect as never)
    await this.init.libp2p.unhandle(PROTOCOL.ADMIT).catch(() => {})
  }

  /** Whether `peer` may use more than admission, identify and ping: an admitted node in the roster, or a certified client. */
  isAuthorised (peer: string): boolean {
    return this.init.roster.isAdmitted(peer) || this.certified.has(peer)
  }

  /**
   * Whether `peer` may connect from an address banned for unauthenticated
   * traffic: an admitted node, or a client that proved a certificate that
   * is still valid (on a connection now closed, perhaps).
   */
  isKnown (peer: string): boolean {
    return this.init.roster.isAdmitted(peer) || this.certified.known(peer)
  }

  /** Whether `peer` has answered one of this peer's exchanges since connecting (for a client: accepted its proof). */
  accepted (peer: string): boolean {
    return this.acceptedBy.has(peer)
  }

  /** How many connected peers have answered one of this peer's exchanges. */
  get acceptances (): number {
    return this.acceptedBy.size
  }

  /** Our roster as sent on the wire, our own entry with a statement of our current addresses. */
  entries (): RosterEntry[] {
    this.refreshOwnStatement()
    return this.init.roster.list().map((e) => e.statement !== undefined ? { cert: e.cert, addrs: e.statement } : { cert: e.cert })
  }

  /** Swap rosters with one peer now. Failures are logged, never thrown: admission is best-effort gossip. */
  async exchange (peer: PeerId): Promise<void> {
    if (this.stopped) return
    const who = peer.toString()
    try {
      const { credential } = this.init
      const self = this.init.libp2p.peerId.toString()
      const proof = credential !== undefined ? makeClientProof(credential, this.init.roster.anchor.network, self, Date.now()) : undefined
      const body = await request(this.init.libp2p, peer, PROTOCOL.ADMIT, {
        body: encodeAdmitMessage(this.entries(), proof),
        timeoutMs: EXCHANGE_TIMEOUT_MS,
        maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
      })
      const connected = this.init.libp2p.getConnections(peer).length > 0
      await this.merge(readAdmitMessage(body).entries, false)
      // Counted once its roster is merged: a client that waits for an acceptance
      // then holds the whole roster, not the first slice of it.
      if (connected) this.acceptedBy.add(who)
    } catch (e) {
      log('roster exchange with %s failed: %s', who, (e as Error).message)
    }
  }

  /** Serve one admit request: rate limits, decode, the client's proof, the entries; answer with our roster. */
  private async serveRequest (bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
    const remote = ctx.connection.remoteAddr
    const authorised = this.isAuthorised(ctx.peer)
    this.limiter.take(`c ${ctx.connection.id}`, PER_CONNECTION_PER_MINUTE)
    if (!authorised) this.limiter.take(`a ${addressKey(remote)}`, PER_ADDRESS_PER_MINUTE)
    const msg = await decodeAdmitMessage(bytes, async () => { await yieldToEventLoop(); ctx.signal.throwIfAborted() }, SLICE_MS)
    const certified = msg.client !== undefined && this.certify(msg.client, ctx.peer)
    const changed = await this.merge(msg.entries, true, ctx.signal)
    if (!changed && !certified) this.init.budget.charge(ctx.peer, NO_OP_WEIGHT, remote)
    return admitMessageWire(this.entries())
  }

  /** Check a client's proof; true when the client was not certified before. */
  private certify (p: ClientProof, peer: string): boolean {
    const { roster } = this.init
    const now = Date.now()
    const until = checkClientProof(p, peer, {
      anchor: roster.anchor,
      now,
      checkTenant: (cert, anchor, at) => { checkAuthorityCertWith(roster.verified, cert, anchor, at) },
      verify: (tag, s, key, what) => { roster.verified.checkSigned(tag, s, key, what) }
    })
    return this.certified.add(peer, until, now)
  }

  /**
   * Offer entries to the roster, yielding every {@link SLICE_MS}. Expired
   * entries are skipped; any other invalid entry is skipped too (`strict`
   * false: an answer to our own request) or ends the merge with its error
   * (`strict`: a request, refused and charged). Peers whose addresses
   * changed get them in the peer store, replacing what was there.
   *
   * @returns whether the roster changed
   */
  private async merge (entries: readonly RosterEntry[], strict: boolean, signal?: AbortSignal): Promise<boolean> {
    const self = this.init.libp2p.peerId.toString()
    const moved: string[] = []
    let changed = false
    let slice = performance.now()
    try {
      for (const entry of entries) {
        if (performance.now() - slice > SLICE_MS) {
          await yieldToEventLoop()
          signal?.throwIfAborted()
          slice = performance.now()
        }
        const before = this.init.roster.get(entry.cert.body.peer)?.statement
        try {
          if (this.init.roster.offer(entry) === 'unchanged') continue
        } catch (e) {
          if (strict && !hasCode(e, 'ERR_EXPIRED')) throw e
          continue
        }
        changed = true
        const peer = entry.cert.body.peer
        if (peer !== self && this.init.roster.get(peer)?.statement !== before) moved.push(peer)
      }
    } finally {
      for (const peer of moved) this.replaceAddresses(peer)
      if (changed) this.schedulePush()
    }
    return changed
  }

  /** Put `peer`'s stated addresses in the peer store in place of the ones it held. */
  private replaceAddresses (peer: string): void {
    const addrs = this.init.roster.get(peer)?.addrs ?? []
    const multiaddrs = addrs.flatMap((a) => { try { return [multiaddr(a)] } catch { return [] } })
    if (multiaddrs.length === 0) return
    void this.init.libp2p.peerStore.patch(peerIdFromString(peer), { multiaddrs }).catch(() => {})
  }

  /** Sign a new statement of our addresses when they differ from the last one. */
  private refreshOwnStatement (): void {
    const { cert, key } = this.init
    if (cert === undefined || key === undefined) return
    const addrs = this.init.libp2p.getMultiaddrs().map((a) => stripPeer(a.toString())).slice(0, MAX_ADDRS_PER_PEER)
    if (this.own !== undefined && this.own.body.addrs.length === addrs.length && this.own.body.addrs.every((a, i) => a === addrs[i])) return
    const seq = Math.max(Date.now(), (this.own?.body.seq ?? 0) + 1)
    const wire = signNodeAddresses(key, { network: cert.body.network, peer: cert.body.peer, seq, addrs })
    const body = wire.body as unknown as NodeAddressesBody
    this.own = { body, bytes: encodeCanonical(body), sig: wire.sig }
    this.init.roster.offer({ cert, addrs: this.own })
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
