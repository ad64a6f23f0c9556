/**
 * One-request-per-stream RPC over libp2p: the caller writes one
 * length-prefixed request, the handler writes one length-prefixed response
 * frame (success body or typed refusal) and closes.
 *
 * Every inbound stream is bounded (js-libp2p protocol-service style): a
 * deadline, a maximum request size enforced from the length prefix before the
 * body is read, a per-connection stream limit, and a budget of invalid
 * requests after which the peer is disconnected and refused for a while. A
 * failure in one request never stops the node serving the next.
 *
 * @module
 */
import { lpStream } from '@libp2p/utils'
import type { Libp2p, Stream, Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { BioshardError, type ErrorCode } from '../crypto/errors.ts'
import { plain } from '../crypto/bytes.ts'
import { okFrame, errorFrame, readFrame } from '../protocol/frame.ts'
import { RemoteError } from '../protocol/errors.ts'

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
  /** Concurrent inbound streams per connection for this protocol. */
  maxInboundStreams: number
  /** Called after each request (ok or refused). */
  onServed?: (s: Served) => void
}

/** Codes that mean the peer sent something malformed or forged (they count against its budget). */
const INVALID_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_DECODE', 'ERR_TOO_LARGE', 'ERR_BAD_SIGNATURE', 'ERR_UNSUPPORTED_VERSION'])

/**
 * Per-peer budget of invalid requests (hypercore style): past the budget the
 * peer is disconnected and refused until the ban expires.
 */
export class InvalidRequestBudget {
  private readonly counts = new Map<string, { n: number, since: number }>()
  private readonly banned = new Map<string, number>()
  private readonly budget: number
  private readonly windowMs: number
  private readonly banMs: number
  constructor (budget: number, windowMs: number, banMs: number) {
    this.budget = budget
    this.windowMs = windowMs
    this.banMs = banMs
  }

  /** Record one invalid request; true when the peer is now over budget. */
  charge (peer: string, now = Date.now()): boolean {
    let c = this.counts.get(peer)
    if (c === undefined || now - c.since > this.windowMs) { c = { n: 0, since: now }; this.counts.set(peer, c) }
    c.n++
    if (c.n > this.budget) {
      this.counts.delete(peer)
      this.banned.set(peer, now + this.banMs)
      return true
    }
    return false
  }

  isBanned (peer: string, now = Date.now()): boolean {
    const until = this.banned.get(peer)
    if (until === undefined) return false
    if (now > until) { this.banned.delete(peer); return false }
    return true
  }
}

function codeOf (e: unknown): { code: ErrorCode, message: string } {
  if (e instanceof BioshardError) return { code: e.code, message: e.message }
  const name = (e as Error)?.name ?? ''
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') return { code: 'ERR_TOO_LARGE', message: 'request exceeds the size limit' }
  if (name === 'UnexpectedEOFError' || name === 'InvalidMessageLengthError') return { code: 'ERR_DECODE', message: 'request truncated or malformed' }
  if (name === 'AbortError' || name === 'TimeoutError') return { code: 'ERR_TIMEOUT', message: 'request timed out' }
  return { code: 'ERR_INTERNAL', message: 'internal error' }
}

/**
 * Register a bounded request/response handler for `protocol`.
 *
 * @param handle decodes and serves one request; returns the response body or throws a BioshardError
 */
export async function serve (
  libp2p: Libp2p,
  protocol: string,
  handle: (request: Uint8Array, ctx: RequestContext) => Promise<unknown>,
  options: ServeOptions,
  budget: InvalidRequestBudget
): Promise<void> {
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const started = performance.now()
    const peer = connection.remotePeer.toString()
    if (budget.isBanned(peer)) { stream.abort(new Error('peer is over its invalid-request budget')); return }
    const signal = AbortSignal.timeout(options.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: options.maxRequestBytes })
    let response: Uint8Array
    let outcome: Served['outcome'] = 'ok'
    let message: string | undefined
    const note: RequestContext['note'] = {}
    try {
      const request = plain((await lp.read({ signal })).subarray())
      response = okFrame(await handle(request, { peer, connection, signal, note }))
    } catch (e) {
      const c = codeOf(e)
      outcome = c.code
      message = c.message
      response = errorFrame(c.code, c.message)
    }
    try {
      await lp.write(response, { signal })
      await stream.close({ signal })
    } catch (e) {
      stream.abort(e as Error)
    }
    options.onServed?.({ protocol, peer, outcome, message, seconds: (performance.now() - started) / 1000, ...note })
    if (outcome !== 'ok' && INVALID_CODES.has(outcome) && budget.charge(peer)) {
      await connection.close().catch(() => {})
    }
  }, { maxInboundStreams: options.maxInboundStreams, maxOutboundStreams: options.maxInboundStreams })
}

export interface RequestOptions {
  timeoutMs: number
  maxResponseBytes: number
  signal?: AbortSignal
}

/**
 * Send one request to `peer` on `protocol` and return the response body;
 * refusals arrive as {@link RemoteError} with the holder's code.
 *
 * @throws {RemoteError} the holder's refusal; {BioshardError} ERR_TIMEOUT / ERR_QUORUM_UNAVAILABLE-style transport failures as ERR_BUSY
 */
export async function request (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, body: Uint8Array, options: RequestOptions): Promise<unknown> {
  const signal = options.signal === undefined ? AbortSignal.timeout(options.timeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
  let stream: Stream | undefined
  const who = peer.toString()
  try {
    stream = await libp2p.dialProtocol(peer, protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: options.maxResponseBytes })
    await lp.write(body, { signal })
    const bytes = plain((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => {})
    return readFrame(bytes, options.maxResponseBytes, who)
  } catch (e) {
    stream?.abort(e as Error)
    if (e instanceof BioshardError) throw e
    const name = (e as Error)?.name
    if (name === 'AbortError' || name === 'TimeoutError') throw new BioshardError('ERR_TIMEOUT', `${who}: no answer on ${protocol} within ${options.timeoutMs} ms`, { cause: e })
    throw new RemoteError('ERR_BUSY', `unreachable on ${protocol}: ${(e as Error)?.message ?? e}`, who)
  }
}
