/**
 * `/bioshard/fetch/1.0.0` messages: a verifier asks a holder for its share,
 * sealed to an attested enclave key; the holder answers with the sealed share
 * in a signed response bound to the request's hash. The share is sealed with
 * `sealBinding(request hash, request time, manifest digest)` as AAD
 * (seal-binding.ts), and the response names the digest of the manifest the
 * holder sealed under, so a verifier can tell at once when a holder holds
 * another version of the manifest than the one it matches against.
 *
 * @module
 */
import { asMap, bytesField, intField, strField, decodeCanonical, type CborMap } from '../crypto/canonical.ts'
import { DecodeError } from '../errors.ts'
import { SIG, HASH } from '../crypto/tags.ts'
import { taggedHash } from '../crypto/hash.ts'
import { SEALED_MIN_BYTES } from '../crypto/seal.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signBody, signAndEncode, readSigned, type Signed, type SignedWire } from './signed.ts'
import { readAttestation, type Attestation } from './attestation.ts'
import { readVerifierCert, type VerifierCert } from './certs.ts'
import { peerField, PURPOSE } from './fields.ts'
import { HASH_BYTES, MAX_MESSAGE_BYTES, MAX_SEALED_SHARE_BYTES, NONCE_BYTES, PROTOCOL, TEMPLATE_ID_BYTES, WIRE_VERSION } from './constants.ts'

export interface FetchRequestBody {
  v: number
  templateId: Uint8Array
  /**
   * The shares asked for, by x-coordinate, strictly increasing. One signed
   * request can go to every holder listed; each answers with its own share.
   */
  xs: number[]
  purpose: string
  enclave: Attestation
  cert: VerifierCert
  sender: string
  nonce: Uint8Array
  time: number
}
export type FetchRequest = Signed<FetchRequestBody>

export interface FetchResponseBody {
  v: number
  templateId: Uint8Array
  x: number
  holder: string
  sealed: Uint8Array
  /** hash of the request answered ({@link fetchRequestHash}) */
  request: Uint8Array
  /** `manifestDigest` of the manifest this holder stores and sealed the share under (32 bytes) */
  manifest: Uint8Array
  time: number
}
export type FetchResponse = Signed<FetchResponseBody>

function decodeFetchRequestBody (value: unknown): FetchRequestBody {
  const what = 'fetch request'
  const m = asMap(value, what, ['v', 'templateId', 'xs', 'purpose', 'enclave', 'cert', 'sender', 'nonce', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    xs: xsField(m, what),
    purpose: strField(m, 'purpose', what, { max: 64, pattern: PURPOSE }),
    enclave: readAttestation(m.enclave),
    cert: readVerifierCert(m.cert),
    sender: peerField(m, 'sender', what),
    nonce: bytesField(m, 'nonce', what, { exact: NONCE_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/**
 * What is wrong with a list of share x-coordinates, if anything: it must hold
 * 1 to 255 integers in [1, 255], strictly increasing (so each appears once).
 */
function xsProblem (xs: unknown): string | undefined {
  if (!Array.isArray(xs)) return 'must be an array'
  if (xs.length === 0 || xs.length > 255) return 'must list 1 to 255 shares'
  for (let i = 0; i < xs.length; i++) {
    const x: unknown = xs[i]
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > 255) return `[${i}] must be an integer in [1, 255]`
    if (i > 0 && x <= xs[i - 1]) return 'must be strictly increasing'
  }
  return undefined
}

function xsField (m: CborMap, what: string): number[] {
  const problem = xsProblem(m.xs)
  if (problem !== undefined) throw new DecodeError(`${what}.xs ${problem}`)
  return m.xs as number[]
}

/** Decode a fetch request (size-limited, canonical, every field checked; signature not yet checked). */
export function decodeFetchRequest (bytes: Uint8Array): FetchRequest {
  return readSigned(decodeCanonical(bytes, MAX_MESSAGE_BYTES[PROTOCOL.FETCH], 'fetch request'), 'fetch request', decodeFetchRequestBody)
}

/** Inputs of a fetch request; the attestation and certificate are passed in wire form. */
export interface FetchRequestInit {
  templateId: Uint8Array
  xs: number[]
  purpose: string
  enclave: SignedWire
  cert: SignedWire
  sender: string
  nonce: Uint8Array
  time: number
}

function checkXs (xs: number[]): void {
  const problem = xsProblem(xs)
  if (problem !== undefined) throw new RangeError(`xs ${problem}`)
}

/**
 * Encode and sign a fetch request as the verifier.
 *
 * @throws {RangeError} when `xs` is empty, out of range or not strictly increasing
 */
export function encodeFetchRequest (init: FetchRequestInit, verifier: SigningKey): Uint8Array {
  checkXs(init.xs)
  return signAndEncode(SIG.FETCH_REQUEST, { v: WIRE_VERSION, ...init }, verifier).bytes
}

/** The hash a response binds to: the request's signed body bytes and signature. */
export function fetchRequestHash (req: FetchRequest): Uint8Array {
  return requestHash(req.bytes, req.sig)
}

function requestHash (bodyBytes: Uint8Array, sig: Uint8Array): Uint8Array {
  return taggedHash(HASH.REQUEST, bodyBytes, sig)
}

/** An encoded, signed fetch request and the hash its response must bind to. */
export interface EncodedFetchRequest {
  /** The request as sent. */
  bytes: Uint8Array
  /** Equal to {@link fetchRequestHash} of the decoded request. */
  hash: Uint8Array
}

/**
 * Encode and sign a fetch request as {@link encodeFetchRequest} does, and
 * hash it from the body bytes just signed, so the caller need not decode its
 * own request to know which hash the holder's response must carry. Canonical
 * encoding makes these the bytes the holder re-encodes from the decoded body.
 *
 * @param init the request fields
 * @param verifier the certified verifier's key
 * @returns the request bytes and their hash
 * @throws {TypeError} when a field cannot be encoded canonically
 * @throws {RangeError} when `xs` is empty, out of range or not strictly increasing
 * @example
 * const { bytes, hash } = encodeFetchRequestWithHash(init, verifierKey)
 * // … send bytes; require response.body.request to equal hash
 */
export function encodeFetchRequestWithHash (init: FetchRequestInit, verifier: SigningKey): EncodedFetchRequest {
  checkXs(init.xs)
  const { bytes, body, sig } = signAndEncode(SIG.FETCH_REQUEST, { v: WIRE_VERSION, ...init }, verifier)
  return { bytes, hash: requestHash(body, sig) }
}

/** The HPKE `info` of a sealed share, defined beside its seal binding. */
export { shareSealInfo } from './seal-binding.ts'

function decodeFetchResponseBody (value: unknown): FetchResponseBody {
  const what = 'fetch response'
  const m = asMap(value, what, ['v', 'templateId', 'x', 'holder', 'sealed', 'request', 'manifest', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    x: intField(m, 'x', what, { min: 1, max: 255 }),
    holder: peerField(m, 'holder', what),
    // Exactly what the enclave accepts, so a holder cannot hand it more.
    sealed: bytesField(m, 'sealed', what, { min: SEALED_MIN_BYTES + 1, max: MAX_SEALED_SHARE_BYTES }),
    request: bytesField(m, 'request', what, { exact: HASH_BYTES }),
    manifest: bytesField(m, 'manifest', what, { exact: HASH_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Read a fetch response from a response body (signature not yet checked). */
export const readFetchResponse = (v: unknown): FetchResponse => readSigned(v, 'fetch response', decodeFetchResponseBody)

/** Sign a fetch response as the holder. */
export function signFetchResponse (body: Omit<FetchResponseBody, 'v'>, holder: SigningKey): SignedWire {
  return signBody(SIG.FETCH_RESPONSE, { v: WIRE_VERSION, ...body }, holder)
}
