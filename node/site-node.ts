/**
 * A site node: composes the libp2p host, admission, the durable share store,
 * the holder protocol handlers, the audit log and metrics. `start()` brings
 * it up and joins the network; `stop()` stops taking requests, lets those in
 * flight finish (bounded), and closes the database cleanly. The holder
 * protocols come from one table (node/handlers/registry.ts), so the node
 * itself knows nothing of what a handler does.
 *
 * @module
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { openNodeDb, type NodeDb } from './store/db.ts'
import { ShareStore, type ShareOnly } from './store/share-store.ts'
import { PendingSweeper } from './store/pending-sweeper.ts'
import { Reconciler, type ReconcileChange, type ReconcileSchedule, type ReconcileTally } from './reconcile.ts'
import { AuditLog, type AuditEntry } from './audit/audit-log.ts'
import { RefusalAggregator } from './audit/refusal-aggregator.ts'
import type { NodeMetrics } from './metrics/metrics.ts'
import { startMetricsServer, type MetricsServer } from './metrics/server.ts'
import { maintainRecorder } from './maintain/record.ts'
import { createHost, dialBootstrap, type Host, type HostInit, type LinkDirection } from '../net/host.ts'
import { BootstrapKeeper, type BootstrapState } from '../net/bootstrap.ts'
import { bindError } from './bind-error.ts'
import { Admission } from '../net/admission.ts'
import { Roster } from '../net/roster.ts'
import { RecordReplicas } from '../net/record-replicas.ts'
import { serve, request, InvalidRequestBudget, type RequestHandler, type Served } from '../net/rpc.ts'
import type { RefusalBudget } from '../net/policy/refusal-budget.ts'
import { ReplayCache } from '../net/policy/replay-cache.ts'
import { RateLimiter } from '../net/policy/rate-limiter.ts'
import { VerifiedCache } from '../net/policy/verified-cache.ts'
import { ManifestCache } from './handlers/manifest-cache.ts'
import { HOLDER_HANDLERS, type HandlerEntry, type HolderComponents } from './handlers/registry.ts'
import { loadConfig, authorityKeys, parseHostPort, type NodeConfig } from './config.ts'
import { loadKeys, loadCert } from './keys.ts'
import { logger } from '../net/log.ts'
import { wipe } from '../crypto/bytes.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { encodeSigned, toWire } from '../protocol/signed.ts'
import type { Retirement } from '../protocol/revocation.ts'
import { STANDING_SCAN_MS, finishRequested, readRetirementFile, readRevocationFiles, writeRetirement } from './standing.ts'
import { Sealer } from '../crypto/seal.ts'
import { BioshardError } from '../errors.ts'
import { checkNodeCert, type NodeCert, type TrustAnchor } from '../protocol/certs.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import { processAttestation } from '../protocol/attestation.ts'
import {
  BAN_MS, BOOTSTRAP_START_ATTEMPTS, DRAIN_TIMEOUT_MS, GATE_REFUSAL_WEIGHT, INVALID_WINDOW_MS, REJOIN_DIAL_TIMEOUT_MS, REJOIN_PEERS, REPLAY_WINDOW_MS,
  RECONCILE_DELAY_MS, RECONCILE_EVERY_MS, RECONCILE_PAUSE_MS
} from './constants.ts'

const log = logger('node')

export interface SiteNodeOptions {
  /** Node directory (config, keys, certificate, database). */
  dir: string
  env?: NodeJS.ProcessEnv
  /** Override the configured metrics address (`host:port`), or null for none. */
  metrics?: string | null
  /** Clock, for tests. */
  now?: () => number
  /** The holder protocols to serve. @default HOLDER_HANDLERS (node/handlers/registry.ts) */
  handlers?: readonly HandlerEntry[]
  /** A link policy: connections with peers it denies are refused both ways (the simulator's partitions). @default none */
  links?: { isDenied: (peer: string, direction: LinkDirection) => boolean }
  /** Told what an operator should see (bootstrap peers unreachable, reached again); the CLI prints it. */
  onWarning?: (message: string) => void
  /**
   * When the node reconciles the shares it holds with the newest manifests (node/reconcile.ts).
   * @default first pass 2 s after start, then hourly, 100 ms between shares (node/constants.ts)
   */
  reconcile?: Partial<ReconcileSchedule>
}

/**
 * One site node. The node builds its components once and registers every
 * entry of its handler table the same way, bounded by the entry's limits over
 * the configured ones. A node can be given another table (the simulator's
 * misbehaving nodes are made so).
 */
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
  private bootstrap?: BootstrapKeeper
  private reconciler?: Reconciler
  private replicas?: RecordReplicas
  private manifests?: ManifestCache
  private inFlight = 0
  private accepting = false
  /** Addresses bound at the first start; a restart rebinds them so peers' address books stay right. */
  private boundAddrs?: string[]
  private signing?: SigningKey
  /** This node's retirement notice once it retires: it takes no new stores from then on. */
  private retirement?: Retirement
  private standingTimer?: ReturnType<typeof setInterval>
  private finishing?: Promise<number>
  private onFinished?: (shredded: number) => void
  /** Settles with the number of shares destroyed when the node has finished retiring and stopped. */
  readonly retired: Promise<number> = new Promise((resolve) => { this.onFinished = resolve })

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
    if (cert === undefined) {
      const hint = 'ask the authority to admit this peer (bioshard authority admit) and copy the certificate there'
      throw new BioshardError('ERR_CONFIG', `no node.cert in ${options.dir}: ${hint}`)
    }
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
    this.signing = keys.signing
    this.retirement = readRetirementFile(this.dir)
    await this.store.ready()
    this.audit = await AuditLog.open(this.db, { flushMs: this.config.limits.auditFlushMs })
    this.startRefusalAggregation()
    const budget = new InvalidRequestBudget(this.config.limits.invalidRequestBudget, INVALID_WINDOW_MS, BAN_MS)
    const host = await createHost({
      privateKey: keys.privateKey,
      listen: this.boundAddrs ?? this.config.listen,
      anchor: this.anchor,
      role: 'node',
      // A revoked node is refused at the connection, both ways, from the moment the roster hears of it.
      isDenied: (peer) => budget.isBanned(peer.toString()) || this.roster.isRevoked(peer.toString()),
      isAdmitted: (peer) => this.roster.isAdmitted(peer.toString()),
      // Every bioshard protocol but admission: admitted nodes and certified clients only.
      authorise: (peer) => this.admission?.isAuthorised(peer.toString()) ?? false,
      onRefused: (peer, protocol, connection) => { this.onGateRefused(peer.toString(), protocol, connection, budget) },
      signatures: this.roster.verified,
      isAddressDenied: (addr, peer) => peer === undefined ? budget.refusesConnection(addr) : budget.isAddressBanned(addr) && !budget.isKnown(peer.toString()),
      ...this.linkPolicy()
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
    const components: HolderComponents = {
      self: keys.peerId,
      site: this.config.site,
      key: keys.signing,
      anchor: this.anchor,
      store,
      manifests: this.manifests = new ManifestCache(store),
      verified: new VerifiedCache(),
      replay: new ReplayCache(REPLAY_WINDOW_MS),
      rate: new RateLimiter(),
      attestation: { process: processAttestation },
      sealer: new Sealer({ now }),
      now,
      peerRequest: async (peer, body, timeoutMs) => await request(host, peerIdFromString(peer), PROTOCOL.MAINTAIN, {
        body, timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.MAINTAIN]
      }),
      events: maintainRecorder({ metrics: this.metrics, audit: (e) => { this.appendAudit(e) } })
    }
    const onServed = (s: Served): void => { this.onServed(s) }
    try {
      await host.start()
    } catch (e) {
      throw bindError(e, 'listen', this.boundAddrs ?? this.config.listen) ?? e
    }
    this.boundAddrs ??= host.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0])
    this.accepting = true
    await this.serveHolderProtocols({ host, components, budget, onServed })
    this.admission = new Admission({ libp2p: host, roster: this.roster, cert: this.cert, key: keys.signing, budget, onServed })
    const admission = this.admission
    budget.isAuthenticated = (peer) => admission.isAuthorised(peer)
    budget.isKnown = (peer) => admission.isKnown(peer)
    await this.admission.start()
    await this.scanStanding()
    this.standingTimer = setInterval(() => { void this.scanStanding() }, STANDING_SCAN_MS)
    this.standingTimer.unref()

    if (metricsAddr !== null && this.metrics !== undefined) {
      const { host: mhost, port } = parseHostPort(metricsAddr, 'metrics')
      try {
        this.metricsServer = await startMetricsServer({ host: mhost, port, metrics: this.metrics, health: () => this.health() })
      } catch (e) {
        throw bindError(e, 'metrics', [metricsAddr]) ?? e
      }
    }
    await this.joinThroughBootstrap(host)
    await this.rejoin()
    this.startReconciler(keys.peerId)
    this.startPendingSweeper(keys.peerId)
  }

  /** The host's link policy: never to or from a revoked node (inbound is also refused by `isDenied`), then the `links` option. */
  private linkPolicy (): Pick<HostInit, 'isLinkDenied'> {
    const links = this.options.links
    return {
      isLinkDenied: (peer, direction) => {
        const id = peer.toString()
        return this.roster.isRevoked(id) || (links?.isDenied(id, direction) ?? false)
      }
    }
  }

  /**
   * Dial the bootstrap peers (a few tries: at a network's first start they
   * may come up a moment later), then keep dialling with backoff while the
   * node has no peer, warning the operator (net/bootstrap.ts).
   */
  private async joinThroughBootstrap (host: Host): Promise<void> {
    const { bootstrap } = this.config
    if (bootstrap.length === 0) return
    const n = await dialBootstrap(host, bootstrap, { attempts: BOOTSTRAP_START_ATTEMPTS })
    log('connected to %d of %d bootstrap peers', n, bootstrap.length)
    const warn = this.options.onWarning ?? ((m: string) => { log.error('%s', m) })
    this.bootstrap = new BootstrapKeeper(host, bootstrap, {
      onUnreachable: (s) => { warn(`no bootstrap peer reachable (${s.failedRounds} round(s), last: ${s.lastError ?? 'no answer'}); retrying with backoff`) },
      onJoined: () => { warn('a bootstrap peer answered; the node has joined the network') }
    })
    this.bootstrap.start()
  }

  /**
   * Register every entry of the handler table, bounded by the entry's limits
   * over the configured ones, and counted for the drain on stop.
   */
  private async serveHolderProtocols (c: { host: Host, components: HolderComponents, budget: RefusalBudget, onServed: (s: Served) => void }): Promise<void> {
    const limits = this.config.limits
    for (const entry of this.options.handlers ?? HOLDER_HANDLERS) {
      await serve(c.host, entry.protocol, this.drained(entry.create(c.components), entry.protocol), {
        timeoutMs: limits.requestTimeoutMs,
        idleTimeoutMs: limits.streamIdleMs,
        maxInboundStreams: limits.maxInboundStreams,
        ...entry.limits,
        onServed: c.onServed,
        budget: c.budget
      })
    }
  }

  /** `handle`, refused once the node is stopping (and a store once it is retiring), and counted while it runs so stop() can wait for it. */
  private drained (handle: RequestHandler, protocol: string): RequestHandler {
    return async (bytes, ctx) => {
      if (!this.accepting) throw new BioshardError('ERR_BUSY', 'node is shutting down')
      if (protocol === PROTOCOL.STORE && this.retirement !== undefined) throw new BioshardError('ERR_RETIRING', 'this node is retiring and takes no new shares')
      this.inFlight++
      try { return await handle(bytes, ctx) } finally { this.inFlight-- }
    }
  }

  /** Where this node puts and looks up manifest records: the roster's closest nodes to each key (net/record-replicas.ts). */
  private recordReplicas (self: string): RecordReplicas {
    if (this.host === undefined) throw new BioshardError('ERR_CONFIG', 'node is not started')
    this.replicas ??= RecordReplicas.overRoster(this.host.services.dht, this.roster, self)
    return this.replicas
  }

  /** Reconcile held shares with the newest manifests after start-up and then on a schedule (node/reconcile.ts). */
  private startReconciler (self: string): void {
    if (this.host === undefined || this.store === undefined) return
    const schedule = { delayMs: RECONCILE_DELAY_MS, everyMs: RECONCILE_EVERY_MS, pauseMs: RECONCILE_PAUSE_MS, ...this.options.reconcile }
    const dht = this.host.services.dht
    this.reconciler = new Reconciler({
      store: this.store,
      replicas: this.recordReplicas(self),
      anchor: this.anchor,
      self,
      ...(this.options.now !== undefined ? { now: this.options.now } : {}),
      onChange: (c) => { this.onReconciled(c) },
      peers: () => (dht as { routingTable?: { size: number } }).routingTable?.size ?? 1
    }, schedule)
    this.reconciler.start()
  }

  /** A share reconciliation erased or destroyed, or a newer copy it adopted: forget the cached manifest (a fetch reads the new one), and audit it. */
  private onReconciled (c: ReconcileChange): void {
    this.manifests?.drop(c.slot)
    const self = this.cert.body.peer
    this.appendAudit({ time: Date.now(), protocol: 'reconcile', peer: self, subject: c.subject, action: c.kind, outcome: 'ok', detail: { seq: c.seq } })
  }

  /**
   * Reconcile every held share now (after a pass under way): erase what the
   * tenant erased meanwhile, destroy what a repair replaced, take newer
   * manifest copies, republish the rest. The simulator calls it where a real
   * node's schedule would have run.
   *
   * @returns what the pass did
   * @throws {BioshardError} ERR_CONFIG when the node is not started
   */
  async reconcile (): Promise<ReconcileTally> {
    if (this.reconciler === undefined) throw new BioshardError('ERR_CONFIG', 'node is not started')
    return await this.reconciler.now()
  }

  /**
   * Confirm or drop stores whose manifest was never published, once they
   * are older than `limits.pendingGraceMs` (node/store/pending-sweeper.ts).
   */
  private startPendingSweeper (self: string): void {
    if (this.host === undefined || this.store === undefined) return
    this.sweeper = new PendingSweeper({
      store: this.store,
      replicas: this.recordReplicas(self),
      anchor: this.anchor,
      self,
      graceMs: this.config.limits.pendingGraceMs,
      peers: () => this.roster.size() - 1,
      ...(this.options.now !== undefined ? { now: this.options.now } : {})
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
      await host.dial(peerIdFromString(e.peer), { signal: AbortSignal.timeout(REJOIN_DIAL_TIMEOUT_MS) }).catch(() => {})
    }))
  }

  /** Whether this node has announced that it is retiring. */
  get isRetiring (): boolean { return this.retirement !== undefined }

  /**
   * Retire: sign and keep a retirement notice, announce it with this node's
   * roster entry, and take no new stores from now on. Fetches, audits and
   * maintenance go on until {@link finishRetirement}. Idempotent.
   */
  async retire (): Promise<void> {
    if (this.signing === undefined) throw new BioshardError('ERR_CONFIG', 'node is not started')
    this.retirement = writeRetirement(this.dir, this.signing, { network: this.anchor.network, peer: this.cert.body.peer, at: Date.now() })
    await this.announceRetirement()
  }

  /**
   * Finish retiring: destroy every share held (each share's key is
   * destroyed and its record compacted away, as erase does, under a
   * tombstone naming the retirement), stop, and settle {@link retired}.
   *
   * @returns the number of shares destroyed
   */
  async finishRetirement (): Promise<number> {
    this.finishing ??= this.shredAndStop()
    return await this.finishing
  }

  private async shredAndStop (): Promise<number> {
    if (this.retirement === undefined) await this.retire()
    const store = this.store
    let shredded = 0
    if (store !== undefined) {
      this.accepting = false
      const tombstone = encodeSigned(toWire(this.retirement as Retirement))
      const slots: Uint8Array[] = []
      for await (const slot of store.ids()) slots.push(slot)
      for (const slot of slots) if ((await store.erase(slot, tombstone)).held) shredded++
    }
    await this.stop()
    this.onFinished?.(shredded)
    return shredded
  }

  private async announceRetirement (): Promise<void> {
    if (this.retirement === undefined || this.admission === undefined) return
    const own = this.roster.get(this.cert.body.peer)
    await this.admission.announce({ cert: this.cert, ...(own?.statement !== undefined ? { addrs: own.statement } : {}), retiring: this.retirement })
  }

  /** Take in the standing files: revocations dropped in the directory, a retirement started or asked to finish from the command line. */
  private async scanStanding (): Promise<void> {
    const admission = this.admission
    if (admission === undefined || this.finishing !== undefined) return
    try {
      for (const entry of readRevocationFiles(this.dir, (file, e) => { log.error('revocation file %s skipped: %s', file, e.message) })) {
        await admission.announce(entry).catch((e: Error) => { log.error('revocation of %s refused: %s', entry.cert.body.peer, e.message) })
      }
      const notice = readRetirementFile(this.dir)
      if (notice !== undefined && !this.roster.isRetiring(this.cert.body.peer)) {
        this.retirement = notice
        await this.announceRetirement()
      }
      if (finishRequested(this.dir)) void this.finishRetirement()
    } catch (e) {
      log.error('standing files: %s', (e as Error).message)
    }
  }

  /** URL of the metrics server, if running. */
  get metricsUrl (): string | undefined { return this.metricsServer?.url }

  /** Liveness and readiness for `/healthz`. */
  health (): { ok: boolean, peer: string, site: string, admitted: number, connected: number, shares: number, bootstrap?: BootstrapState } {
    return {
      ok: this.accepting,
      peer: this.cert.body.peer,
      site: this.config.site,
      admitted: this.roster.size(),
      connected: this.host?.getPeers().length ?? 0,
      shares: this.store?.countNow() ?? 0,
      ...(this.bootstrap !== undefined ? { bootstrap: this.bootstrap.state } : {})
    }
  }

  /**
   * The share held in `slot`, read from the store without any protocol (the
   * simulator measures live shares and exposure this way). The caller wipes
   * `share`. Undefined when none is held or the node is stopped.
   */
  async heldShare (slot: Uint8Array): Promise<ShareOnly | undefined> { return await this.store?.getShare(slot) }

  /** Every storage slot holding a share (read-only; empty while the node is stopped). */
  async * heldSlots (): AsyncIterable<Uint8Array> {
    if (this.store !== undefined && this.db !== undefined) yield * this.store.ids()
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
    if (budget.charge(peer, GATE_REFUSAL_WEIGHT, connection.remoteAddr)) connection.abort(new Error('peer is over its refusal budget'))
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

  /**
   * Stop taking requests, drain, and close everything. Safe to call twice.
   * `drainMs` bounds the wait for requests in flight (default
   * DRAIN_TIMEOUT_MS; 0 closes at once, leaving them unanswered, as a crash would).
   */
  async stop (options: { drainMs?: number } = {}): Promise<void> {
    if (!this.accepting && this.host === undefined && this.db === undefined) return
    this.accepting = false
    clearInterval(this.standingTimer)
    await this.bootstrap?.stop()
    this.bootstrap = undefined
    await this.reconciler?.stop()
    this.reconciler = undefined
    await this.sweeper?.stop()
    this.sweeper = undefined
    const deadline = Date.now() + Math.max(0, options.drainMs ?? DRAIN_TIMEOUT_MS)
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    await this.admission?.stop()
    await this.host?.stop()
    this.host = undefined
    this.replicas = undefined
    await this.metricsServer?.close()
    this.refusals?.close()
    this.refusals = undefined
    await this.audit?.flush()
    await this.db?.close()
    this.db = undefined
  }
}
