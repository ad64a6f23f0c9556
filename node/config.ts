/**
 * A site node's configuration: `config.json` in the node directory, written
 * by `bioshard node init` (mode 0600, never overwritten) and validated field
 * by field on every load. Environment variables override for containers:
 * `BIOSHARD_LISTEN`, `BIOSHARD_BOOTSTRAP` (comma-separated multiaddrs),
 * `BIOSHARD_METRICS` (`host:port`, or `off`).
 *
 * @module
 */
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { BioshardError } from '../errors.ts'
import { fromHex } from '../crypto/bytes.ts'
import { NAME, NETWORK_ID } from '../protocol/fields.ts'
import { readJsonFile, writeSecretFile } from '../keys/files.ts'
import { MAX_INBOUND_STREAMS, REQUEST_TIMEOUT_MS, STREAM_IDLE_MS } from './constants.ts'

export const CONFIG_VERSION = 1

/** Per-request limits of the holder protocols. */
export interface Limits {
  /** Deadline to read, serve and answer one request. @default 5000 */
  requestTimeoutMs: number
  /** Concurrent inbound streams per peer (over all its connections) per protocol. @default 64 */
  maxInboundStreams: number
  /** Invalid requests a peer may send within 10 minutes before it is dropped. @default 20 */
  invalidRequestBudget: number
  /** How long a stream may wait for its next request; longer than callers keep idle streams (10 s). @default 30000 */
  streamIdleMs: number
  /** Longest an audit entry waits in memory to share one write with others (a crash may lose that much). @default 20 */
  auditFlushMs: number
  /**
   * How long a stored share may wait for its manifest to be published before the node looks it up in
   * the DHT and, if the lookup finds none, drops the share (docs/storage.md). @default 600000 (10 minutes)
   */
  pendingGraceMs: number
  /** Window over which repeated refusals of one (peer, code) are counted into one audit entry (docs/operations.md). @default 300000 */
  auditWindowMs: number
  /** Most (peer, code) pairs counted per window; refusals beyond them share one overflow entry. @default 256 */
  auditRefusalKeys: number
}

export interface NodeConfig {
  version: number
  /** The site (organisation) this node belongs to; must match its certificate. */
  site: string
  /** Network id (`bsn-…`) of the authority that admits this node. */
  network: string
  /** Authority public keys (hex) whose certificates this node trusts. */
  authorities: string[]
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/4100'] */
  listen: string[]
  /** Multiaddrs (with /p2p/<id>) of peers to join through. @default [] */
  bootstrap: string[]
  /** `host:port` for `/metrics` and `/healthz`, or null for none. @default null */
  metrics: string | null
  limits: Limits
}

export const DEFAULT_LIMITS: Limits = {
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  maxInboundStreams: MAX_INBOUND_STREAMS,
  invalidRequestBudget: 20,
  streamIdleMs: STREAM_IDLE_MS,
  auditFlushMs: 20,
  // An enrolment publishes its manifest seconds after its stores; ten minutes leaves room for a slow DHT.
  pendingGraceMs: 10 * 60_000,
  // Five minutes: a burst of refusals is one entry per peer and code, while a
  // refusal's first occurrence is still written at once.
  auditWindowMs: 5 * 60_000,
  // Bounds the log's growth under refusals to (2 · 256 + 1) entries a window (docs/operations.md).
  auditRefusalKeys: 256
}

/** Limits with a tighter ceiling than the generic one. */
const LIMIT_MAX: Partial<Limits> = {
  // Entries waiting this long are what a crash loses: seconds, not hours.
  auditFlushMs: 10_000,
  // The bound on audit growth is per window: hours would hold counts back for hours.
  auditWindowMs: 60 * 60_000,
  auditRefusalKeys: 65_536
}

function fail (field: string, why: string): never {
  throw new BioshardError('ERR_CONFIG', `config.${field} ${why}`)
}

function multiaddrs (value: unknown, field: string): string[] {
  if (!Array.isArray(value)) fail(field, 'must be an array of multiaddrs')
  return value.map((a, i) => {
    if (typeof a !== 'string') fail(`${field}[${i}]`, 'must be a string')
    try { multiaddr(a) } catch { fail(`${field}[${i}]`, `is not a valid multiaddr: ${a}`) }
    return a
  })
}

/** Parse `host:port` for the metrics server. */
export function parseHostPort (value: string, field: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  if (m === null || Number(m[2]) > 65535) fail(field, `must be host:port, got ${value}`)
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

/**
 * Validate a parsed config object field by field.
 *
 * @throws {BioshardError} ERR_CONFIG naming the first bad field
 */
export function validateConfig (value: unknown): NodeConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BioshardError('ERR_CONFIG', 'config must be a JSON object')
  const v = value as Record<string, unknown>
  const known = ['version', 'site', 'network', 'authorities', 'listen', 'bootstrap', 'metrics', 'limits']
  for (const k of Object.keys(v)) if (!known.includes(k)) fail(k, 'is not a known setting')
  if (v.version !== CONFIG_VERSION) fail('version', `must be ${CONFIG_VERSION}`)
  if (typeof v.site !== 'string' || !NAME.test(v.site)) fail('site', 'must be a name (letters, digits, space . _ @ : / -)')
  if (typeof v.network !== 'string' || !NETWORK_ID.test(v.network)) fail('network', 'must look like bsn-<16 hex>')
  if (!Array.isArray(v.authorities) || v.authorities.length === 0) fail('authorities', 'must list at least one authority public key')
  const authorities = v.authorities.map((a, i) => {
    if (typeof a !== 'string' || !/^[0-9a-f]{64}$/.test(a)) fail(`authorities[${i}]`, 'must be 64 hex characters')
    return a
  })
  const listen = multiaddrs(v.listen ?? ['/ip4/0.0.0.0/tcp/4100'], 'listen')
  const bootstrap = multiaddrs(v.bootstrap ?? [], 'bootstrap')
  let metrics: string | null = null
  if (v.metrics !== undefined && v.metrics !== null) {
    if (typeof v.metrics !== 'string') fail('metrics', 'must be host:port or null')
    parseHostPort(v.metrics, 'metrics')
    metrics = v.metrics
  }
  const limits = { ...DEFAULT_LIMITS }
  if (v.limits !== undefined) {
    if (typeof v.limits !== 'object' || v.limits === null) fail('limits', 'must be an object')
    for (const [k, n] of Object.entries(v.limits)) {
      // Own names only: `in` would also take inherited ones (toString, __proto__) as limits.
      if (!Object.hasOwn(DEFAULT_LIMITS, k)) fail(`limits.${k}`, 'is not a known limit')
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10_000_000) fail(`limits.${k}`, 'must be a positive integer')
      const most = LIMIT_MAX[k as keyof Limits]
      if (most !== undefined && n > most) fail(`limits.${k}`, `must be at most ${most}`)
      limits[k as keyof Limits] = n
    }
  }
  return { version: CONFIG_VERSION, site: v.site, network: v.network, authorities, listen, bootstrap, metrics, limits }
}

/** Apply environment overrides (containers). */
export function applyEnv (config: NodeConfig, env: NodeJS.ProcessEnv): NodeConfig {
  const out = { ...config }
  const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0)
  if (env.BIOSHARD_LISTEN !== undefined) out.listen = multiaddrs(list(env.BIOSHARD_LISTEN), 'listen (BIOSHARD_LISTEN)')
  if (env.BIOSHARD_BOOTSTRAP !== undefined) out.bootstrap = multiaddrs(list(env.BIOSHARD_BOOTSTRAP), 'bootstrap (BIOSHARD_BOOTSTRAP)')
  if (env.BIOSHARD_METRICS !== undefined) {
    out.metrics = env.BIOSHARD_METRICS === 'off' ? null : env.BIOSHARD_METRICS
    if (out.metrics !== null) parseHostPort(out.metrics, 'metrics (BIOSHARD_METRICS)')
  }
  return out
}

export const CONFIG_FILE = 'config.json'

/** Load and validate `<dir>/config.json`. */
export function loadConfig (dir: string, env: NodeJS.ProcessEnv = {}): NodeConfig {
  return applyEnv(validateConfig(readJsonFile(join(dir, CONFIG_FILE), 'node config')), env)
}

/** Write a new config (0600, refusing to overwrite) after validating it. */
export function writeConfig (dir: string, config: NodeConfig): void {
  writeSecretFile(join(dir, CONFIG_FILE), JSON.stringify(validateConfig(config), null, 2) + '\n')
}

/** Authority keys of a config as bytes. */
export function authorityKeys (config: NodeConfig): Uint8Array[] {
  return config.authorities.map((a) => fromHex(a, 'authority'))
}
