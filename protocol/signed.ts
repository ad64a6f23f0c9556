/**
 * Signed envelopes: `{ body, sig }` where `sig` is a tagged Ed25519 signature
 * over the canonical encoding of `body`. Because decoding is canonical-only,
 * re-encoding a decoded body reproduces the signed bytes exactly.
 *
 * @module
 */
import { encodeCanonical, reencodeDecoded, asMap, bytesField, type CborMap } from '../crypto/canonical.ts'
import { concat } from '../crypto/bytes.ts'
import { sign, verify, SIGNATURE_BYTES, type SigningKey } from '../crypto/sign.ts'
import type { SigTag } from '../crypto/tags.ts'
import { SignatureError } from '../errors.ts'

/** A decoded signed object: its typed body, the body's canonical bytes, and the signature. */
export interface Signed<T> {
  readonly body: T
  readonly bytes: Uint8Array
  readonly sig: Uint8Array
}

/** The wire form of a signed object (embed it in other messages, or encode it alone). */
export interface SignedWire { body: CborMap, sig: Uint8Array }

/**
 * Sign `body` under `tag`.
 *
 * @example const wire = signBody(SIG.NODE_CERT, certBody, authorityKey)
 */
export function signBody<T extends object> (tag: SigTag, body: T, key: SigningKey): SignedWire {
  const bytes = encodeCanonical(body)
  const wire: SignedWire = { body: body as unknown as CborMap, sig: sign(tag, bytes, key) }
  bodyBytes.set(wire, bytes)
  return wire
}

/** Canonical body bytes of signed wires made here, so encoding one does not encode its body again. */
const bodyBytes = new WeakMap<SignedWire, Uint8Array>()

// Canonical order puts "sig" (0x63…) before "body" (0x64…): a signed wire is
// always these bytes, the 64-byte signature, "body", then the body's bytes.
const WIRE_HEAD = Uint8Array.of(0xa2, 0x63, 0x73, 0x69, 0x67, 0x58, SIGNATURE_BYTES)
const BODY_KEY = Uint8Array.of(0x64, 0x62, 0x6f, 0x64, 0x79)

/**
 * Encode a signed wire canonically. For a wire made by {@link signBody}, or
 * by {@link toWire} from a decoded object, the body bytes already known are
 * spliced in rather than encoded again; the result is byte for byte
 * `encodeCanonical(wire)`.
 *
 * @example const bytes = encodeSigned(toWire(decodedAttestation))
 */
export function encodeSigned (wire: SignedWire): Uint8Array {
  const known = bodyBytes.get(wire)
  if (known === undefined || wire.sig.length !== SIGNATURE_BYTES) return encodeCanonical(wire)
  return concat(WIRE_HEAD, wire.sig, BODY_KEY, known)
}

/**
 * Sign `body` under `tag` and encode the signed wire in one step: how every
 * request and decision is made. The body's own encoding, made to be signed,
 * is wiped once it is copied into the result, since a body may hold a secret
 * (a store request carries a share): the returned bytes are the only copy,
 * the caller's to wipe.
 *
 * @returns the wire's bytes, and the body bytes and signature inside them (for a request hash)
 * @example const { bytes, body, sig } = signAndEncode(SIG.FETCH_REQUEST, body, key)
 */
export function signAndEncode (tag: SigTag, body: object, key: SigningKey): { bytes: Uint8Array, body: Uint8Array, sig: Uint8Array } {
  const wire = signBody(tag, body, key)
  const known = bodyBytes.get(wire) as Uint8Array
  const bytes = concat(WIRE_HEAD, wire.sig, BODY_KEY, known)
  bodyBytes.delete(wire)
  known.fill(0)
  return { bytes, body: bytes.subarray(bytes.length - known.length), sig: wire.sig }
}

/** Whether {@link encodeSigned} can encode `value` without encoding its body again. */
export function isKnownWire (value: unknown): value is SignedWire {
  return typeof value === 'object' && value !== null && bodyBytes.has(value as SignedWire)
}

/**
 * Read a signed object's structure and typed body; does NOT check the
 * signature (the signer's key often comes from the body or a later lookup).
 *
 * @throws {DecodeError} ERR_DECODE on a malformed envelope or body
 */
export function readSigned<T> (value: unknown, what: string, decodeBody: (m: unknown) => T): Signed<T> {
  const m = asMap(value, what, ['body', 'sig'])
  const sig = bytesField(m, 'sig', what, { exact: SIGNATURE_BYTES })
  const body = decodeBody(m.body)
  // `value` came out of the canonical decoder, so its body re-encodes to exactly the signed bytes.
  return { body, bytes: reencodeDecoded(m.body), sig }
}

/** The wire form of a decoded signed object (to re-embed it unchanged). */
export function toWire<T> (signed: Signed<T>): SignedWire {
  const wire: SignedWire = { body: signed.body as unknown as CborMap, sig: signed.sig }
  bodyBytes.set(wire, signed.bytes)
  return wire
}

/** Verify a decoded signed object under `tag` and `publicKey`, or throw ERR_BAD_SIGNATURE naming `what`. */
export function checkSigned (tag: SigTag, signed: Signed<unknown>, publicKey: Uint8Array, what: string): void {
  if (!verify(tag, signed.bytes, signed.sig, publicKey)) throw new SignatureError(what)
}
