/**
 * A bounded cache of public keys imported as KeyObjects, by their raw bytes.
 * Importing a raw key into node:crypto costs more than the operation it is
 * imported for, and the same few keys (authority, tenants, nodes) recur. Public
 * keys only: nothing here is secret, so there is nothing to wipe.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto'
import { aint } from './bytes.ts'
import { setBounded } from './bounded-map.ts'

/** How a {@link PublicKeyCache} is sized and fills itself. */
export interface PublicKeyCacheInit {
  /** keys held at once; the oldest is dropped first */
  max: number
  /** imports one raw public key (throws on a malformed one, which is then not cached) */
  importKey: (raw: Uint8Array) => KeyObject
}

/**
 * Raw public key → KeyObject, at most `max` entries, oldest out first.
 *
 * @example
 * const keys = new PublicKeyCache({ max: 4096, importKey: importEd25519 })
 * nodeVerify(null, message, keys.get(publicKey), signature)
 */
export class PublicKeyCache {
  readonly #map = new Map<string, KeyObject>()
  readonly #max: number
  readonly #importKey: (raw: Uint8Array) => KeyObject

  /** @throws {TypeError|RangeError} naming `max` when it is not a positive integer */
  constructor (init: PublicKeyCacheInit) {
    this.#max = aint(init.max, 1, Number.MAX_SAFE_INTEGER, 'max')
    this.#importKey = init.importKey
  }

  /** The KeyObject of `raw`, imported on first use. */
  get (raw: Uint8Array): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')
    let key = this.#map.get(id)
    if (key === undefined) {
      key = this.#importKey(raw)
      setBounded(this.#map, id, key, this.#max)
    }
    return key
  }

  /** Keys held now. */
  get size (): number { return this.#map.size }

  /** Drop every key. */
  clear (): void { this.#map.clear() }
}
