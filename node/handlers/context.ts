/**
 * The check every holder request goes through first, whatever its protocol:
 * it is bound to the authenticated sender and fresh. Each handler declares
 * its own dependencies (store.ts, fetch.ts, erase.ts); this module holds only
 * what they all run.
 *
 * @module
 */
import { FRESHNESS_WINDOW_MS } from '../../protocol/constants.ts'
import { refuse } from '../../protocol/errors.ts'
import type { RequestContext } from '../../net/rpc.ts'

/**
 * Checks common to every signed request: it names the peer that sent it
 * (a request captured in transit cannot be replayed by another peer) and its
 * timestamp is within the freshness window.
 *
 * @throws {RefusalError} ERR_NOT_AUTHORISED or ERR_STALE
 */
export function checkEnvelope (body: { sender: string, time: number }, ctx: RequestContext, now: number): void {
  if (body.sender !== ctx.peer) refuse('ERR_NOT_AUTHORISED', 'request is signed for another sender peer')
  if (Math.abs(now - body.time) > FRESHNESS_WINDOW_MS) refuse('ERR_STALE', `request time is outside the ${FRESHNESS_WINDOW_MS / 1000} s freshness window`)
}
