/**
 * A site node: composes the libp2p host, admission, the durable share store,
 * the holder protocol handlers, the audit log and metrics. `start()` brings
 * it up and joins the network; `stop()` stops taking requests, lets those in
 * flight finish (bounded), and closes the database cleanly.
 *
 * @module
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { openNodeDb, type NodeDb } from './store/db.ts'
import { ShareStore } from './store/share-store.ts'
import { PendingSweeper } from './store/pending-sweeper.ts'
import { AuditLog, type AuditEntry } from './audit/audit-log.ts'
import { RefusalAggregator } from './audit/refusal-aggregator.ts'
import type { NodeMetrics } from './metrics/metrics.ts'
import { startMetricsServer, type MetricsServer } from './metrics/server.ts'
import { createHost, dialBootstrap, type Host } from '../net/host.ts'
import { Admission } from '../net/admission.ts'
import { Roster } from '../net/roster.ts'
import { serve, InvalidRequestBudget, type Served } from '../net/rpc.ts'
import type { RefusalBudget } from '../net/policy/refusal-budget.ts'
import { ReplayCache } from '../net/policy/replay-cache.ts'
import { RateLimiter } from '../net/policy/rate-limiter.ts'
import { VerifiedCache } from '../net/policy/verified-cache.ts'
import { handleStore } from './handlers/store.ts'
import { handleFetch, ManifestCache } from './handlers/fetch.ts'
import { handleErase } from './handlers/erase.ts'
import type { HolderDeps, Faults } from './handlers/context.ts'
import { loadConfig, authorityKeys, parseHostPort, type NodeConfig } from './config.ts'
import { loadKeys, loadCert } from './keys.ts'
import { logger } from '../net/log.ts'
import { wipe } from '../crypto/bytes.ts'
import { Sealer } from '../crypto/seal.ts'
import { BioshardError } from '../errors.ts'
import { checkNodeCert, type NodeCert, type TrustAnchor } from '../protocol/certs.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import { processAttestation } from '../protocol/attestation.ts'
import { manifestKey } from '../protocol/ownership.ts'
import { decodeManifest } from '../protocol/manifest.ts'

const log = logger('node')

/** How long stop() waits for in-flight requests before closing anyway. */
const DRAIN_TIMEOUT_MS = 5_000
/** How many known peers a restarted node dials to rejoin. */
const REJOIN_PEERS = 8
/** Deadline of one manifest republish. */
const REPUBLISH_TIMEOUT_MS = 10_000
const REPUBLISH_DELAY_MS = 2_000
const REPUBLISH_PAUSE_MS = 100
const INVALID_WINDOW_MS = 10 * 60_000
/** What a stream refused by the access gate costs its peer (a malformed or forged request costs 1). */
const GATE_REFUSAL_WEIGHT = 1
const BAN_MS = 10 * 60_000

export interface SiteNodeOptions {
  /** Node directory (config, keys, certificate, database). */
  dir: string
  env?: NodeJS.ProcessEnv
  /** Override the configured metrics address (`host:port`), or null for none. */
  metrics?: string | null
  /** Clock, for tests. */
  now?: () => number
  /** Fault injection (simulator, tests): makes this node Byzantine. */
  faults?: Faults
}

export class SiteNode {
  readonly dir: string
  readonly config: NodeConfig
  readonly cert: NodeCert
  readonly anchor: TrustAnchor
  readonly roster: Roster
  private readonly options: SiteNodeOptions
  private host?: Host
  private db?: NodeDb
  private store?: ShareStore
  private audit?: AuditLog
  private refusals?: RefusalAggregator
  private metrics?: NodeMetrics
  private metricsServer?: MetricsServer
  private admission?: Admission
  private sweeper?: PendingSweeper
  private republishing?: Promise<void>
  private stopRepublish?: () => void
  private inFlight = 0
  private accepting = false
  /** Addresses bound at the first start; a restart rebinds them so peers' address books stay right. */
  private boundAddrs?: string[]

  private constructor (options: SiteNodeOptions, config: NodeConfig, cert: NodeCert, anchor: TrustAnchor) {
    this.options = options
    this.dir = options.dir
    this.config = config
    this.cert = cert
    this.anchor = anchor
    this.roster = new Roster(anchor)
  }

  /**
   * Load a node directory; checks that the certificate is present, valid and
   * issued for this node's key and site.
   *
   * @throws {BioshardError} ERR_CONFIG for a missing or mismatched config, key or certificate
   */
  static async open (options: SiteNodeOptions): Promise<SiteNode> {
    const config = loadConfig(options.dir, options.env ?? {})
    const anchor: TrustAnchor = { network: config.network, authorities: authorityKeys(config) }
    const cert = loadCert(options.dir)
    if (cert === undefined) throw new BioshardError('ERR_CONFIG', `no node.cert in ${options.dir}: ask the authority to admit this peer (bioshard authority admit) and copy the certificate there`)
    const now = (options.now ?? Date.now)()
    try {
      checkNodeCert(cert, anchor, now)
    } catch (e) {
      throw new BioshardError('ERR_CONFIG', `node.cert is not usable: ${(e as Error).message}`, { cause: e })
    }
    if (cert.body.site !== config.site) throw new BioshardError('ERR_CONFIG', `node.cert is for site ${cert.body.site}, config says ${config.site}`)
    return new SiteNode(options, config, cert, anchor)
  }

  get peerId (): PeerId {
    if (this.host === undefined) throw new Error('node is not started')
    return this.host.peerId
  }

  /** Listen addresses with the /p2p suffix, as others should dial them. */
  get addrs (): string[] {
    return this.host?.getMultiaddrs().map((a) => a.toString()) ?? []
  }

  get libp2p (): Host | undefined { return this.host }

  /**
   * Start serving and join the network. A start that fails part-way (a bad
   * metrics address, a port in use) releases what it had opened, so the
   * port and the database lock are not held by a node that never ran.
   */
  async start (): Promise<void> {
    try {
      await this.bringUp()
    } catch (e) {
      await this.stop().catch(() => {})
      throw e
    }
  }

  private async bringUp (): Promise<void> {
    const now = this.options.now ?? Date.now
    const keys = await loadKeys(this.dir)
    if (keys.peerId !== this.cert.body.peer) {
      wipe(keys.storageKey)
      throw new BioshardError('ERR_CONFIG', `node.cert is for peer ${this.cert.body.peer}, this node is ${keys.peerId}`)
    }
    this.db = await openNodeDb(this.dir)
    this.store = new ShareStore(this.db, keys.storageKey, { now })
    wipe(keys.storageKey)
    await this.store.ready()
    this.audit = await AuditLog.open(this.db, { flushMs: this.config.limits.auditFlushMs })
    this.startRefusalAggregation()
    const budget = new InvalidRequestBudget(this.config.limits.invalidRequestBudget, INVALID_WINDOW_MS, BAN_MS)
    const host = await createHost({
      privateKey: keys.privateKey,
      listen: this.boundAddrs ?? this.config.listen,
      anchor: this.anchor,
      role: 'node',
      isDenied: (peer) => budget.isBanned(peer.toString()),
      isAdmitted: (peer) => this.roster.isAdmitted(peer.toString()),
      // Every bioshard protocol but admission: admitted nodes and certified clients only.
      authorise: (peer) => this.admission?.isAuthorised(peer.toString()) ?? false,
      onRefused: (peer, protocol, connection) => { this.onGateRefused(peer.toString(), protocol, connection, budget) },
      isAddressDenied: (addr, peer) => peer === undefined ? budget.refusesConnection(addr) : budget.isAddressBanned(addr) && !budget.isKnown(peer.toString())
    })
    this.host = host
    const store = this.store
    const metricsAddr = this.options.metrics !== undefined ? this.options.metrics : this.config.metrics
    // prom-client, and the tracing API it loads, only in a node that serves metrics.
    if (metricsAddr !== null) {
      const { NodeMetrics } = await import('./metrics/metrics.ts')
      this.metrics = new NodeMetrics({
        sharesHeld: () => store.countNow(),
        peersConnected: () => host.getPeers().length,
        peersAdmitted: () => this.roster.size()
      })
    }
    const deps: HolderDeps = {
      self: keys.peerId,
      site: this.config.site,
      key: keys.signing,
      anchor: this.anchor,
      store,
      replay: new ReplayCache(2 * FRESHNESS_WINDOW_MS),
      rate: new RateLimiter(),
      attestation: { process: processAttestation },
      sealer: new Sealer({ now }),
      now,
      ...(this.options.faults !== undefined ? { faults: this.options.faults } : {})
    }
    const manifests = new ManifestCache()
    const verified = new VerifiedCache()
    const onServed = (s: Served): void => { this.onServed(s) }
    const limits = this.config.limits
    const bounded = (protocol: keyof typeof MAX_MESSAGE_BYTES): Parameters<typeof serve>[3] => ({
      maxRequestBytes: MAX_MESSAGE_BYTES[protocol], timeoutMs: limits.requestTimeoutMs, idleTimeoutMs: limits.streamIdleMs, maxInboundStreams: limits.maxInboundStreams, onServed
    })
    const guarded = (fn: (bytes: Uint8Array, ctx: Parameters<Parameters<typeof serve>[2]>[1]) => Promise<unknown>) =>
      async (bytes: Uint8Array, ctx: Parameters<Parameters<typeof serve>[2]>[1]): Promise<unknown> => {
        if (!this.accepting) throw new BioshardError('ERR_BUSY', 'node is shutting down')
        this.inFlight++
        try { return await fn(bytes, ctx) } finally { this.inFlight-- }
      }
    await host.start()
    this.boundAddrs ??= host.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0])
    this.accepting = true
    await serve(host, PROTOCOL.STORE, guarded(async (b, c) => await handleStore(deps, b, c)), bounded(PROTOCOL.STORE), budget)
    await serve(host, PROTOCOL.FETCH, guarded(async (b, c) => await handleFetch(deps, manifests, b, c, verified)), bounded(PROTOCOL.FETCH), budget)
    await serve(host, PROTOCOL.ERASE, guarded(async (b, c) => await handleErase(deps, manifests, b, c)), bounded(PROTOCOL.ERASE), budget)
    this.admission = new Admission({ libp2p: host, roster: this.roster, cert: this.cert, key: keys.signing, budget, onServed })
    const admission = this.admission
    budget.isAuthenticated = (peer) => admission.isAuthorised(peer)
    budget.isKnown = (peer) => admission.isKnown(peer)
    await this.admission.start()

    if (metricsAddr !== null && this.metrics !== undefined) {
      const { host: mhost, port } = parseHostPort(metricsAddr, 'metrics')
      this.metricsServer = await startMetricsServer({ host: mhost, port, metrics: this.metrics, health: () => this.health() })
    }
    if (this.config.bootstrap.length > 0) {
      const n = await dialBootstrap(host, this.config.bootstrap)
      log('connected to %d of %d bootstrap peers', n, this.config.bootstrap.length)
    }
    await this.rejoin()
    this.republishing = this.republish()
    this.startPendingSweeper(keys.peerId)
  }

  /**
   * Confirm or drop stores whose manifest was never published, once they
   * are older than `limits.pendingGraceMs` (node/store/pending-sweeper.ts).
   */
  private startPendingSweeper (self: string): void {
    if (this.host === undefined || this.store === undefined) return
    this.sweeper = new PendingSweeper({
      store: this.store, dht: this.host.services.dht, anchor: this.anchor, self, graceMs: this.config.limits.pendingGraceMs, peers: () => this.roster.size() - 1, ...(this.options.now !== undefined ? { now: this.options.now } : {})
    })
    this.sweeper.start()
  }

  /**
   * After a restart, reconnect to admitted peers this node already knows, so
   * a node without bootstrap peers (the first of a network) is not left alone.
   */
  private async rejoin (): Promise<void> {
    const host = this.host
    if (host === undefined) return
    const self = this.cert.body.peer
    const known = this.roster.list().filter((e) => e.peer !== self && e.addrs.length > 0).slice(0, REJOIN_PEERS)
    await Promise.all(known.map(async (e) => {
      await host.dial(peerIdFromString(e.peer), { signal: AbortSignal.timeout(3_000) }).catch(() => {})
    }))
  }

  /**
   * Put every manifest this node holds back into the DHT, in the background.
   * DHT records live in memory at the peers that store them, so a node that
   * restarts (or a network that restarts) would otherwise forget them; the
   * holders' durable copies are the source they are restored from. A
   * pending store (its manifest not yet seen published) is skipped: its
   * enrolment may have failed, and must not be published by its holders.
   */
  private async republish (): Promise<void> {
    const host = this.host
    const store = this.store
    if (host === undefined || store === undefined) return
    const stop = new AbortController()
    this.stopRepublish = () => { stop.abort() }
    let count = 0
    const pause = async (ms: number): Promise<void> => { await new Promise<void>((resolve) => { const t = setTimeout(resolve, ms); t.unref(); stop.signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true }) }) }
    // Let the node settle into the network first, then trickle: republishing
    // is housekeeping and must not compete with requests for the CPU.
    await pause(REPUBLISH_DELAY_MS)
    try {
      for await (const id of store.ids()) {
        if (stop.signal.aborted) break
        await pause(REPUBLISH_PAUSE_MS)
        if (await store.isPending(id)) continue
        const manifest = await store.getManifest(id)
        if (manifest === undefined) continue
        const { tenant, templateId } = decodeManifest(manifest).body
        const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(REPUBLISH_TIMEOUT_MS)])
        try {
          for await (const evt of host.services.dht.put(manifestKey(tenant, templateId), manifest, { signal })) void evt
          count++
        } catch (e) {
          log('republishing a manifest failed: %s', (e as Error).message)
        }
      }
    } catch (e) {
      log('republish stopped: %s', (e as Error).message)
    }
    log('republished %d manifests', count)
  }

  /** URL of the metrics server, if running. */
  get metricsUrl (): string | undefined { return this.metricsServer?.url }

  /** Liveness and readiness for `/healthz`. */
  health (): { ok: boolean, peer: string, site: string, admitted: number, connected: number, shares: number } {
    return {
      ok: this.accepting,
      peer: this.cert.body.peer,
      site: this.config.site,
      admitted: this.roster.size(),
      connected: this.host?.getPeers().length ?? 0,
      shares: this.store?.countNow() ?? 0
    }
  }

  /** Shares held right now. */
  async shareCount (): Promise<number> { return await (this.store?.count() ?? Promise.resolve(0)) }

  private onServed (s: Served): void {
    this.metrics?.observe(s.protocol.split('/')[2] ?? s.protocol, s.outcome, s.seconds)
    if (s.protocol === PROTOCOL.ADMIT && s.outcome === 'ok') return
    const entry = {
      time: Date.now(),
      protocol: s.protocol.split('/')[2] ?? s.protocol,
      peer: s.peer,
      action: s.action ?? 'request',
      outcome: s.outcome,
      ...(s.subject !== undefined ? { subject: s.subject } : {}),
      ...(s.message !== undefined && s.outcome !== 'ok' ? { reason: s.message } : {})
    }
    if (entry.outcome !== 'ok' && this.refusals !== undefined) this.refusals.refused(entry)
    else this.appendAudit(entry)
  }

  /**
   * A stream the access gate refused, audited (aggregated) and charged at
   * full weight, as a forged request is: a peer that is still unknown after
   * the gate's grace for its admission has no reason to open it.
   */
  private onGateRefused (peer: string, protocol: string, connection: Connection, budget: RefusalBudget): void {
    this.onServed({ protocol, peer, outcome: 'ERR_NOT_ADMITTED', message: 'not an admitted node or a certified client', seconds: 0, action: 'gate' })
    if (budget.charge(peer, GATE_REFUSAL_WEIGHT, connection.remoteAddr)) void connection.close().catch(() => {})
  }

  private appendAudit (entry: AuditEntry): void {
    this.audit?.append(entry).catch((e: Error) => { log.error('audit append failed: %s', e.message) })
  }

  /**
   * Refusals reach the audit log through an aggregator: the first of each
   * (peer, code) in a window at once, the repeats as one counted entry
   * (node/audit/refusal-aggregator.ts), so a hostile peer cannot grow the log
   * by one record per request.
   */
  private startRefusalAggregation (): void {
    const { auditWindowMs, auditRefusalKeys } = this.config.limits
    this.refusals = new RefusalAggregator({ windowMs: auditWindowMs, maxKeys: auditRefusalKeys, write: (e) => { this.appendAudit(e) } })
  }

  /** Stop taking requests, drain, and close everything. Safe to call twice. */
  async stop (): Promise<void> {
    if (!this.accepting && this.host === undefined && this.db === undefined) return
    this.accepting = false
    this.stopRepublish?.()
    await this.republishing
    await this.sweeper?.stop()
    this.sweeper = undefined
    const deadline = Date.now() + DRAIN_TIMEOUT_MS
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    await this.admission?.stop()
    await this.host?.stop()
    this.host = undefined
    await this.metricsServer?.close()
    this.refusals?.close()
    this.refusals = undefined
    await this.audit?.flush()
    await this.db?.close()
    this.db = undefined
  }
}
