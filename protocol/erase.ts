/**
 * `/bioshard/erase/1.0.0` messages: the tenant (or the subject, with their own
 * key) asks a holder to delete its share for good; the holder answers with a
 * signed erase receipt. The request carries the manifest so that a holder can
 * check the signer's authority and leave a tombstone even for an id it never
 * stored (an erase that overtakes a store must still win).
 *
 * @module
 */
import { asMap, bytesField, intField, enumField, boolField, decodeCanonical } from '../crypto/canonical.ts'
import { SIG, HASH } from '../crypto/tags.ts'
import { taggedHash } from '../crypto/hash.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signAndEncode, signBody, readSigned, type Signed, type SignedWire } from './signed.ts'
import { readManifest, manifestToWire, type Manifest } from './manifest.ts'
import { peerField } from './fields.ts'
import { HASH_BYTES, KEY_BYTES, MAX_MESSAGE_BYTES, NONCE_BYTES, PROTOCOL, TEMPLATE_ID_BYTES, WIRE_VERSION } from './constants.ts'

export interface EraseRequestBody { v: number, manifest: Manifest, by: 'tenant' | 'subject', key: Uint8Array, sender: string, nonce: Uint8Array, time: number }
export type EraseRequest = Signed<EraseRequestBody>

export interface EraseReceiptBody { v: number, templateId: Uint8Array, holder: string, held: boolean, request: Uint8Array, time: number }
export type EraseReceipt = Signed<EraseReceiptBody>

function decodeEraseRequestBody (value: unknown): EraseRequestBody {
  const what = 'erase request'
  const m = asMap(value, what, ['v', 'manifest', 'by', 'key', 'sender', 'nonce', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    manifest: readManifest(m.manifest),
    by: enumField(m, 'by', what, ['tenant', 'subject'] as const),
    key: bytesField(m, 'key', what, { exact: KEY_BYTES }),
    sender: peerField(m, 'sender', what),
    nonce: bytesField(m, 'nonce', what, { exact: NONCE_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Decode an erase request (size-limited, canonical; signature not yet checked). */
export function decodeEraseRequest (bytes: Uint8Array): EraseRequest {
  return readSigned(decodeCanonical(bytes, MAX_MESSAGE_BYTES[PROTOCOL.ERASE], 'erase request'), 'erase request', decodeEraseRequestBody)
}

/** Encode and sign an erase request with the tenant's or subject's key. */
export function encodeEraseRequest (body: Omit<EraseRequestBody, 'v' | 'key'>, signer: SigningKey): Uint8Array {
  const wireBody = { v: WIRE_VERSION, ...body, key: signer.publicKey, manifest: manifestToWire(body.manifest) }
  return signAndEncode(SIG.ERASE_REQUEST, wireBody, signer).bytes
}

/** The hash an erase receipt binds to. */
export function eraseRequestHash (req: EraseRequest): Uint8Array {
  return taggedHash(HASH.REQUEST, req.bytes, req.sig)
}

function decodeEraseReceiptBody (value: unknown): EraseReceiptBody {
  const what = 'erase receipt'
  const m = asMap(value, what, ['v', 'templateId', 'holder', 'held', 'request', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    holder: peerField(m, 'holder', what),
    held: boolField(m, 'held', what),
    request: bytesField(m, 'request', what, { exact: HASH_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Read an erase receipt (signature not yet checked). */
export const readEraseReceipt = (v: unknown): EraseReceipt => readSigned(v, 'erase receipt', decodeEraseReceiptBody)

/** Sign an erase receipt as the holder. */
export function signEraseReceipt (body: Omit<EraseReceiptBody, 'v'>, holder: SigningKey): SignedWire {
  return signBody(SIG.ERASE_RECEIPT, { v: WIRE_VERSION, ...body }, holder)
}
