/**
 * Manifests for the verifier library: published to and read from the DHT
 * under this client's own tenant (`/bioshard/<tenantTag>/<templateId>`
 * records, validated and selected by the same rules holders apply), and
 * cached. Only manifests signed by that tenant enter the cache, and a cached
 * manifest is replaced only by a valid one with a higher `seq` (or an erased
 * one), so neither a stale cache, a poisoned DHT answer nor another tenant's
 * manifest for the same id can roll an erasure back or swap holders.
 *
 * @module
 */
import { MessageType, type KadDHT } from '@libp2p/kad-dht'
import { BioshardError } from '../errors.ts'
import { toHex } from '../crypto/bytes.ts'
import { encodeManifest, checkManifest, type Manifest } from '../protocol/manifest.ts'
import { validateManifestRecord, prefers } from '../protocol/records.ts'
import { manifestKey } from '../protocol/ownership.ts'
import { equalBytes } from '../crypto/bytes.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { logger } from '../net/log.ts'
import { PUBLISH_REPLICAS, PUBLISH_BACKGROUND_MS, GET_REPLICAS, GET_GRACE_MS, LOOKUP_ATTEMPTS, LOOKUP_BACKOFF_MS, LOOKUP_DEFAULT_MS } from './constants.ts'

const log = logger('client:manifests')

/** True when `candidate` should replace `current`: erased wins, then higher seq. */
export function supersedes (candidate: Manifest, current: Manifest | undefined): boolean {
  if (current === undefined) return true
  return prefers(candidate.body, current.body)
}

/** The client's manifests: its cache, and DHT publish and lookup under its own tenant. */
export class ManifestStore {
  private readonly cache = new Map<string, Manifest>()
  private readonly dht: KadDHT
  private readonly anchor: TrustAnchor
  /** The tenant whose manifests this store reads and keeps (the client's own). */
  readonly tenant: Uint8Array

  /**
   * @param dht - the client's DHT
   * @param anchor - the network authority
   * @param tenant - the 32-byte key of the tenant this client acts for: only its manifests are looked up and kept
   */
  constructor (dht: KadDHT, anchor: TrustAnchor, tenant: Uint8Array) {
    this.dht = dht
    this.anchor = anchor
    this.tenant = tenant
  }

  /**
   * Remember a manifest this client made or verified (signature checked here).
   *
   * @throws {BioshardError} ERR_NOT_AUTHORISED for another tenant's manifest; the checks of checkManifest
   */
  remember (m: Manifest, now = Date.now()): void {
    if (!equalBytes(m.body.tenant, this.tenant)) throw new BioshardError('ERR_NOT_AUTHORISED', 'manifest belongs to another tenant')
    checkManifest(m, this.anchor, now, { ignoreExpiry: true })
    const id = toHex(m.body.templateId)
    if (supersedes(m, this.cache.get(id))) this.cache.set(id, m)
  }

  /** The cached manifest, if any (no network). */
  cached (templateId: Uint8Array): Manifest | undefined {
    return this.cache.get(toHex(templateId))
  }

  /**
   * Publish to the DHT. Resolves once `replicas` peers stored the record, or
   * the walk ends with at least one; the put keeps going in the background to
   * the remaining closest peers (bounded by {@link PUBLISH_BACKGROUND_MS}), so
   * enrolment latency is not hostage to the slowest peer of the walk while
   * replication still reaches all of them.
   *
   * @throws {BioshardError} ERR_QUORUM_UNAVAILABLE when no peer stored it before `signal` fired
   */
  async publish (m: Manifest, signal?: AbortSignal, replicas = PUBLISH_REPLICAS): Promise<number> {
    this.remember(m)
    const key = manifestKey(m.body.tenant, m.body.templateId)
    const value = encodeManifest(m)
    let accepted = 0
    return await new Promise<number>((resolve, reject) => {
      let settled = false
      const settle = (): void => {
        if (settled) return
        settled = true
        if (accepted > 0) resolve(accepted)
        else reject(new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no DHT peer stored the manifest record'))
      }
      const onAbort = (): void => { settle() }
      signal?.addEventListener('abort', onAbort, { once: true })
      void (async () => {
        try {
          for await (const evt of this.dht.put(key, value, { signal: AbortSignal.timeout(PUBLISH_BACKGROUND_MS) })) {
            if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.PUT_VALUE && ++accepted >= replicas) settle()
          }
        } catch (e) {
          log('manifest put ended early after %d replicas: %s', accepted, (e as Error).message)
        } finally {
          signal?.removeEventListener('abort', onAbort)
          settle()
        }
      })()
    })
  }

  /**
   * The manifest for `templateId`: the cache, refreshed from the DHT when
   * `refresh` is set or nothing is cached.
   *
   * @throws {BioshardError} ERR_NOT_FOUND when no valid record exists
   */
  async get (templateId: Uint8Array, options: { refresh?: boolean, signal?: AbortSignal } = {}): Promise<Manifest> {
    const cached = this.cached(templateId)
    if (cached !== undefined && options.refresh !== true) return cached
    // A client that just joined may not have DHT peers yet (identify runs
    // after the connection opens): a lookup then ends at once, empty. Retry
    // briefly before calling the template unknown.
    for (let attempt = 0; attempt < LOOKUP_ATTEMPTS; attempt++) {
      const found = await this.lookup(templateId, options.signal)
      log('lookup %d for %s: %s', attempt + 1, toHex(templateId).slice(0, 12), found === undefined ? 'nothing' : `seq ${found.body.seq}`)
      if (found !== undefined) return found
      if (options.signal?.aborted === true) break
      await new Promise((resolve) => setTimeout(resolve, LOOKUP_BACKOFF_MS * (attempt + 1)))
    }
    throw new BioshardError('ERR_NOT_FOUND', `no manifest for template ${toHex(templateId)}`)
  }

  private async lookup (templateId: Uint8Array, outer?: AbortSignal): Promise<Manifest | undefined> {
    // Bound the walk ourselves too: an aborted query can linger on a stuck
    // dial, and a lookup must never outlive its caller's deadline.
    const bound = outer ?? AbortSignal.timeout(LOOKUP_DEFAULT_MS)
    const walk = this.walk(templateId, bound)
    const expired = new Promise<undefined>((resolve) => {
      if (bound.aborted) resolve(undefined)
      else bound.addEventListener('abort', () => { resolve(undefined) }, { once: true })
    })
    await Promise.race([walk, expired])
    return this.cached(templateId)
  }

  private async walk (templateId: Uint8Array, outer: AbortSignal): Promise<void> {
    const options = { signal: outer }
    const key = manifestKey(this.tenant, templateId)
    const stop = new AbortController()
    const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
    let valid = 0
    let grace: ReturnType<typeof setTimeout> | undefined
    try {
      for await (const evt of this.dht.get(key, { signal })) {
        if (evt.name !== 'VALUE') continue
        try {
          const m = validateManifestRecord(key, evt.value, this.anchor)
          const id = toHex(templateId)
          if (supersedes(m, this.cache.get(id))) this.cache.set(id, m)
          // A few copies, or whatever arrives shortly after the first, are
          // enough: a stale active copy costs at most a refused fetch, since
          // holders keep tombstones and refuse erased ids themselves.
          if (++valid >= GET_REPLICAS) break
          grace ??= setTimeout(() => { stop.abort() }, GET_GRACE_MS)
        } catch (e) {
          log('ignoring invalid manifest record from %s: %s', evt.from.toString(), (e as Error).message)
        }
      }
    } catch (e) {
      log('DHT get ended early: %s', (e as Error).message)
    } finally {
      clearTimeout(grace)
      stop.abort()
    }
  }
}
