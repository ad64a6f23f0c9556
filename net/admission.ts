/**
 * The admit service: peers swap roster digests (one short hash per bucket of
 * nodes) and send each other only the entries of buckets that differ. A peer
 * pulls on every new connection (a joining node gets the roster from the
 * peers it meets), pushes what changed (debounced) to a few random connected
 * peers, which pass it on in turn, and re-syncs with one random peer now and
 * then (anti-entropy), soon again while digests keep differing. So every node
 * and client converges on the full roster without a directory and without
 * sending whole rosters around. Revocations and retirement notices ride on
 * the entries they concern (protocol/revocation.ts), so they spread the same
 * way, and a peer closes its connections to a node as soon as it learns the
 * node is revoked. Admit traffic is unauthenticated by nature,
 * so every part of it is bounded and every refusal charged against the sender
 * ({@link Admission}).
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { decodeAdmitMessage, encodeAdmitMessage, readAdmitMessage, admitMessageWire, ROSTER_BUCKETS, type RosterEntry } from '../protocol/admit.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES, MAX_ADDRS_PER_PEER, MAX_ROSTER_ENTRIES } from '../protocol/constants.ts'
import type { NodeCert } from '../protocol/certs.ts'
import { signNodeAddresses, type NodeAddresses, type NodeAddressesBody } from '../protocol/node-addresses.ts'
import { checkClientProof, makeClientProof, type ClientCredential, type ClientProof } from '../protocol/client-proof.ts'
import { encodeCanonical } from '../crypto/canonical.ts'
import { equalBytes, toHex } from '../crypto/bytes.ts'
import { hasCode } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { serve, request, type Served, type RequestContext } from './rpc.ts'
import { checkAuthorityCertWith, differingBuckets, type Admitted, type Roster } from './roster.ts'
import { addressKey, NO_OP_WEIGHT, type RefusalBudget } from './policy/refusal-budget.ts'
import { RateLimiter } from './policy/rate-limiter.ts'
import { CertifiedClients } from './policy/certified-clients.ts'
import { logger } from './log.ts'

const log = logger('admit')

/** Wait this long after a roster change before pushing it, so a burst of joins is one push (and a peer gets at most one a second). */
const PUSH_DEBOUNCE_MS = 1_000
/**
 * Peers a change is pushed to: each passes it on to as many, so news reaches
 * a well-connected network of n peers in about log(n) / log(6) hops, while a
 * peer receives each piece of news a few times rather than once from every
 * neighbour. Peers that only one hub reaches get news by their resync.
 */
const PUSH_FANOUT = 6
/**
 * Anti-entropy: about every this often (jittered by half either way), swap
 * digests with one random connected peer. A digest swap is one small message
 * each way when rosters agree, so an idle node spends little on it; it is
 * what brings news to a peer that no push reached (a peer whose only link is
 * a bootstrap node with hundreds of others), so it is not rare.
 */
const RESYNC_INTERVAL_MS = 15_000
/** The resync after one whose digests differed: soon, so a node still behind (or ahead) catches up in seconds. */
const QUICK_RESYNC_MS = 1_000
/**
 * Least time between two resyncs this peer starts with one peer: with pushes
 * (one a {@link PUSH_DEBOUNCE_MS}), keeps an honest peer under the
 * per-connection request limit below.
 */
const MIN_EXCHANGE_GAP_MS = 1_000
const EXCHANGE_TIMEOUT_MS = 5_000
/** How often a request waiting for its node to accept this client looks again (client requests, net/rpc.ts). */
const ACCEPTANCE_POLL_MS = 20
/**
 * How long a client's gated request waits for the node to accept its
 * credential: one exchange and its retry on a loaded host; after that the
 * request goes anyway (and a node that will not accept it says so).
 */
export const CLIENT_ACCEPTANCE_WAIT_MS = 2 * EXCHANGE_TIMEOUT_MS
/**
 * A failed exchange with a connected peer is tried again this much later,
 * up to {@link MAX_RETRIES} times: a client is served by a node only once an
 * exchange has carried its proof there, and on a loaded host the first one
 * may time out.
 */
const RETRY_MS = 1_000
const MAX_RETRIES = 3
/**
 * Admit requests per connection and minute (a bucket that starts full): an
 * honest peer sends at most one push a {@link PUSH_DEBOUNCE_MS} and one
 * resync a {@link MIN_EXCHANGE_GAP_MS}, besides the exchange on connecting,
 * retries and push-backs.
 */
const PER_CONNECTION_PER_MINUTE = 150
/** Admit requests per minute from one address by unauthenticated peers (a site's nodes or a devnet share one). */
const PER_ADDRESS_PER_MINUTE = 240
/**
 * Entries an answer to a digest carries at most: a joining node of a large
 * network gets the rest from its next exchanges, and no peer makes another
 * encode and send more than this per request.
 */
const MAX_ANSWER_ENTRIES = 256
/**
 * A bucket answered to a peer is answered again with the same contents at
 * most {@link REPEATS_PER_WINDOW} times within this long: a peer whose digest
 * still differs after taking them has more than we do (it pushes that back)
 * or refuses them, and a digest that never matches must not buy the same
 * entries again and again.
 */
const REPEAT_WINDOW_MS = 10_000
/** Answers of one bucket's same contents to one peer per window: two, so an answer lost to a timeout is sent again once. */
const REPEATS_PER_WINDOW = 2
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

/** What one exchange found: whether another soon is worth it (the rosters differed, or the exchange failed). */
interface Exchanged { again: boolean }

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
 * connection and (for unauthenticated peers) per address, entries per answer,
 * the same bucket answered to a peer once per {@link REPEAT_WINDOW_MS},
 * signature checks remembered, entries checked in slices that yield to the
 * event loop, and every refusal, or request that changes and gets nothing,
 * charged against the sender.
 */
export class Admission {
  private readonly init: AdmissionInit
  private pushTimer?: ReturnType<typeof setTimeout>
  private resyncTimer?: ReturnType<typeof setTimeout>
  /** When the next resync runs. */
  private resyncDue = 0
  private readonly onIdentify: (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>) => void
  private readonly onDisconnect: (evt: CustomEvent<PeerId>) => void
  private readonly limiter = new RateLimiter()
  private readonly certified = new CertifiedClients()
  /** Peers that answered one of our exchanges (a client: that accepted its proof). */
  private readonly acceptedBy = new Set<string>()
  /** Nodes whose entry changed since the last push. */
  private readonly news = new Set<string>()
  /** Per connected peer: the buckets last answered to it, with our bucket hash then and when. */
  private readonly answered = new Map<string, Map<number, { hash: Uint8Array, at: number, times: number }>>()
  /** When this peer last started an exchange with each connected peer. */
  private readonly lastExchange = new Map<string, number>()
  /** Peers an exchange with is under way (one at a time per peer). */
  private readonly inFlight = new Set<string>()
  /** Failed exchanges in a row, per connected peer. */
  private readonly failures = new Map<string, number>()
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
      this.answered.delete(peer)
      this.lastExchange.delete(peer)
      this.failures.delete(peer)
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
    this.scheduleResync(RESYNC_INTERVAL_MS)
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.pushTimer)
    clearTimeout(this.resyncTimer)
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

  /**
   * Wait until `peer` has answered one of this peer's exchanges (for a
   * client: accepted its proof), starting one if none is running; stops
   * waiting when that exchange ends without an answer (the peer is down or
   * refuses), after `ms`, or when `signal` aborts. True when it answered.
   */
  async acceptedWithin (peer: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.acceptedBy.has(peer)) return true
    let ended = false
    if (!this.inFlight.has(peer)) void this.exchange(peerIdFromString(peer)).finally(() => { ended = true })
    const until = Date.now() + ms
    while (!this.acceptedBy.has(peer) && !ended && Date.now() < until && signal?.aborted !== true && !this.stopped) {
      await new Promise((resolve) => setTimeout(resolve, ACCEPTANCE_POLL_MS))
      // An exchange someone else started has ended when it is no longer in flight.
      if (!this.inFlight.has(peer) && !this.acceptedBy.has(peer)) ended = true
    }
    return this.acceptedBy.has(peer)
  }

  /**
   * Forget that `peer` accepted this peer (it refused a request as unadmitted: its side of the acceptance is gone), so the
   * next {@link acceptedWithin} waits for a fresh exchange.
   */
  forgetAcceptance (peer: string): void {
    this.acceptedBy.delete(peer)
  }

  /** How many connected peers have answered one of this peer's exchanges. */
  get acceptances (): number {
    return this.acceptedBy.size
  }

  /** Our roster as sent on the wire, our own entry with a statement of our current addresses. */
  entries (): RosterEntry[] {
    this.refreshOwnStatement()
    return this.init.roster.list().map(toEntry)
  }

  /**
   * Swap digests with one peer now, sending `news` (by default our own
   * entry), taking the entries of the buckets that differ, and sending back
   * once what the peer still lacks. Failures are logged, never thrown:
   * admission is best-effort gossip.
   */
  async exchange (peer: PeerId, news?: readonly RosterEntry[]): Promise<Exchanged> {
    const who = peer.toString()
    if (this.stopped) return { again: false }
    if (this.inFlight.has(who)) {
      // Keep news for the next push rather than drop it for this peer.
      for (const e of news ?? []) this.news.add(e.cert.body.peer)
      if (news !== undefined && news.length > 0) this.schedulePush()
      return { again: false }
    }
    this.lastExchange.set(who, Date.now())
    this.inFlight.add(who)
    try {
      const again = await this.swap(peer, news ?? this.ownEntry())
      this.failures.delete(who)
      if (again) this.hurryResync()
      return { again }
    } catch (e) {
      log('roster exchange with %s failed: %s', who, (e as Error).message)
      this.retryLater(peer)
      this.hurryResync()
      return { again: true }
    } finally {
      this.inFlight.delete(who)
    }
  }

  /** One exchange: our news and digest out, the differing buckets in, what the peer lacks back once; true when rosters differed. */
  private async swap (peer: PeerId, news: readonly RosterEntry[]): Promise<boolean> {
    const answer = await this.ask(peer, news)
    await this.merge(answer.entries, false)
    // Only now: a client waits for an acceptance to know its roster holds what the peer answered.
    if (this.init.libp2p.getConnections(peer).length > 0) this.acceptedBy.add(peer.toString())
    if (answer.digest === undefined) return false
    const differ = differingBuckets(this.init.roster.digest(), answer.digest)
    if (differ.length === 0) return false
    const sent = new Set(answer.entries.map(entryKey))
    const back = this.init.roster.inBuckets(new Set(differ)).map(toEntry).filter((e) => !sent.has(entryKey(e)))
    if (back.length > 0) await this.merge((await this.ask(peer, back.slice(0, MAX_ANSWER_ENTRIES))).entries, false)
    return true
  }

  /** Try a failed exchange with `peer` again soon, while it stays connected, a few times. */
  private retryLater (peer: PeerId): void {
    const who = peer.toString()
    const n = (this.failures.get(who) ?? 0) + 1
    if (this.stopped || n > MAX_RETRIES || this.init.libp2p.getConnections(peer).length === 0) {
      this.failures.delete(who)
      return
    }
    this.failures.set(who, n)
    setTimeout(() => {
      if (this.init.libp2p.getConnections(peer).length > 0) void this.exchange(peer)
    }, RETRY_MS * n).unref()
  }

  /** Bring the next resync forward to {@link QUICK_RESYNC_MS} from now. */
  private hurryResync (): void {
    if (this.resyncDue - Date.now() > QUICK_RESYNC_MS) this.scheduleResync(QUICK_RESYNC_MS)
  }

  /** One admit request with `entries` and our digest (and a client's proof). */
  private async ask (peer: PeerId, entries: readonly RosterEntry[]): Promise<{ entries: RosterEntry[], digest?: Uint8Array }> {
    const { credential } = this.init
    const self = this.init.libp2p.peerId.toString()
    const proof = credential !== undefined ? makeClientProof(credential, this.init.roster.anchor.network, self, Date.now()) : undefined
    this.refreshOwnStatement()
    const body = await request(this.init.libp2p, peer, PROTOCOL.ADMIT, {
      body: encodeAdmitMessage(entries, proof, this.init.roster.digest()),
      timeoutMs: EXCHANGE_TIMEOUT_MS,
      maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
    })
    return readAdmitMessage(body)
  }

  /**
   * Serve one admit request: rate limits, decode, the client's proof, the
   * entries; answer a digest with the entries of the buckets that differ
   * (and ours), a request without one with the whole roster.
   */
  private async serveRequest (bytes: Uint8Array, ctx: RequestContext): Promise<unknown> {
    const remote = ctx.connection.remoteAddr
    const authorised = this.isAuthorised(ctx.peer)
    this.limiter.take(`c ${ctx.connection.id}`, PER_CONNECTION_PER_MINUTE)
    if (!authorised) this.limiter.take(`a ${addressKey(remote)}`, PER_ADDRESS_PER_MINUTE)
    const msg = await decodeAdmitMessage(bytes, async () => { await yieldToEventLoop(); ctx.signal.throwIfAborted() }, SLICE_MS)
    const certified = msg.client !== undefined && this.certify(msg.client, ctx.peer)
    const changed = await this.merge(msg.entries, true, ctx.signal)
    if (msg.digest === undefined) {
      if (!changed && !certified) this.init.budget.charge(ctx.peer, NO_OP_WEIGHT, remote)
      return admitMessageWire(this.entries())
    }
    this.refreshOwnStatement()
    const digest = this.init.roster.digest()
    const answer = this.answerFor(ctx.peer, differingBuckets(digest, msg.digest), digest)
    if (!changed && !certified && answer.length === 0) this.init.budget.charge(ctx.peer, NO_OP_WEIGHT, remote)
    return admitMessageWire(answer, undefined, digest)
  }

  /**
   * The entries to answer `peer` with for the buckets that differ, from a
   * random one on, at most {@link MAX_ANSWER_ENTRIES}, leaving out buckets
   * answered to it with the same contents {@link REPEATS_PER_WINDOW} times
   * within {@link REPEAT_WINDOW_MS}.
   */
  private answerFor (peer: string, differ: readonly number[], digest: Uint8Array): RosterEntry[] {
    if (differ.length === 0) return []
    const now = Date.now()
    let memo = this.answered.get(peer)
    if (memo === undefined) {
      memo = new Map()
      this.answered.set(peer, memo)
    }
    const byBucket = new Map<number, Admitted[]>()
    for (const e of this.init.roster.inBuckets(new Set(differ))) {
      const b = this.init.roster.bucketOf(e)
      byBucket.set(b, [...(byBucket.get(b) ?? []), e])
    }
    const out: RosterEntry[] = []
    const first = Math.floor(Math.random() * differ.length)
    for (let i = 0; i < differ.length; i++) {
      const b = differ[(first + i) % differ.length]
      const hash = digest.subarray(b * (digest.length / ROSTER_BUCKETS), (b + 1) * (digest.length / ROSTER_BUCKETS))
      const last = memo.get(b)
      const repeat = last !== undefined && now - last.at < REPEAT_WINDOW_MS && equalBytes(last.hash, hash)
      if (repeat && last.times >= REPEATS_PER_WINDOW) continue
      const entries = byBucket.get(b) ?? []
      if (out.length + entries.length > MAX_ANSWER_ENTRIES) break
      memo.set(b, repeat ? { ...last, times: last.times + 1 } : { hash: hash.slice(), at: now, times: 1 })
      for (const e of entries) out.push(toEntry(e))
    }
    return out
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
   * changed get them in the peer store, replacing what was there; what
   * changed is pushed on.
   *
   * @returns whether the roster changed
   */
  private async merge (entries: readonly RosterEntry[], strict: boolean, signal?: AbortSignal): Promise<boolean> {
    const self = this.init.libp2p.peerId.toString()
    const moved: string[] = []
    const revoked: string[] = []
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
        const wasRevoked = this.init.roster.isRevoked(entry.cert.body.peer)
        try {
          if (this.init.roster.offer(entry) === 'unchanged') continue
        } catch (e) {
          if (strict && !hasCode(e, 'ERR_EXPIRED')) throw e
          continue
        }
        changed = true
        const peer = entry.cert.body.peer
        this.news.add(peer)
        if (peer !== self && !wasRevoked && this.init.roster.isRevoked(peer)) revoked.push(peer)
        else if (peer !== self && this.init.roster.get(peer)?.statement !== before) moved.push(peer)
      }
    } finally {
      for (const peer of moved) this.replaceAddresses(peer)
      for (const peer of revoked) this.dropRevoked(peer)
      if (changed) this.schedulePush()
    }
    return changed
  }

  /**
   * Offer one entry carrying news about a node's standing (a revocation or a
   * retirement notice) as if a peer had sent it, and push it on.
   *
   * @throws {BioshardError} as {@link Roster.offer} for an entry that is not valid
   * @returns whether the roster changed
   */
  async announce (entry: RosterEntry): Promise<boolean> {
    return await this.merge([entry], true)
  }

  /** Close every connection to a peer just found revoked (the access gate refuses it from now on). */
  private dropRevoked (peer: string): void {
    log('%s is revoked by the authority: closing its connections', peer)
    void this.init.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
  }

  /** Put `peer`'s stated addresses in the peer store in place of the ones it held. */
  private replaceAddresses (peer: string): void {
    const addrs = this.init.roster.get(peer)?.addrs ?? []
    const multiaddrs = addrs.flatMap((a) => { try { return [multiaddr(a)] } catch { return [] } })
    if (multiaddrs.length === 0) return
    void this.init.libp2p.peerStore.patch(peerIdFromString(peer), { multiaddrs }).catch(() => {})
  }

  /** Our own entry (nodes), with a statement of our current addresses; none for clients. */
  private ownEntry (): RosterEntry[] {
    this.refreshOwnStatement()
    const cert = this.init.cert
    const mine = cert !== undefined ? this.init.roster.get(cert.body.peer) : undefined
    return mine !== undefined ? [toEntry(mine)] : []
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
    if (this.init.roster.offer({ cert, addrs: this.own }) === 'changed') this.news.add(cert.body.peer)
  }

  /** Push what changed, once the burst settles, to {@link PUSH_FANOUT} random connected peers. */
  private schedulePush (): void {
    if (this.stopped || this.pushTimer !== undefined) return
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined
      const news: RosterEntry[] = []
      for (const peer of this.news) {
        const e = this.init.roster.known(peer)
        if (e !== undefined && news.length < MAX_ROSTER_ENTRIES) news.push(toEntry(e))
      }
      this.news.clear()
      if (news.length === 0) return
      for (const peer of this.pick(PUSH_FANOUT, 0)) void this.exchange(peer, news)
    }, PUSH_DEBOUNCE_MS)
    this.pushTimer.unref()
  }

  private scheduleResync (ms: number): void {
    clearTimeout(this.resyncTimer)
    if (this.stopped) return
    this.resyncDue = Date.now() + ms
    this.resyncTimer = setTimeout(() => { void this.resync() }, ms)
    this.resyncTimer.unref()
  }

  /** Swap digests with one random peer; soon again when they differed. */
  private async resync (): Promise<void> {
    const [peer] = this.pick(1, MIN_EXCHANGE_GAP_MS)
    const { again } = peer !== undefined ? await this.exchange(peer) : { again: false }
    this.scheduleResync(again ? QUICK_RESYNC_MS : RESYNC_INTERVAL_MS * (0.5 + Math.random()))
  }

  /** Up to `n` random connected peers not exchanged with in the last `gapMs`. */
  private pick (n: number, gapMs: number): PeerId[] {
    const now = Date.now()
    const seen = new Set<string>()
    const out: PeerId[] = []
    for (const c of this.init.libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      if (seen.has(id)) continue
      seen.add(id)
      if (now - (this.lastExchange.get(id) ?? 0) >= gapMs) out.push(c.remotePeer)
    }
    for (let i = 0; i < Math.min(n, out.length); i++) {
      const j = i + Math.floor(Math.random() * (out.length - i))
      const t = out[i]
      out[i] = out[j]
      out[j] = t
    }
    return out.slice(0, n)
  }
}

/** An entry as relayed: a revoked node's as its certificate and revocation alone. */
function toEntry (e: Admitted): RosterEntry {
  if (e.revoked !== undefined) return { cert: e.cert, revoked: e.revoked }
  return {
    cert: e.cert,
    ...(e.statement !== undefined ? { addrs: e.statement } : {}),
    ...(e.retiring !== undefined ? { retiring: e.retiring } : {})
  }
}

/** What tells two versions of one node's entry apart: the node and the signatures of its certificate, statement and standing. */
function entryKey (e: RosterEntry): string {
  const standing = e.revoked ?? e.retiring
  return `${e.cert.body.peer} ${toHex(e.cert.sig)} ${e.addrs !== undefined ? toHex(e.addrs.sig) : ''} ${standing !== undefined ? toHex(standing.sig) : ''}`
}
