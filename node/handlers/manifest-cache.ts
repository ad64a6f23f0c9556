/**
 * Decoded manifests of held templates, each with the digest of its stored
 * bytes (computed once, on load). Their signatures were checked when the
 * share was stored; each fetch re-checks only the validity windows. Fetch
 * reads it and erase drops an id from it, so both handlers are given the one
 * cache of their node.
 *
 * @module
 */
import { decodeManifest, type Manifest } from '../../protocol/manifest.ts'
import { manifestDigest } from '../../protocol/seal-binding.ts'
import { toHex } from '../../crypto/bytes.ts'
import { setBounded } from '../../crypto/bounded-map.ts'
import type { ShareStore } from '../store/share-store.ts'
import { MANIFEST_CACHE_MAX } from '../constants.ts'

/** Where the cache loads a manifest from on a miss: the node's share store. */
export type ManifestSource = Pick<ShareStore, 'getManifest'>

/**
 * The decoded manifests of one node, bounded.
 *
 * @example
 * const manifests = new ManifestCache(store)
 * const m = await manifests.get(slot)
 */
export class ManifestCache {
  private readonly cache = new Map<string, Manifest>()
  private readonly digests = new WeakMap<Manifest, Uint8Array>()
  private readonly source: ManifestSource
  private readonly max: number

  /**
   * @param source - the store manifests are read from on a miss
   * @param max - manifests kept; the oldest goes first
   */
  constructor (source: ManifestSource, max = MANIFEST_CACHE_MAX) {
    this.source = source
    this.max = max
  }

  /** The `manifestDigest` of the stored bytes `m` was decoded from (`m` from {@link get}). */
  digest (m: Manifest): Uint8Array {
    const d = this.digests.get(m)
    if (d === undefined) throw new TypeError('manifest did not come from this cache')
    return d
  }

  /** The manifest stored under `slot`, decoded, or undefined when none is held. */
  async get (slot: Uint8Array): Promise<Manifest | undefined> {
    const id = toHex(slot)
    const hit = this.cache.get(id)
    if (hit !== undefined) return hit
    const bytes = await this.source.getManifest(slot)
    if (bytes === undefined) return undefined
    const m = decodeManifest(bytes)
    this.digests.set(m, manifestDigest(bytes))
    setBounded(this.cache, id, m, this.max)
    return m
  }

  /** Forget `slot` (after an erase). */
  drop (slot: Uint8Array): void { this.cache.delete(toHex(slot)) }
}
