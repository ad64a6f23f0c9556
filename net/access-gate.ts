/**
 * Who may use which protocol (docs/architecture.md, "Trust rules": "Unadmitted
 * peers get nothing but admission, identify and ping"). Every `/bioshard/`
 * protocol but admission, the DHT included, is served only to peers the node
 * authorises, so an unadmitted peer can neither read DHT records nor learn
 * whether a node holds or erased an id. The gate sits in the registrar rather
 * than in each handler, so kad-dht's own handlers and any protocol added later
 * are gated without anyone remembering to.
 *
 * @module
 */
import { lpStream } from '@libp2p/utils'
import type { Connection, Libp2p, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { errorFrame } from '../protocol/frame.ts'
import { PROTOCOL } from '../protocol/constants.ts'
import {
  ADMISSION_GRACE_MS, ADMISSION_POLL_MS, ADMISSION_WAIT_MS, GRACE_POLL_MS, MAX_GRACE_STREAMS, MAX_WAITING_ADMISSION, REFUSAL_WRITE_MS, STREAM_REAP_MS
} from './constants.ts'
import { LingeringStreams, PeerStreams } from './policy/peer-streams.ts'

export interface AccessGateInit {
  /** True for peers that may use gated protocols. */
  authorise: (peer: PeerId) => boolean
  /** Told of each refused stream (to charge the peer and audit the refusal). */
  onRefused?: (peer: PeerId, protocol: string, connection: Connection) => void
}

/** The part of libp2p's (internal) registrar the gate wraps: where every handler is registered. */
interface GateableRegistrar { handle: (protocol: string, handler: StreamHandler, options?: unknown) => Promise<void> }

/** Whether a protocol is gated: every bioshard protocol except admission. */
export function isGated (protocol: string): boolean {
  return protocol.startsWith('/bioshard/') && protocol !== PROTOCOL.ADMIT
}

/** Request/response protocols answer a refusal with a frame; the DHT has its own framing and is reset. */
function isFramed (protocol: string): boolean {
  return isGated(protocol) && protocol !== PROTOCOL.KAD
}

/**
 * Answer a refused stream with its frame and close this side; it lingers
 * (bounded per peer, reaped) until the peer closes its own.
 */
async function refuse (
  { stream, connection }: { stream: Stream, connection: Connection }, protocol: string, lingering: LingeringStreams<Stream>
): Promise<void> {
  if (!isFramed(protocol)) { stream.abort(new Error('peer is not admitted')); return }
  try {
    const signal = AbortSignal.timeout(REFUSAL_WRITE_MS)
    await lpStream(stream).write(errorFrame('ERR_NOT_ADMITTED', 'this node serves admitted nodes and certified clients only'), { signal })
    await stream.close({ signal })
  } catch (e) {
    stream.abort(e as Error)
    return
  }
  if (stream.status === 'open') lingering.add(connection.remotePeer.toString(), stream)
}

/** Wait, on a connection younger than {@link ADMISSION_GRACE_MS}, for its peer to be authorised. */
async function admittedWithinGrace (connection: Connection, authorise: (peer: PeerId) => boolean): Promise<boolean> {
  const deadline = connection.timeline.open + ADMISSION_GRACE_MS
  while (Date.now() < deadline && connection.status === 'open') {
    await new Promise((resolve) => setTimeout(resolve, GRACE_POLL_MS))
    if (authorise(connection.remotePeer)) return true
  }
  return false
}

/**
 * Install the gate on a created, not yet started, libp2p node: from now on
 * every handler registered for a gated protocol first checks the peer. A
 * refused request/response protocol gets a typed ERR_NOT_ADMITTED frame; the
 * DHT stream is reset.
 *
 * @example installAccessGate(host, { authorise: (p) => admission.isAuthorised(p.toString()) })
 */
export function installAccessGate (libp2p: Libp2p, init: AccessGateInit): void {
  const registrar = (libp2p as unknown as { components: { registrar: GateableRegistrar } }).components.registrar
  const handle = registrar.handle.bind(registrar)
  const waiting = new PeerStreams(MAX_GRACE_STREAMS)
  const lingering = new LingeringStreams<Stream>(MAX_GRACE_STREAMS, STREAM_REAP_MS)
  registrar.handle = async (protocol, handler, options) => {
    if (!isGated(protocol)) { await handle(protocol, handler, options); return }
    const gated: StreamHandler = async (stream, connection) => {
      const waited = init.authorise(connection.remotePeer) ? 'admitted' : await admittedWhileWaiting(connection, init.authorise, waiting)
      if (waited === 'admitted') {
        await handler(stream, connection)
        return
      }
      // Reset while it waited (the peer went away, its connection dropped): nothing to answer, and not charged. A stream
      // beyond those let wait is charged however the peer treats it: libp2p has negotiated its protocol already.
      if (waited === 'waited' && stream.status !== 'open') return
      init.onRefused?.(connection.remotePeer, protocol, connection)
      if (stream.status !== 'open') return
      await refuse({ stream, connection }, protocol, lingering)
    }
    await handle(protocol, gated, options)
  }
}

/**
 * Wait, as {@link admittedWithinGrace}, with at most {@link MAX_GRACE_STREAMS}
 * of the peer's streams waiting at once; a stream beyond them is refused at
 * once (the holder protocols bound a peer's streams only once it is let in).
 *
 * @returns 'admitted'; 'waited' when the grace ended (or the connection closed) first; 'beyond' for a stream beyond those let wait
 */
async function admittedWhileWaiting (
  connection: Connection, authorise: (peer: PeerId) => boolean, waiting: PeerStreams
): Promise<'admitted' | 'waited' | 'beyond'> {
  const peer = connection.remotePeer.toString()
  if (!waiting.take(peer)) return 'beyond'
  try {
    return await admittedWithinGrace(connection, authorise) ? 'admitted' : 'waited'
  } finally {
    waiting.release(peer)
  }
}

interface PeerData { id: PeerId }
interface RoutingHook { onPeerConnect: (peer: PeerData) => Promise<void> }

/**
 * Let only admitted nodes into the DHT routing table, so that queries and
 * puts (manifest records) never go to an unadmitted peer that happens to
 * speak the DHT protocol. A peer that connects before admission has
 * finished (identify runs first) waits, briefly, for it.
 *
 * kad-dht funnels every routing-table candidate — a connection, a peer named
 * in a query answer — through its `onPeerConnect`, so that is where the
 * check goes.
 */
export function routeOnlyAdmitted (dht: unknown, isAdmitted: (peer: PeerId) => boolean): void {
  const hook = dht as RoutingHook
  const add = hook.onPeerConnect.bind(hook)
  const waiting = new Set<string>()
  hook.onPeerConnect = async (peer) => {
    if (isAdmitted(peer.id)) { await add(peer); return }
    const id = peer.id.toString()
    if (waiting.has(id) || waiting.size >= MAX_WAITING_ADMISSION) return
    waiting.add(id)
    try {
      const deadline = Date.now() + ADMISSION_WAIT_MS
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, ADMISSION_POLL_MS).unref())
        if (isAdmitted(peer.id)) { await add(peer); return }
      }
    } finally {
      waiting.delete(id)
    }
  }
}
