/**
 * Refusals on the wire. A holder answers every bad request with one of the
 * stable codes from `errors.ts`; the caller receives it as a
 * {@link RemoteError} carrying the same code, so applications match on the
 * code whether a failure happened locally or at a holder.
 *
 * @module
 */
import { BioshardError, type ErrorCode } from '../errors.ts'

/** Codes a holder may send. Anything else from the wire is mapped to ERR_BAD_REQUEST. */
export const WIRE_CODES: readonly ErrorCode[] = [
  'ERR_DECODE', 'ERR_TOO_LARGE', 'ERR_BAD_SIGNATURE', 'ERR_BAD_REQUEST', 'ERR_NOT_AUTHORISED',
  'ERR_NOT_ADMITTED', 'ERR_EXPIRED', 'ERR_STALE', 'ERR_REPLAY', 'ERR_RATE_LIMITED', 'ERR_ERASED',
  'ERR_NOT_FOUND', 'ERR_NOT_HOLDER', 'ERR_CONFLICT', 'ERR_BUSY', 'ERR_TIMEOUT', 'ERR_INTERNAL',
  'ERR_UNSUPPORTED_VERSION', 'ERR_STORAGE'
]

/** A refusal reported by a remote peer. */
export class RemoteError extends BioshardError {
  readonly peer: string
  constructor (code: ErrorCode, message: string, peer: string) {
    super(code, `${peer}: ${message}`)
    this.name = 'RemoteError'
    this.peer = peer
  }
}

/** A protocol-level refusal raised by a handler; its code and message go on the wire. */
export class RefusalError extends BioshardError {
  constructor (code: ErrorCode, message: string) {
    super(code, message)
    this.name = 'RefusalError'
  }
}

/** Shorthand for handlers: throw a refusal with `code`. */
export function refuse (code: ErrorCode, message: string): never {
  throw new RefusalError(code, message)
}
