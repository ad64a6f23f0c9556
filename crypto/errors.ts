/**
 * Error classes with stable codes. Callers, tests and the wire protocol match
 * on `code`, never on message text. Argument checks on the public API throw
 * plain `TypeError`/`RangeError` naming the argument instead (see `bytes.ts`).
 *
 * @module
 */

/** Every bioshard failure that is not an argument error carries one of these codes. */
export type ErrorCode =
  | 'ERR_DECODE' // bytes are not a valid, canonical message of the expected shape
  | 'ERR_TOO_LARGE' // a message or field exceeds its size limit
  | 'ERR_DECRYPT' // AEAD authentication failed (wrong key, AAD, nonce or ciphertext)
  | 'ERR_BAD_SIGNATURE' // a signature does not verify
  | 'ERR_BAD_SHARE' // a share fails its commitment
  | 'ERR_NOT_ENOUGH_SHARES' // fewer valid shares than the threshold
  | 'ERR_UNSUPPORTED_VERSION' // a versioned format from the future or the past
  | 'ERR_BAD_REQUEST'
  | 'ERR_NOT_AUTHORISED'
  | 'ERR_NOT_ADMITTED'
  | 'ERR_EXPIRED'
  | 'ERR_STALE'
  | 'ERR_REPLAY'
  | 'ERR_RATE_LIMITED'
  | 'ERR_ERASED'
  | 'ERR_NOT_FOUND'
  | 'ERR_NOT_HOLDER'
  | 'ERR_CONFLICT'
  | 'ERR_BUSY'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED' // the caller reset or closed the stream before it was answered
  | 'ERR_INTERNAL'
  | 'ERR_CONFIG'
  | 'ERR_NOT_ENOUGH_SITES'
  | 'ERR_QUORUM_UNAVAILABLE'
  | 'ERR_ENCLAVE'
  | 'ERR_NO_FACE'
  | 'ERR_LOW_QUALITY'
  | 'ERR_LIVENESS'
  | 'ERR_MODEL'

/** Base class: a failure with a stable machine-readable `code`. */
export class BioshardError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = 'BioshardError'
  }
}

/** Input bytes did not decode into a valid message. */
export class DecodeError extends BioshardError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_DECODE', message, options)
    this.name = 'DecodeError'
  }
}

/** Input exceeded a size limit; raised before any parsing work is done. */
export class TooLargeError extends BioshardError {
  constructor (what: string, size: number, limit: number) {
    super('ERR_TOO_LARGE', `${what} is ${size} bytes, limit ${limit}`)
    this.name = 'TooLargeError'
  }
}

/** AEAD authentication failed; nothing about the plaintext is revealed. */
export class DecryptError extends BioshardError {
  constructor (what: string) {
    super('ERR_DECRYPT', `${what}: authentication failed`)
    this.name = 'DecryptError'
  }
}

/** A signature did not verify under the expected key and tag. */
export class SignatureError extends BioshardError {
  constructor (what: string) {
    super('ERR_BAD_SIGNATURE', `${what}: signature does not verify`)
    this.name = 'SignatureError'
  }
}

/** True when `e` is a {@link BioshardError} with the given code. */
export function hasCode (e: unknown, code: ErrorCode): boolean {
  return e instanceof BioshardError && e.code === code
}
