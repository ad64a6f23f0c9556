/**
 * Window updates ride along with the next frame instead of travelling alone.
 *
 * @chainsafe/libp2p-yamux answers every data frame it receives with a window
 * update of its own (go-yamux and the yamux spec's reference implementation
 * wait until half the window is used). For a request and its answer on one
 * stream that is four encrypted messages instead of two: the holder sends a
 * window update as soon as the request arrives and the answer later, and the
 * caller's window update for the answer wakes the holder once more with
 * nothing to do. On two cores every wake-up is CPU the next verification
 * does not get.
 *
 * The yamux spec lets a receiver grant window whenever it likes, so this
 * wrapper holds back plain window updates (no flags, small delta) and sends
 * them, merged per stream, in front of the next frame the muxer writes on
 * that connection. What it holds is bounded: once a stream's held delta
 * reaches {@link FLUSH_DELTA} (a quarter of yamux's 256 KiB initial window),
 * or {@link MAX_HELD_STREAMS} streams have one, everything held goes out at
 * once, so a sender never sees less than three quarters of its window and a
 * bulk transfer never waits. Updates with flags (SYN, ACK, FIN, RST) are
 * never held: they change stream state, and they flush what is held.
 *
 * The wrapper reads only the yamux wire format (spec: 12-byte header), not
 * the muxer's internals; a frame it does not recognise as a plain window
 * update passes through untouched, so a muxer that batches its own frames
 * would simply see no change.
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
