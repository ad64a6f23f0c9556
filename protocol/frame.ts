/**
 * Response frames. Every request/response protocol answers with exactly one
 * frame: `{ ok: true, body }` or `{ ok: false, code, message }`, so a refusal
 * is always a typed code on the wire, never a dropped stream.
 *
 * @module
 */
import { encodeCanonical, decodeCanonical, asMap, boolField, strField } from '../crypto/canonical.ts'
import type { ErrorCode } from '../errors.ts'
import { RemoteError, WIRE_CODES } from './errors.ts'
import { encodeSigned, isKnownWire } from './signed.ts'
import { concat } from '../crypto/bytes.ts'

// Canonical order puts "ok" (0x62…) before "body" (0x64…): a success frame is
// always these bytes followed by the body's encoding.
const OK_HEAD = Uint8Array.of(0xa2, 0x62, 0x6f, 0x6b, 0xf5, 0x64, 0x62, 0x6f, 0x64, 0x79)

/**
 * Encode a success frame around a body (a signed wire object or plain map).
 * A signed wire just made by `signBody` is spliced in from its known bytes.
 */
export function okFrame (body: unknown): Uint8Array {
  if (isKnownWire(body)) return concat(OK_HEAD, encodeSigned(body))
  return encodeCanonical({ ok: true, body })
}

/** Longest refusal message sent or recorded (messages may quote what a peer sent). */
export const MAX_REFUSAL_MESSAGE = 300

/** Encode a refusal frame. Messages are truncated so a refusal can never be large. */
export function errorFrame (code: ErrorCode, message: string): Uint8Array {
  return encodeCanonical({ ok: false, code, message: message.slice(0, MAX_REFUSAL_MESSAGE) })
}

/**
 * Decode a response frame from `peer`: returns the body or throws the remote
 * refusal as a {@link RemoteError} with its code.
 *
 * @throws {RemoteError} for a refusal; {DecodeError|TooLargeError} for a bad frame
 */
export function readFrame (bytes: Uint8Array, maxBytes: number, peer: string): unknown {
  const what = 'response'
  const value = decodeCanonical(bytes, maxBytes, what)
  const head = asMap(value, what, ['ok'], ['body', 'code', 'message'])
  if (boolField(head, 'ok', what)) {
    const m = asMap(value, what, ['ok', 'body'])
    return m.body
  }
  const m = asMap(value, what, ['ok', 'code', 'message'])
  const code = strField(m, 'code', what, { max: 40 }) as ErrorCode
  const message = strField(m, 'message', what, { max: MAX_REFUSAL_MESSAGE })
  throw new RemoteError(WIRE_CODES.includes(code) ? code : 'ERR_BAD_REQUEST', message, peer)
}
