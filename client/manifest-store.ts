/**
 * Manifests for the verifier library: published to and read from the DHT
 * under this client's own tenant (`/bioshard/<tenantTag>/<templateId>`
 * records, validated and selected by the same rules holders apply), at the
 * admitted nodes the roster puts closest to the key (net/record-replicas.ts),
 * and cached. Only manifests signed by that tenant enter the cache, and a cached
 * manifest is replaced only by a valid one with a higher `seq` (or an erased
 * one), so neither a stale cache, a poisoned DHT answer nor another tenant's
 * manifest for the same id can roll an erasure back or swap holders.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { toHex, equalBytes } from '../crypto/bytes.ts'
import { encodeManifest, checkManifest, type Manifest } from '../protocol/manifest.ts'
import { validateManifestRecord, prefers } from '../protocol/records.ts'
import { manifestKey } from '../protocol/ownership.ts'
import type { TrustAnchor } from '../protocol/certs.ts'
import { logger } from '../net/log.ts'
import type { RecordReplicas, ReplicaAnswer } from '../net/record-replicas.ts'
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
  private readonly replicas: RecordReplicas
  private readonly anchor: TrustAnchor
  /** The tenant whose manifests this store reads and keeps (the client's own). */
  readonly tenant: Uint8Array

  /**
   * @param replicas - where records go and are asked for: the client's DHT and roster
   * @param anchor - the network authority
   * @param tenant - the 32-byte key of the tenant this client acts for: only its manifests are looked up and kept
   */
  constructor (replicas: RecordReplicas, anchor: TrustAnchor, tenant: Uint8Array) {
    this.replicas = replicas
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
   * Publish at the record's replicas. Resolves once `replicas` of them stored
   * the record, or every request ended with at least one; the put keeps going
   * in the background to the rest (bounded by {@link PUBLISH_BACKGROUND_MS}),
   * so enrolment latency is not hostage to the slowest replica while
   * replication still reaches all of them.
   *
   * @throws {BioshardError} ERR_QUORUM_UNAVAILABLE when no replica stored it before `signal` fired
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
      const onStored = (): void => { if (++accepted >= replicas) settle() }
      void this.replicas.put(key, value, { signal: AbortSignal.timeout(PUBLISH_BACKGROUND_MS), onStored }).finally(() => {
        signal?.removeEventListener('abort', onAbort)
        settle()
      })
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
    // Bound the lookup ourselves too: an aborted query can linger on a stuck
    // dial, and a lookup must never outlive its caller's deadline.
    const bound = outer ?? AbortSignal.timeout(LOOKUP_DEFAULT_MS)
    const found = this.find(templateId, bound)
    const expired = new Promise<undefined>((resolve) => {
      if (bound.aborted) resolve(undefined)
      else bound.addEventListener('abort', () => { resolve(undefined) }, { once: true })
    })
    await Promise.race([found, expired])
    return this.cached(templateId)
  }

  /**
   * Ask the record's replicas; when none of them holds a valid record (a
   * roster that differs from the publisher's, replicas gone since), walk the
   * DHT as a last resort.
   */
  private async find (templateId: Uint8Array, outer: AbortSignal): Promise<void> {
    const key = manifestKey(this.tenant, templateId)
    if (await this.collect(key, (signal) => this.replicas.lookup(key, { signal }), outer) > 0 || outer.aborted) return
    await this.collect(key, (signal) => this.replicas.walk(key, { signal }), outer)
  }

  /** Take valid records from the answers into the cache until enough are in; returns how many were valid. */
  private async collect (key: Uint8Array, ask: (signal: AbortSignal) => AsyncGenerator<ReplicaAnswer>, outer: AbortSignal): Promise<number> {
    const stop = new AbortController()
    let valid = 0
    let grace: ReturnType<typeof setTimeout> | undefined
    try {
      for await (const answer of ask(AbortSignal.any([outer, stop.signal]))) {
        if (answer.value === undefined) continue
        try {
          const m = validateManifestRecord(key, answer.value, this.anchor)
          const id = toHex(m.body.templateId)
          if (supersedes(m, this.cache.get(id))) this.cache.set(id, m)
          // A few copies, or whatever arrives shortly after the first, are
          // enough: a stale active copy costs at most a refused fetch, since
          // holders keep tombstones and refuse erased ids themselves.
          if (++valid >= GET_REPLICAS) break
          grace ??= setTimeout(() => { stop.abort() }, GET_GRACE_MS)
        } catch (e) {
          log('ignoring invalid manifest record from %s: %s', answer.from, (e as Error).message)
        }
      }
    } catch (e) {
      log('manifest lookup ended early: %s', (e as Error).message)
    } finally {
      clearTimeout(grace)
      stop.abort()
    }
    return valid
  }
}
