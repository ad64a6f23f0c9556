/**
 * Window updates ride along with the next frame instead of travelling alone.
 *
 * @chainsafe/libp2p-yamux answers every data frame with a window update of its
 * own, so a request and its answer on one stream cost four encrypted messages
 * instead of two, and each extra one wakes the peer with nothing to do. The
 * yamux spec lets a receiver grant window whenever it likes, so this wrapper
 * holds plain window updates back (bounded) and sends them with the next frame.
 *
 * @module
 */
import type { MessageStream, StreamMuxerFactory } from '@libp2p/interface'
import { concat } from '../crypto/bytes.ts'
import { FLUSH_DELTA, MAX_HELD_STREAMS } from './constants.ts'

/** Yamux header length (spec: version, type, flags, stream id, length). */
const HEADER_BYTES = 12
const TYPE_WINDOW_UPDATE = 0x01

type Sendable = Parameters<MessageStream['send']>[0]

/** The stream id and delta of a plain (flagless) window update frame, or undefined. */
function plainWindowUpdate (data: Sendable): { streamId: number, delta: number } | undefined {
  if (!(data instanceof Uint8Array) || data.byteLength !== HEADER_BYTES) return undefined
  if (data[0] !== 0 || data[1] !== TYPE_WINDOW_UPDATE || data[2] !== 0 || data[3] !== 0) return undefined
  const view = new DataView(data.buffer, data.byteOffset, HEADER_BYTES)
  const streamId = view.getUint32(4)
  if (streamId === 0) return undefined
  return { streamId, delta: view.getUint32(8) }
}

function windowUpdateFrame (streamId: number, delta: number): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES)
  const view = new DataView(frame.buffer)
  frame[1] = TYPE_WINDOW_UPDATE
  view.setUint32(4, streamId)
  view.setUint32(8, delta)
  return frame
}

/** Make `connection` hold plain window updates until the next frame or a bound. */
function deferring (connection: MessageStream): MessageStream {
  const send = connection.send.bind(connection)
  const held = new Map<number, number>()

  // Held updates first, then `data`, as one buffer: one encrypted message.
  const withHeld = (data?: Sendable): Uint8Array => {
    const parts: Uint8Array[] = []
    for (const [streamId, delta] of held) parts.push(windowUpdateFrame(streamId, delta))
    held.clear()
    if (data !== undefined) parts.push(data instanceof Uint8Array ? data : data.subarray())
    return concat(...parts)
  }

  connection.send = (data: Sendable): boolean => {
    const update = plainWindowUpdate(data)
    // Anything else, or a large grant (bulk transfer), goes now, with whatever is held.
    if (update === undefined || update.delta >= FLUSH_DELTA) return send(held.size === 0 ? data : withHeld(data))
    // Each held grant is < FLUSH_DELTA and a stream's sum is sent once it reaches it: no overflow.
    const delta = (held.get(update.streamId) ?? 0) + update.delta
    held.set(update.streamId, delta)
    if (delta >= FLUSH_DELTA || held.size >= MAX_HELD_STREAMS) return send(withHeld())
    return true
  }
  return connection
}

/**
 * Wrap a stream muxer factory (e.g. `yamux()`) so that its plain window
 * updates are sent together with its next frame on the same connection.
 *
 * go-yamux and the yamux spec's reference implementation already wait until
 * half the window is used. Plain window updates (no flags, small delta) are
 * held and sent, merged per stream, in front of the next frame the muxer
 * writes on that connection. Once a stream's held delta reaches
 * {@link FLUSH_DELTA} (a quarter of yamux's 256 KiB initial window), or
 * {@link MAX_HELD_STREAMS} streams have one, everything held goes out at once,
 * so a sender never sees less than three quarters of its window and a bulk
 * transfer never waits. Updates with flags (SYN, ACK, FIN, RST) are never
 * held: they change stream state, and they flush what is held.
 *
 * Only the yamux wire format (spec: 12-byte header) is read, not the muxer's
 * internals; a frame that is not a plain window update passes through
 * untouched, so a muxer that batches its own frames would simply see no change.
 *
 * @param factory - the muxer factory libp2p would otherwise be given
 * @returns a factory for the same muxer, writing through the deferring connection
 * @example streamMuxers: [deferredWindowUpdates(yamux())]
 */
export function deferredWindowUpdates<C> (factory: (components: C) => StreamMuxerFactory): (components: C) => StreamMuxerFactory {
  return (components: C) => {
    const inner = factory(components)
    // Everything but the entry point (protocol id, capabilities) is read from the factory itself.
    const outer = Object.create(inner) as StreamMuxerFactory
    outer.createStreamMuxer = (connection) => inner.createStreamMuxer(deferring(connection))
    return outer
  }
}
