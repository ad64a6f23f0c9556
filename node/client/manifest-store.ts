/**
 * Manifests for the verifier library: published to and read from the DHT
 * (`/bioshard/<templateId>` records, validated and selected by the same rules
 * holders apply), and cached. A cached manifest is replaced only by a valid
 * one with a higher `seq` (or an erased one), so neither a stale cache nor a
 * poisoned DHT answer can roll an erasure back or swap holders.
 *
 * @module
 */
import type { KadDHT } from '@libp2p/kad-dht'
import { BioshardError } from '../../crypto/errors.ts'
import { toHex } from '../../crypto/bytes.ts'
import { encodeManifest, checkManifest, type Manifest } from '../../protocol/manifest.ts'
import { manifestKey, validateManifestRecord } from '../../protocol/records.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { logger } from '../log.ts'

const log = logger('client:manifests')

/** True when `candidate` should replace `current`: erased wins, then higher seq. */
export function supersedes (candidate: Manifest, current: Manifest | undefined): boolean {
  if (current === undefined) return true
  if (current.body.state === 'erased') return false
  if (candidate.body.state === 'erased') return true
  return candidate.body.seq > current.body.seq
}

export class ManifestStore {
  private readonly cache = new Map<string, Manifest>()
  private readonly dht: KadDHT
  private readonly anchor: TrustAnchor

  constructor (dht: KadDHT, anchor: TrustAnchor) {
    this.dht = dht
    this.anchor = anchor
  }

  /** Remember a manifest this client made or verified (signature checked here). */
  remember (m: Manifest, now = Date.now()): void {
    checkManifest(m, this.anchor, now, { ignoreExpiry: true })
    const id = toHex(m.body.templateId)
    if (supersedes(m, this.cache.get(id))) this.cache.set(id, m)
  }

  /** The cached manifest, if any (no network). */
  cached (templateId: Uint8Array): Manifest | undefined {
    return this.cache.get(toHex(templateId))
  }

  /** Publish to the DHT; resolves when at least one peer accepted the record. */
  async publish (m: Manifest, signal?: AbortSignal): Promise<void> {
    this.remember(m)
    const key = manifestKey(m.body.templateId)
    let accepted = 0
    for await (const evt of this.dht.put(key, encodeManifest(m), { signal })) {
      if (evt.name === 'PEER_RESPONSE') accepted++
    }
    if (accepted === 0) throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no DHT peer accepted the manifest record')
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
    const key = manifestKey(templateId)
    try {
      for await (const evt of this.dht.get(key, { signal: options.signal })) {
        if (evt.name !== 'VALUE') continue
        try {
          const m = validateManifestRecord(key, evt.value, this.anchor)
          const id = toHex(templateId)
          if (supersedes(m, this.cache.get(id))) this.cache.set(id, m)
        } catch (e) {
          log('ignoring invalid manifest record from %s: %s', evt.from.toString(), (e as Error).message)
        }
      }
    } catch (e) {
      log('DHT get failed: %s', (e as Error).message)
    }
    const found = this.cached(templateId)
    if (found === undefined) throw new BioshardError('ERR_NOT_FOUND', `no manifest for template ${toHex(templateId)}`)
    return found
  }
}
