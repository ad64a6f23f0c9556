/**
 * The stream-level abuse an admitted peer can commit against a node, as
 * single moves: open streams and leave them silent, trickle a request a byte
 * at a time, send the same bytes again. The outcome tests
 * (test/node/abuse.test.ts) make each move once; the sustained attacks of the
 * `under-attack` benchmark (attack.ts) repeat them from fresh identities.
 */
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { readFrame } from '../../protocol/frame.ts'
import { request } from '../../net/rpc.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'

/** How long one stream may take to open (ms): only ends an open that hangs on a busy machine. */
const OPEN_TIMEOUT_MS = 10_000
/** The length prefix a slow sender announces: a 1 KiB request (varint 1024), of which it sends a byte at a time. */
const SLOW_PREFIX = Uint8Array.of(0x80, 0x08)
/** What an answer to abuse may weigh: a refusal frame is far smaller. */
const ANSWER_MAX_BYTES = 4096

/** The code an operation failed with ('ok' when it did not): a BioshardError's code, else the error's name. */
export async function outcomeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error)?.name ?? 'error'
  }
}

/** What {@link answerOf} reports for a stream the node ended without an answer frame (a reset, a close). */
export const UNANSWERED = 'closed unanswered'

/**
 * Read the node's one answer frame on `stream`.
 *
 * @returns 'ok' for a success frame, the refusal's code, or {@link UNANSWERED}
 */
export async function answerOf (stream: Stream): Promise<string> {
  const lp = lpStream(stream, { maxDataLength: ANSWER_MAX_BYTES })
  const outcome = await outcomeOf((async () => { readFrame((await lp.read()).subarray(), ANSWER_MAX_BYTES, 'node') })())
  return outcome === 'ok' || outcome.startsWith('ERR_') ? outcome : UNANSWERED
}

/**
 * Open `count` streams on `protocol` to `peer` at once and send nothing on
 * them. Streams over the node's per-connection limit are refused; the rest
 * stay open until the node's read deadline ends them.
 *
 * @returns the streams the node let open
 */
export async function openSilentStreams (host: Libp2p, peer: PeerId, protocol: string, count: number): Promise<Stream[]> {
  const opened = await Promise.all(Array.from({ length: count }, async () =>
    await host.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(OPEN_TIMEOUT_MS) }).catch(() => undefined)))
  return opened.filter((s): s is Stream => s !== undefined)
}

/** A stream trickling a request; `ended` settles with the node's answer code once the node ends the stream. */
export interface SlowSender {
  stream: Stream
  /** The code of the node's answer ('ok' would be a served request), or the error that ended the stream. */
  ended: Promise<string>
  /** Stop sending and abort the stream. */
  stop: () => Promise<void>
}

/**
 * Open a stream on `protocol` and trickle a request down it: a length
 * prefix announcing 1 KiB, then one byte every `byteMs` until the node ends
 * the stream (or {@link SlowSender.stop}).
 *
 * @throws when the stream cannot be opened
 */
export async function slowSender (host: Libp2p, peer: PeerId, protocol: string, byteMs: number): Promise<SlowSender> {
  const stream = await host.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(OPEN_TIMEOUT_MS) })
  let stopped = false
  const ended = answerOf(stream)
  void ended.then(() => { stopped = true })
  const trickle = (async () => {
    // A stream the node resets (over its stream limit) ends the trickle at the next send.
    for (let next = SLOW_PREFIX; !stopped && stream.writeStatus === 'writable'; next = Uint8Array.of(0)) {
      try { stream.send(next) } catch { stopped = true }
      await new Promise((resolve) => setTimeout(resolve, byteMs))
    }
  })()
  return {
    stream,
    ended,
    stop: async () => {
      stopped = true
      stream.abort(new Error('slow sender stopped'))
      await trickle
    }
  }
}

/**
 * Send `bytes` as a fetch request to `peer` (a replay when they were sent
 * before).
 *
 * @returns 'ok' when the node served them, else the refusal's code
 */
export async function sendFetchBytes (host: Libp2p, peer: PeerId, bytes: Uint8Array, timeoutMs: number): Promise<string> {
  return await outcomeOf(request(host, peer, PROTOCOL.FETCH, { body: bytes, timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.FETCH] }))
}
