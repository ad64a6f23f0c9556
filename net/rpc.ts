/**
 * Request/response RPC over libp2p: the caller writes a length-prefixed
 * request, the handler answers with one length-prefixed response frame
 * (success body or typed refusal). A stream may carry one request after
 * another so callers can reuse it from a {@link StreamPool}; a caller that
 * sends one request and closes sees exactly the one-shot exchange. Every
 * inbound request is bounded ({@link serve}), and no refusal or failure stops
 * the node serving the next request.
 *
 * @module
 */
import { lpStream } from '@libp2p/utils'
import type { Libp2p, Stream, Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { BioshardError, type ErrorCode } from '../errors.ts'
import { plain } from '../crypto/bytes.ts'
import { okFrame, errorFrame, readFrame, MAX_REFUSAL_MESSAGE } from '../protocol/frame.ts'
import { RemoteError } from '../protocol/errors.ts'
import { streamPool, type Channel } from './stream-pool.ts'
import { isGated } from './access-gate.ts'
import { REFUSAL_WRITE_MS, STREAM_REAP_MS } from './constants.ts'
import { LingeringStreams, PeerStreams } from './policy/peer-streams.ts'
import { refusalWeight, type RefusalBudget } from './policy/refusal-budget.ts'

/** What a handler learns about the caller. */
export interface RequestContext {
  /** The authenticated remote peer (noise-verified). */
  peer: string
  connection: Connection
  signal: AbortSignal
  /** What the request was about (template id hex, action), filled in by the handler for the audit log. */
  note: { subject?: string, action?: string }
}

/** Outcome of one served request, for audit and metrics. */
export interface Served { protocol: string, peer: string, outcome: 'ok' | ErrorCode, message?: string, seconds: number, subject?: string, action?: string }

export interface ServeOptions {
  /** Largest request accepted; the length prefix is checked before reading. */
  maxRequestBytes: number
  /** Deadline for reading, handling and answering one request. */
  timeoutMs: number
  /** Concurrent inbound streams per peer (over all its connections) for this protocol. */
  maxInboundStreams: number
  /** How long a stream may wait for its next request after an answer. */
  idleTimeoutMs: number
  /** Called after each request (ok or refused). */
  onServed?: (s: Served) => void
  /** What every refusal is charged against; a peer over it is disconnected. */
  budget: RefusalBudget
}

/** Serves one request: returns the response body, or throws a BioshardError whose code is the refusal. */
export type RequestHandler = (request: Uint8Array, ctx: RequestContext) => Promise<unknown>

/**
 * The refusal budget every served request is charged against (see
 * net/policy/refusal-budget.ts); exported under its former name too.
 */
export { RefusalBudget, RefusalBudget as InvalidRequestBudget } from './policy/refusal-budget.ts'

/** libp2p errors that mean the caller (or its connection) went away mid-request: not a fault of this node. */
const CALLER_GONE: ReadonlySet<string> = new Set([
  'StreamResetError', 'StreamAbortedError', 'StreamStateError', 'ConnectionClosedError', 'ConnectionClosingError', 'MuxerClosedError'
])

function codeOf (e: unknown): { code: ErrorCode, message: string } {
  if (e instanceof BioshardError) return { code: e.code, message: e.message }
  const name = (e as Error)?.name ?? ''
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') return { code: 'ERR_TOO_LARGE', message: 'request exceeds the size limit' }
  if (name === 'UnexpectedEOFError' || name === 'InvalidMessageLengthError') return { code: 'ERR_DECODE', message: 'request truncated or malformed' }
  if (name === 'AbortError' || name === 'TimeoutError') return { code: 'ERR_TIMEOUT', message: 'request timed out' }
  if (CALLER_GONE.has(name)) return { code: 'ERR_ABORTED', message: 'the caller closed the stream before the answer' }
  return { code: 'ERR_INTERNAL', message: 'internal error' }
}

/**
 * libp2p's own per-connection stream bound is set this many times above the
 * per-peer bound, so that the streams a peer opens beyond its bound reach
 * {@link serve}, which refuses and charges them, instead of being reset by
 * libp2p at no cost to the peer. A peer holds at most its bound of open
 * streams and as many lingering ones (answered, waiting for its close), so
 * twice the bound would do; the rest is room for streams still closing. It
 * still caps what one connection can queue.
 */
const CONNECTION_STREAM_BACKSTOP = 4

/**
 * Register a bounded request/response handler for `protocol`.
 *
 * Every inbound request is bounded (js-libp2p protocol-service style): a
 * deadline, a maximum request size enforced from the length prefix before the
 * body is read, a per-peer stream limit over all the peer's connections, an
 * idle limit between requests on one stream, and a budget every refusal is
 * charged against, after which the peer (or, for unauthenticated peers, its
 * address) is disconnected and refused for a while. A stream over the peer's
 * limit is refused (ERR_RATE_LIMITED) and charged like any refusal, so a peer
 * opening streams without limit is cut off. A refusal or failure ends the
 * stream (its state is no longer known to both sides).
 *
 * @param handle - decodes and serves one request; returns the response body or throws a BioshardError
 * @param options - the request's bounds, the refusal budget and the audit callback
 */
export async function serve (libp2p: Libp2p, protocol: string, handle: RequestHandler, options: ServeOptions): Promise<void> {
  const streams = new PeerStreams(options.maxInboundStreams)
  const lingering = new LingeringStreams<Stream>(options.maxInboundStreams, STREAM_REAP_MS)
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString()
    if (!streams.take(peer)) { await refuseOverLimit(libp2p, { protocol, stream, connection, options, lingering }); return }
    try {
      await serveStream(libp2p, { protocol, stream, connection, options, lingering }, handle)
    } finally {
      streams.release(peer)
    }
  }, { maxInboundStreams: options.maxInboundStreams * CONNECTION_STREAM_BACKSTOP, maxOutboundStreams: options.maxInboundStreams })
}

/** One inbound stream of a served protocol, the bounds it is served under, and where it waits for the peer's close after its last frame. */
interface Inbound { protocol: string, stream: Stream, connection: Connection, options: ServeOptions, lingering: LingeringStreams<Stream> }

/** Serve requests on one stream, one after another, until the caller is done, a request is refused, or the peer is over its budget. */
async function serveStream (libp2p: Libp2p, inbound: Inbound, handle: RequestHandler): Promise<void> {
  const { protocol, stream, connection, options } = inbound
  const { budget } = options
  const peer = connection.remotePeer.toString()
  const lp = lpStream(stream, { maxDataLength: options.maxRequestBytes })
  for (let first = true; ; first = false) {
    if (budget.refuses(peer, connection.remoteAddr)) { stream.abort(new Error('peer is over its refusal budget')); return }
    const one = await serveOne({ lp, peer, connection, first, handle, options })
    if (one === 'end') break
    const { outcome } = one.served
    options.onServed?.({ protocol, ...one.served })
    if (outcome !== 'ok' && budget.charge(peer, refusalWeight(outcome), connection.remoteAddr)) {
      cutOff(libp2p, connection)
      return
    }
    if (one.failure !== undefined) { stream.abort(one.failure); return }
    if (outcome !== 'ok') break
  }
  if (stream.status === 'open') await finish(inbound, options.timeoutMs)
}

/**
 * End a stream after its last frame: close this side, then let it linger
 * until the peer closes its own, for at most STREAM_REAP_MS and with as many
 * lingering at once as the peer may have open (see {@link LingeringStreams}),
 * so that a peer flooding streams without closing them reaches this node's
 * handler, and is charged, instead of libp2p's own limit, which resets them
 * for free.
 */
async function finish ({ stream, connection, lingering }: Inbound, closeMs: number): Promise<void> {
  try {
    await stream.close({ signal: AbortSignal.timeout(closeMs) })
  } catch (e) {
    stream.abort(e as Error)
    return
  }
  if (stream.status === 'open') lingering.add(connection.remotePeer.toString(), stream)
}

/**
 * Refuse a stream opened beyond the peer's limit: audited, charged like any
 * refusal, and answered with a typed frame (a peer over its budget is cut off instead).
 */
async function refuseOverLimit (libp2p: Libp2p, inbound: Inbound): Promise<void> {
  const { protocol, stream, connection, options } = inbound
  const peer = connection.remotePeer.toString()
  const message = `more than ${options.maxInboundStreams} streams open at once`
  options.onServed?.({ protocol, peer, outcome: 'ERR_RATE_LIMITED', message, seconds: 0 })
  if (options.budget.charge(peer, refusalWeight('ERR_RATE_LIMITED'), connection.remoteAddr)) {
    cutOff(libp2p, connection)
    return
  }
  try {
    await lpStream(stream).write(errorFrame('ERR_RATE_LIMITED', message), { signal: AbortSignal.timeout(REFUSAL_WRITE_MS) })
  } catch (e) {
    stream.abort(e as Error)
    return
  }
  await finish(inbound, REFUSAL_WRITE_MS)
}

/**
 * Disconnect a peer that went over its budget: every connection it has, not
 * only the one it overdrew on, at once (a graceful close would wait for the
 * streams it holds open).
 */
function cutOff (libp2p: Libp2p, connection: Connection): void {
  const reason = new Error('peer is over its refusal budget')
  for (const c of new Set([connection, ...libp2p.getConnections(connection.remotePeer)])) c.abort(reason)
}

/** One request's record, and why the answer could not be written (if it could not). */
interface Outcome { served: Omit<Served, 'protocol'>, failure?: Error }

/** One request to read and serve on a stream; `first` is the stream's first request (the rest wait under the idle limit). */
interface OneRequest {
  lp: ReturnType<typeof lpStream>
  peer: string
  connection: Connection
  first: boolean
  handle: RequestHandler
  options: ServeOptions
}

/**
 * Read, serve and answer one request on `lp`; 'end' when the caller closed
 * the stream (or let it idle out) between requests.
 */
async function serveOne ({ lp, peer, connection, first, handle, options }: OneRequest): Promise<Outcome | 'end'> {
  let request: Uint8Array
  let started = performance.now()
  let limit = deadline(first ? options.timeoutMs : options.idleTimeoutMs)
  let response: Uint8Array
  let outcome: Served['outcome'] = 'ok'
  let message: string | undefined
  const note: RequestContext['note'] = {}
  try {
    try {
      request = plain((await lp.read({ signal: limit.signal })).subarray())
    } catch (e) {
      limit.clear()
      // Between requests, an end of stream or the idle limit is the caller
      // being done, not a fault; a length over the limit is a fault on any request.
      if (!first && codeOf(e).code !== 'ERR_TOO_LARGE') return 'end'
      throw e
    }
    if (!first) {
      limit.clear()
      started = performance.now()
      limit = deadline(options.timeoutMs)
    }
    response = okFrame(await handle(request, { peer, connection, signal: limit.signal, note }))
  } catch (e) {
    const c = codeOf(e)
    outcome = c.code
    // Bounded once for the wire and the audit log alike: a decoder's message may quote the peer's own field names.
    message = c.message.slice(0, MAX_REFUSAL_MESSAGE)
    response = errorFrame(c.code, message)
  }
  let failure: Error | undefined
  try {
    await lp.write(response, { signal: limit.signal })
  } catch (e) {
    failure = e as Error
  } finally {
    limit.clear()
  }
  return { served: { peer, outcome, message, seconds: (performance.now() - started) / 1000, ...note }, ...(failure !== undefined ? { failure } : {}) }
}

/**
 * An abort signal that fires after `ms`, with a way to cancel it once the
 * work is done: `AbortSignal.timeout` cannot be cancelled, so a holder
 * serving hundreds of requests a second would keep thousands of idle-limit
 * timers alive for their full 30 s, and a verifier making hundreds of
 * requests a second thousands of request deadlines for their 10 s (each
 * firing in the end, with the stream listeners it still holds).
 */
function deadline (ms: number): { signal: AbortSignal, clear: () => void } {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new DOMException(`no progress within ${ms} ms`, 'TimeoutError')) }, ms)
  timer.unref()
  return { signal: controller.signal, clear: () => { clearTimeout(timer) } }
}

/** One request as sent: the body and its bounds (as `fetch(url, init)` takes its body in `init`). */
export interface RequestOptions {
  /** The encoded request. */
  body: Uint8Array
  timeoutMs: number
  maxResponseBytes: number
  signal?: AbortSignal
}

/**
 * Send one request to `peer` on `protocol` and return the response body;
 * refusals arrive as {@link RemoteError} with the holder's code.
 *
 * The request goes out on an idle pooled stream to that peer when there is
 * one (else a new stream), and the stream goes back to the pool after a
 * success frame. When a reused stream fails before an answer arrives (the
 * holder closed it as idle, or reset it), the request is sent once more on a
 * new stream. Nothing is served twice: store, fetch and erase requests carry
 * a nonce the holder remembers (a served one comes back as ERR_REPLAY), and a
 * roster exchange is idempotent.
 *
 * @example const body = await request(libp2p, peerId, PROTOCOL.FETCH, { body: bytes, timeoutMs: 5_000, maxResponseBytes: 20_480 })
 * @throws {RemoteError} the holder's refusal, or ERR_BUSY when it cannot be reached;
 *   {BioshardError} ERR_TIMEOUT when no answer comes within `timeoutMs`
 */
export async function request (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, options: RequestOptions): Promise<unknown> {
  const wait = admissionWaits.get(libp2p)
  const admitted = wait !== undefined && isGated(protocol) && !isMultiaddr(peer) ? wait : undefined
  if (admitted !== undefined) await admitted(peer.toString(), { signal: options.signal })
  const limit = deadline(options.timeoutMs)
  try {
    const signal = options.signal === undefined ? limit.signal : AbortSignal.any([options.signal, limit.signal])
    try {
      return await requestWithin(libp2p, { peer, protocol, options, signal })
    } catch (e) {
      // The node had not seen this host's credential on the connection the request went out on (a new one, opened after a
      // link cut or a restart, whose exchange outlasted the node's grace): the gate refused it before any handler saw it,
      // so it is sent once more after a fresh exchange, within the same deadline.
      if (admitted === undefined || !(e instanceof RemoteError) || e.code !== 'ERR_NOT_ADMITTED' || signal.aborted) throw e
      if (await admitted(peer.toString(), { signal, again: true }) !== true) throw e
      return await requestWithin(libp2p, { peer, protocol, options, signal })
    }
  } finally {
    limit.clear()
  }
}

/** How a request waits for a peer's acceptance: `again` asks for a fresh exchange even if the peer accepted before. */
export type AdmissionWait = (peer: string, o: { signal?: AbortSignal | undefined, again?: boolean }) => Promise<unknown>

/** Waits, per host, for a peer to accept this host's credential (client/join.ts sets one: net/admission.ts `acceptedBy`). */
const admissionWaits = new WeakMap<Libp2p, AdmissionWait>()

/**
 * Make every gated request from `libp2p` (every bioshard protocol but
 * admission) first wait for `wait(peer)`: a client's admission exchange with
 * a node it has just connected to runs beside its first request, and a node
 * refuses a request from a client whose credential it has not yet seen once
 * its grace for new connections ends; on a busy machine that exchange can
 * take longer than the grace. The wait is bounded by the waiter, and the
 * request is sent either way: a node that never accepts still answers it.
 */
export function awaitAdmissionBeforeRequests (libp2p: Libp2p, wait: AdmissionWait): void {
  admissionWaits.set(libp2p, wait)
}

function isMultiaddr (peer: PeerId | Multiaddr): peer is Multiaddr {
  return typeof (peer as { toMultihash?: unknown }).toMultihash !== 'function'
}

/** Where a request goes and the signal that bounds it (the caller's and the deadline together). */
interface Exchange { peer: PeerId | Multiaddr, protocol: string, options: RequestOptions, signal: AbortSignal }

async function requestWithin (libp2p: Libp2p, { peer, protocol, options, signal }: Exchange): Promise<unknown> {
  const who = peer.toString()
  const pool = streamPool(libp2p)
  const key = `${who} ${protocol} ${options.maxResponseBytes}`

  /**
   * One exchange on `channel` (or a new stream, on a new connection when `fresh`): pooled after a success frame, closed after
   * a refusal, aborted on failure.
   */
  const exchange = async (channel: Channel | undefined, fresh = false): Promise<unknown> => {
    let ch = channel
    try {
      if (ch === undefined) {
        const stream = await libp2p.dialProtocol(peer, protocol, { signal, ...(fresh ? { force: true } : {}) })
        ch = { stream, lp: lpStream(stream, { maxDataLength: options.maxResponseBytes }) }
      }
      await ch.lp.write(options.body, { signal })
      const bytes = plain((await ch.lp.read({ signal })).subarray())
      let answer: unknown
      try {
        answer = readFrame(bytes, options.maxResponseBytes, who)
      } catch (e) {
        // A refusal ends the stream at the holder too.
        if (e instanceof RemoteError) void ch.stream.close().catch(() => {})
        else ch.stream.abort(e as Error)
        ch = undefined
        throw e
      }
      pool.give(key, ch)
      return answer
    } catch (e) {
      ch?.stream.abort(e as Error)
      throw e
    }
  }

  const reused = pool.take(key)
  try {
    return await exchange(reused)
  } catch (e) {
    // A pooled stream may have died idle, and a fresh one may have been opened on a connection closing under it (a link
    // cut and healed, a peer restarting): either is tried once more, on a new stream. A closing connection can stay listed
    // while it closes, and a new stream would be opened on it again: that retry goes out on a connection of its own.
    const under = closedUnder(e)
    if (!(reused !== undefined || under) || e instanceof BioshardError || signal.aborted) throw failure(e, who, protocol, options.timeoutMs)
    try {
      return await exchange(undefined, under)
    } catch (again) {
      throw failure(again, who, protocol, options.timeoutMs)
    }
  }
}

/** Whether `e` says the connection a new stream was opened on was closing (libp2p's names for it). */
function closedUnder (e: unknown): boolean {
  const name = (e as Error)?.name
  return name === 'ConnectionClosedError' || name === 'MuxerClosedError'
}

/** The typed error a failed exchange surfaces as. */
function failure (e: unknown, who: string, protocol: string, timeoutMs: number): Error {
  if (e instanceof BioshardError) return e
  const name = (e as Error)?.name
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new BioshardError('ERR_TIMEOUT', `${who}: no answer on ${protocol} within ${timeoutMs} ms`, { cause: e })
  }
  const reason = (e as Error)?.message ?? String(e)
  return new RemoteError('ERR_BUSY', `unreachable on ${protocol}: ${reason}`, who)
}
