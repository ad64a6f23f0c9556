/**
 * Reusable request streams, one pool per libp2p host.
 *
 * Opening a stream per request costs a yamux open/close and a
 * multistream-select negotiation each time, most of a small request's latency
 * on loopback. The holder protocols therefore let a stream carry one request
 * after another (see {@link serve}); this pool keeps the streams a caller has
 * finished with, per peer and protocol, and hands them out again.
 *
 * @module
 */
import { lpStream } from '@libp2p/utils'
import type { Libp2p, Stream } from '@libp2p/interface'
import { POOL_IDLE_MS, POOL_MAX_IDLE } from './constants.ts'

/** A stream with its length-prefixed reader/writer (which buffers across reads, so both travel together). */
export interface Channel {
  readonly stream: Stream
  readonly lp: ReturnType<typeof lpStream>
}

interface Idle { channel: Channel, timer: ReturnType<typeof setTimeout> }

/** Whether both directions of a stream are still open. */
function usable (stream: Stream): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.readStatus === 'readable' && stream.remoteWriteStatus === 'writable'
}

/**
 * Idle request streams of one host, keyed by peer and protocol.
 *
 * A stream is put back only after an exchange that ended in a success frame;
 * a refusal, an error or a timeout ends the stream instead, so a pooled
 * stream is always between two well-formed exchanges. Idle streams are
 * closed after {@link POOL_IDLE_MS} (well before holders give up on them),
 * and a stream found closed when taken is dropped.
 *
 * @example
 * const pool = streamPool(libp2p)
 * const ch = pool.take(key) ?? await open()
 * // … one exchange …
 * pool.give(key, ch)
 */
export class StreamPool {
  private readonly idle = new Map<string, Idle[]>()
  private readonly maxIdle: number
  private readonly idleMs: number

  constructor (maxIdle = POOL_MAX_IDLE, idleMs = POOL_IDLE_MS) {
    this.maxIdle = maxIdle
    this.idleMs = idleMs
  }

  /** An idle, still-open stream for `key`, or undefined. */
  take (key: string): Channel | undefined {
    const list = this.idle.get(key)
    if (list === undefined) return undefined
    let found: Channel | undefined
    while (found === undefined && list.length > 0) {
      const { channel, timer } = list.pop() as Idle
      clearTimeout(timer)
      if (usable(channel.stream)) found = channel
      else channel.stream.abort(new Error('stream closed while idle'))
    }
    if (list.length === 0) this.idle.delete(key)
    return found
  }

  /** Return a stream after a successful exchange; closed instead when the pool for `key` is full. */
  give (key: string, channel: Channel): void {
    let list = this.idle.get(key)
    if (list === undefined) { list = []; this.idle.set(key, list) }
    if (list.length >= this.maxIdle || !usable(channel.stream)) {
      if (list.length === 0) this.idle.delete(key)
      void channel.stream.close().catch(() => {})
      return
    }
    const entry: Idle = {
      channel,
      timer: setTimeout(() => {
        const current = this.idle.get(key)
        const at = current?.indexOf(entry) ?? -1
        if (current !== undefined && at >= 0) {
          current.splice(at, 1)
          if (current.length === 0) this.idle.delete(key)
        }
        void channel.stream.close().catch(() => {})
      }, this.idleMs)
    }
    entry.timer.unref()
    list.push(entry)
  }

  /** Idle streams held (all keys). */
  get size (): number {
    let n = 0
    for (const list of this.idle.values()) n += list.length
    return n
  }

  /** Close every idle stream. */
  clear (): void {
    for (const list of this.idle.values()) {
      for (const { channel, timer } of list) {
        clearTimeout(timer)
        channel.stream.abort(new Error('stream pool cleared'))
      }
    }
    this.idle.clear()
  }
}

const pools = new WeakMap<Libp2p, StreamPool>()

/** The stream pool of `libp2p` (created on first use; it goes when the host does). */
export function streamPool (libp2p: Libp2p): StreamPool {
  let pool = pools.get(libp2p)
  if (pool === undefined) { pool = new StreamPool(); pools.set(libp2p, pool) }
  return pool
}
