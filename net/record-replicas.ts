/**
 * Manifest records at their replicas: the admitted nodes closest to the
 * record's key, computed from the roster, asked directly.
 *
 * kad-dht finds a key's closest peers with an iterative walk (about 21
 * `FIND_NODE` requests in a 40-node network) before every put and every get.
 * The roster already names every admitted node, so the closest ones are a
 * local computation over authority-signed entries, as placement does for
 * shares (protocol/placement.ts): the same XOR metric kad-dht uses (SHA-256 of
 * the record key against SHA-256 of each peer id), without the walk, and
 * without trusting any peer's answer about who is closer (a hostile node on a
 * walk's path can steer it; it cannot change the roster). Requests go over
 * the DHT's own protocol (`/bioshard/kad/1.0.0`, `PUT_VALUE` and
 * `GET_VALUE`), so the records land in the same store, pass the same
 * validator and record guard, and any peer's walk still finds them.
 *
 * A replica that does not answer or refuses is replaced by the next closest
 * admitted node, so a down node costs one request, not a missing replica.
 * Where kad-dht does not expose its request sender (another version), or the
 * roster is empty, both operations fall back to the walk.
 *
 * Library code (the sender) is kad-dht's own; only the choice of peers is
 * ours, because no library computes a Kademlia neighbourhood from a roster.
 *
 * @module
 */
import { MessageType, Record as DhtRecord, type KadDHT, type QueryEvent } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { sha256 } from '../crypto/hash.ts'
import { compareDistance, dhtKeyOf } from '../protocol/placement.ts'
import { MANIFEST_REPLICAS } from './constants.ts'
import type { Roster } from './roster.ts'
import { logger } from './log.ts'

const log = logger('net:replicas')

/** One replica's answer to a lookup: the record value it holds, or none. */
export interface ReplicaAnswer {
  /** The peer that answered. */
  from: string
  /** The record value it holds under the key; undefined when it holds none. */
  value: Uint8Array | undefined
}

/** kad-dht's request sender, as this module uses it (its `network`, not part of its typed interface). */
interface RequestSender {
  sendRequest: (to: PeerId, msg: { type: MessageType, key: Uint8Array, record?: Uint8Array }, options: { signal?: AbortSignal }) => AsyncIterable<QueryEvent>
}

/** What a {@link RecordReplicas} works with. */
export interface RecordReplicasInit {
  dht: KadDHT
  /**
   * The admitted nodes that may hold records (peer ids): the roster, without
   * nodes that are leaving. Absent: every operation walks the DHT.
   */
  peers?: () => readonly string[]
  /** This host's own peer id when it is a node: never asked, since its own store is not reached over the network. */
  self?: string
  /** How many replicas a record is put to and a lookup asks. @default MANIFEST_REPLICAS */
  replicas?: number
}

/** What a put or lookup may be given. */
export interface ReplicaOptions {
  signal?: AbortSignal
}

function senderOf (dht: KadDHT): RequestSender | undefined {
  const network = (dht as unknown as { network?: Partial<RequestSender> }).network
  return typeof network?.sendRequest === 'function' ? network as RequestSender : undefined
}

/**
 * `peers` ordered by Kademlia distance to the record key `key`, closest first
 * (kad-dht's metric: SHA-256 of the key against SHA-256 of each peer id).
 *
 * @example const [first] = closestTo(manifestKey(tenant, id), roster.list().map((e) => e.peer))
 */
export function closestTo (key: Uint8Array, peers: readonly string[]): string[] {
  const target = sha256(key)
  return [...peers].sort((a, b) => compareDistance(dhtKeyOf(a), dhtKeyOf(b), target))
}

/** The record sent in a `PUT_VALUE`: kad-dht's own envelope around the value. */
function putMessage (key: Uint8Array, value: Uint8Array): { type: MessageType, key: Uint8Array, record: Uint8Array } {
  return { type: MessageType.PUT_VALUE, key, record: new DhtRecord(key, value, new Date()).serialize() }
}

/** Put and look up records at the roster's closest admitted nodes (see the module comment). */
export class RecordReplicas {
  readonly #dht: KadDHT
  readonly #sender: RequestSender | undefined
  readonly #peers: (() => readonly string[]) | undefined
  readonly #self: string | undefined
  /** How many replicas a record is put to and a lookup asks. */
  readonly replicas: number

  /**
   * Replicas over a roster: its admitted nodes that are not retiring.
   *
   * @example const replicas = RecordReplicas.overRoster(host.services.dht, roster)
   */
  static overRoster (dht: KadDHT, roster: Roster, self?: string): RecordReplicas {
    const peers = (): string[] => roster.list().filter((e) => e.retiring === undefined).map((e) => e.peer)
    return new RecordReplicas({ dht, peers, ...(self !== undefined ? { self } : {}) })
  }

  constructor (init: RecordReplicasInit) {
    this.#dht = init.dht
    this.#sender = senderOf(init.dht)
    this.#peers = init.peers
    this.#self = init.self
    this.replicas = init.replicas ?? MANIFEST_REPLICAS
  }

  /** Every admitted node other than this one, closest to `key` first; empty when there is no roster. */
  private ranked (key: Uint8Array): string[] {
    if (this.#peers === undefined) return []
    return closestTo(key, this.#peers().filter((p) => p !== this.#self))
  }

  /**
   * Put `value` under `key` at {@link replicas} admitted nodes: the closest
   * first, the next closest in place of one that does not store it (at most
   * twice as many asked as needed). `onStored` runs as each replica stores
   * it. Resolves when every request has ended; never throws.
   *
   * @returns how many replicas stored the record
   */
  async put (key: Uint8Array, value: Uint8Array, options: ReplicaOptions & { onStored?: (peer: string) => void } = {}): Promise<number> {
    const ranked = this.ranked(key)
    const sender = this.#sender
    if (sender === undefined || ranked.length === 0) return await this.walkPut(key, value, options)
    const msg = putMessage(key, value)
    const want = Math.min(this.replicas, ranked.length)
    const limit = Math.min(ranked.length, 2 * this.replicas)
    let next = 0
    let stored = 0
    const one = async (): Promise<void> => {
      while (next < limit && stored < want && options.signal?.aborted !== true) {
        const peer = ranked[next++]
        if (await this.sendPut(sender, peer, msg, options.signal)) {
          stored++
          options.onStored?.(peer)
          return
        }
      }
    }
    await Promise.all(Array.from({ length: want }, one))
    return stored
  }

  private async sendPut (sender: RequestSender, peer: string, msg: ReturnType<typeof putMessage>, signal?: AbortSignal): Promise<boolean> {
    try {
      for await (const evt of sender.sendRequest(peerIdFromString(peer), msg, signal !== undefined ? { signal } : {})) {
        if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.PUT_VALUE) return true
        if (evt.name === 'QUERY_ERROR') { log('put to %s failed: %s', peer, evt.error.message); return false }
      }
    } catch (e) {
      log('put to %s failed: %s', peer, (e as Error).message)
    }
    return false
  }

  private async walkPut (key: Uint8Array, value: Uint8Array, options: ReplicaOptions & { onStored?: (peer: string) => void }): Promise<number> {
    let stored = 0
    try {
      for await (const evt of this.#dht.put(key, value, options.signal !== undefined ? { signal: options.signal } : {})) {
        if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.PUT_VALUE) {
          stored++
          options.onStored?.(evt.from.toString())
        }
      }
    } catch (e) {
      log('walk put ended after %d replicas: %s', stored, (e as Error).message)
    }
    return stored
  }

  /**
   * Ask {@link replicas} admitted nodes closest to `key` for its record, in
   * parallel, the next closest in place of one that does not answer; yields
   * each answer as it arrives (a value, or none held). Stopping the
   * iteration cancels what is still asked. Without a roster or kad-dht's
   * sender, the answers are those of a DHT walk.
   */
  async * lookup (key: Uint8Array, options: ReplicaOptions = {}): AsyncGenerator<ReplicaAnswer> {
    const ranked = this.ranked(key)
    const sender = this.#sender
    if (sender === undefined || ranked.length === 0) {
      yield * this.walk(key, options)
      return
    }
    const stop = new AbortController()
    const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
    const want = Math.min(this.replicas, ranked.length)
    const limit = Math.min(ranked.length, 2 * this.replicas)
    const ready: ReplicaAnswer[] = []
    let wake: (() => void) | undefined
    let next = 0
    const asking = new Set<number>()
    const one = async (slot: number): Promise<void> => {
      while (next < limit && !signal.aborted) {
        const peer = ranked[next++]
        const answer = await this.sendGet(sender, peer, key, signal)
        if (answer !== undefined) { ready.push(answer); break }
      }
      asking.delete(slot)
      wake?.()
    }
    const onAbort = (): void => { wake?.() }
    signal.addEventListener('abort', onAbort, { once: true })
    for (let i = 0; i < want; i++) asking.add(i)
    for (let i = 0; i < want; i++) void one(i)
    try {
      while (asking.size > 0 || ready.length > 0) {
        const answer = ready.shift()
        if (answer !== undefined) { yield answer; continue }
        if (signal.aborted) break
        await new Promise<void>((resolve) => { wake = resolve })
        wake = undefined
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      stop.abort()
    }
  }

  /** One `GET_VALUE` to `peer`: its answer, or undefined when it gave none. */
  private async sendGet (sender: RequestSender, peer: string, key: Uint8Array, signal: AbortSignal): Promise<ReplicaAnswer | undefined> {
    try {
      for await (const evt of sender.sendRequest(peerIdFromString(peer), { type: MessageType.GET_VALUE, key }, { signal })) {
        if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.GET_VALUE) return { from: peer, value: evt.record?.value }
        if (evt.name === 'QUERY_ERROR') return undefined
      }
    } catch (e) {
      if (!signal.aborted) log('lookup at %s failed: %s', peer, (e as Error).message)
    }
    return undefined
  }

  /** The answers of a DHT walk for `key`, whatever the roster says: a last resort when the replicas hold nothing. */
  async * walk (key: Uint8Array, options: ReplicaOptions = {}): AsyncGenerator<ReplicaAnswer> {
    try {
      for await (const evt of this.#dht.get(key, options.signal !== undefined ? { signal: options.signal } : {})) {
        if (evt.name === 'PEER_RESPONSE' && evt.messageType === MessageType.GET_VALUE) yield { from: evt.from.toString(), value: evt.record?.value }
      }
    } catch (e) {
      if (options.signal?.aborted !== true) log('DHT walk ended early: %s', (e as Error).message)
    }
  }
}
