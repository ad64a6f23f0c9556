/**
 * Signed envelopes: `{ body, sig }` where `sig` is a tagged Ed25519 signature
 * over the canonical encoding of `body`. Because decoding is canonical-only,
 * re-encoding a decoded body reproduces the signed bytes exactly.
 *
 * @module
 */
import { encodeCanonical, reencodeDecoded, asMap, bytesField, type CborMap } from '../crypto/canonical.ts'
import { sign, verify, SIGNATURE_BYTES, type SigningKey } from '../crypto/sign.ts'
import type { SigTag } from '../crypto/tags.ts'
import { SignatureError } from '../crypto/errors.ts'

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
  return { body: body as unknown as CborMap, sig: sign(tag, bytes, key) }
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
  return { body: signed.body as unknown as CborMap, sig: signed.sig }
}

/** Verify a decoded signed object under `tag` and `publicKey`, or throw ERR_BAD_SIGNATURE naming `what`. */
export function checkSigned (tag: SigTag, signed: Signed<unknown>, publicKey: Uint8Array, what: string): void {
  if (!verify(tag, signed.bytes, signed.sig, publicKey)) throw new SignatureError(what)
}
