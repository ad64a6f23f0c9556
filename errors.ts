/**
 * Error classes with stable codes. Callers, tests and the wire protocol match
 * on `code`, never on message text. Argument checks on the public API throw
 * plain `TypeError`/`RangeError` naming the argument instead (see `crypto/bytes.ts`).
 *
 * @module
 */

/**
 * Every code bioshard raises, with the one-line meaning the README's error
 * table gives it. This is the single registry: a code is added here first,
 * and `test/docs/error-codes.test.ts` fails until the README lists it.
 */
export const ERROR_CODES = {
  ERR_DECODE: 'bytes are not a valid, canonical message of the expected shape',
  ERR_TOO_LARGE: 'a message or field exceeds its size limit; refused before parsing',
  ERR_DECRYPT: 'AEAD authentication failed (wrong key, AAD, nonce or ciphertext)',
  ERR_BAD_SIGNATURE: 'a signature does not verify under the expected key and tag',
  ERR_BAD_SHARE: 'a share fails its commitment',
  ERR_NOT_ENOUGH_SHARES: 'fewer valid shares than the threshold',
  ERR_UNSUPPORTED_VERSION: 'a versioned format from the future or the past',
  ERR_BAD_REQUEST: 'a request that is well formed but not acceptable',
  ERR_NOT_AUTHORISED: 'the signer may not do this (verifier, purpose, measurement or tenant)',
  ERR_NOT_ADMITTED: 'a node, tenant or client not admitted by this network\'s authority',
  ERR_EXPIRED: 'a certificate or enrolment past its validity',
  ERR_STALE: 'a request outside the freshness window',
  ERR_REPLAY: 'a nonce or fetch request used twice',
  ERR_RATE_LIMITED: 'too many requests from this signer or peer',
  ERR_ERASED: 'the template was erased; a new enrolment needs a new id',
  ERR_NOT_FOUND: 'no such template, manifest or share',
  ERR_NOT_HOLDER: 'this node is not a holder of the template',
  ERR_CONFLICT: 'another version of the manifest is held than the one presented',
  ERR_BUSY: 'the node is at its concurrency limit; retry later',
  ERR_TIMEOUT: 'a peer or the enclave did not answer in time',
  ERR_ABORTED: 'the caller reset or closed the stream before it was answered',
  ERR_INTERNAL: 'an unexpected failure inside the node; logged there',
  ERR_STORAGE: 'the node could not write to its storage (disk full or read-only); nothing was stored or changed',
  ERR_CONFIG: 'a configuration, key or credential file is missing or invalid',
  ERR_NOT_ENOUGH_SITES: 'fewer distinct admitted, reachable sites than n',
  ERR_RETIRING: 'the node is retiring: it serves what it holds but takes no new shares',
  ERR_QUORUM_UNAVAILABLE: 'fewer than t holders answered, or an enrolment could not be stored',
  ERR_ENCLAVE: 'the enclave process died or could not start',
  ERR_NO_FACE: 'the matcher found no face in the image',
  ERR_LOW_QUALITY: 'the face or voice sample is below the quality floor',
  ERR_LIVENESS: 'presentation-attack detection failed or is not configured',
  ERR_MODEL: 'a model file is missing or has the wrong shape'
} as const satisfies Record<`ERR_${string}`, string>

/** Every bioshard failure that is not an argument error carries one of these codes. */
export type ErrorCode = keyof typeof ERROR_CODES

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
