/**
 * The holder protocols a site node serves, as one table: each entry names
 * its protocol id, the factory that builds its handler from the node's
 * components (each factory takes only the dependencies it declares), and
 * its per-protocol limits. The node registers every entry the same way
 * (node/site-node.ts), so adding a protocol is one row here; a test checks
 * that every `/bioshard/` protocol id is either in the table or named in
 * {@link SERVED_ELSEWHERE}.
 *
 * @module
 */
import { PROTOCOL, MAX_MESSAGE_BYTES } from '../../protocol/constants.ts'
import type { RequestHandler, ServeOptions } from '../../net/rpc.ts'
import { storeHandler, type StoreHandlerDeps } from './store.ts'
import { fetchHandler, type FetchHandlerDeps } from './fetch.ts'
import { eraseHandler, type EraseHandlerDeps } from './erase.ts'
import { auditHandler, type AuditHandlerDeps } from './audit.ts'
import { maintainHandler, type MaintainHandlerDeps } from './maintain.ts'
import { MAX_MAINTAIN_STREAMS, MAINTAIN_REQUEST_TIMEOUT_MS } from '../maintain/limits.ts'

/** What a node composes for its handlers: every handler's declared dependencies, each handler given the part it names. */
export type HolderComponents = StoreHandlerDeps & FetchHandlerDeps & EraseHandlerDeps & AuditHandlerDeps & MaintainHandlerDeps

/** Per-protocol bounds; what is left out comes from the node's configured limits (node/config.ts). */
export type ProtocolLimits = Pick<ServeOptions, 'maxRequestBytes'> & Partial<Pick<ServeOptions, 'timeoutMs' | 'idleTimeoutMs' | 'maxInboundStreams'>>

/** One served protocol: its id, how its handler is built, and its bounds. */
export interface HandlerEntry {
  protocol: string
  create: (components: HolderComponents) => RequestHandler
  limits: ProtocolLimits
}

/** The holder protocols, each bounded by its largest legitimate request (protocol/constants.ts). */
export const HOLDER_HANDLERS: readonly HandlerEntry[] = [
  { protocol: PROTOCOL.STORE, create: storeHandler, limits: { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.STORE] } },
  { protocol: PROTOCOL.FETCH, create: fetchHandler, limits: { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.FETCH] } },
  { protocol: PROTOCOL.ERASE, create: eraseHandler, limits: { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.ERASE] } },
  { protocol: PROTOCOL.AUDIT, create: auditHandler, limits: { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.AUDIT] } },
  {
    protocol: PROTOCOL.MAINTAIN,
    create: (c) => maintainHandler(c),
    limits: { maxRequestBytes: MAX_MESSAGE_BYTES[PROTOCOL.MAINTAIN], timeoutMs: MAINTAIN_REQUEST_TIMEOUT_MS, maxInboundStreams: MAX_MAINTAIN_STREAMS }
  }
]

/** Bioshard protocols a node serves outside this table, and what serves them. */
export const SERVED_ELSEWHERE: Readonly<Record<string, string>> = {
  [PROTOCOL.KAD]: 'the DHT service (net/host.ts)',
  [PROTOCOL.ADMIT]: 'admission (net/admission.ts)'
}
