/**
 * A datastore in which a stored manifest record can only be replaced by one
 * the selector prefers (docs/architecture.md, "Trust rules"). kad-dht's
 * PUT_VALUE handler overwrites without consulting the selector, so any peer
 * could roll an erased manifest back to an active one, or a higher seq back to
 * a lower one; guarding the one place every record is written covers the PUT
 * handler, the node's own puts and kad-dht's record corrections alike.
 *
 * @module
 */
import { MemoryDatastore } from 'datastore-core/memory'
import { Libp2pRecord } from '@libp2p/record'
import type { Key } from 'interface-datastore'
import type { AbortOptions } from '@libp2p/interface'
import { equalBytes } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { decodeManifest } from '../protocol/manifest.ts'
import { prefers } from '../protocol/records.ts'
import { RECORD_NAMESPACE } from '../protocol/ownership.ts'

/** kad-dht keeps records under `<datastorePrefix>/record/<base32 key>`; its default prefix is `/dht`. */
const RECORD_PREFIX = '/dht/record/'
/** kad-dht keeps provider records under `<datastorePrefix>/provider/…`. */
const PROVIDER_PREFIX = '/dht/provider/'
const NAMESPACE_PREFIX = new TextEncoder().encode(`/${RECORD_NAMESPACE}/`)

function isManifestRecord (r: Libp2pRecord): boolean {
  return r.key.length > NAMESPACE_PREFIX.length && equalBytes(r.key.subarray(0, NAMESPACE_PREFIX.length), NAMESPACE_PREFIX)
}

/** Whether serialised record bytes are a record of the manifest namespace. */
function holdsManifestRecord (bytes: Uint8Array): boolean {
  try {
    return isManifestRecord(Libp2pRecord.deserialize(bytes))
  } catch {
    return false
  }
}

/**
 * Whether record bytes `incoming` may overwrite `stored` under one datastore key.
 * Identical values may (kad-dht refreshes a record's receive time); otherwise
 * the incoming manifest must be preferred by the selector.
 */
export function mayReplace (stored: Uint8Array, incoming: Uint8Array): boolean {
  let a: Libp2pRecord
  let b: Libp2pRecord
  try {
    a = Libp2pRecord.deserialize(stored)
    b = Libp2pRecord.deserialize(incoming)
  } catch {
    return true // not a record we can read: not ours to guard
  }
  if (!isManifestRecord(b)) return true
  if (equalBytes(a.value, b.value)) return true
  try {
    return prefers(decodeManifest(b.value).body, decodeManifest(a.value).body)
  } catch {
    // The stored value no longer decodes (it never should): let a valid one replace it.
    return true
  }
}

/**
 * An in-memory datastore (libp2p's default kind) whose `put` refuses to
 * replace a stored manifest record with one the selector does not prefer.
 * Writes to one key are serialised, so two racing PUTs cannot both pass the
 * check against the same stored record.
 *
 * It also keeps out everything else a peer could have kad-dht store: records
 * of namespaces the network never reads (kad-dht accepts `/pk/` records by
 * default) and provider records, whose ADD_PROVIDER handler also merges the
 * addresses the message carries into the address book, beside the node-signed
 * statements admission keeps capped and replaced. Neither is used by
 * bioshard, and both would let any admitted peer grow a node's memory without bound.
 */
export class GuardedDatastore extends MemoryDatastore {
  readonly #locks = new Map<string, Promise<unknown>>()

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    const k = key.toString()
    if (k.startsWith(PROVIDER_PREFIX)) throw new BioshardError('ERR_BAD_REQUEST', 'this network\'s DHT keeps no provider records')
    if (!k.startsWith(RECORD_PREFIX)) return super.put(key, val, options)
    if (!holdsManifestRecord(val)) throw new BioshardError('ERR_BAD_REQUEST', 'this network\'s DHT keeps manifest records only')
    const prev = this.#locks.get(k) ?? Promise.resolve()
    const mine = prev.catch(() => {}).then(() => {
      if (super.has(key) && !mayReplace(super.get(key) as Uint8Array, val)) {
        throw new BioshardError('ERR_CONFLICT', 'the stored manifest record is preferred over this one (erased wins, then higher seq)')
      }
      return super.put(key, val, options)
    })
    this.#locks.set(k, mine)
    try {
      return await mine
    } finally {
      if (this.#locks.get(k) === mine) this.#locks.delete(k)
    }
  }
}
