/**
 * `/bioshard/store/1.0.0` messages: a tenant asks a listed holder to keep one
 * share; the holder answers with a signed receipt.
 *
 * @module
 */
import { asMap, bytesField, intField, decodeCanonical } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signAndEncode, signBody, readSigned, type Signed } from './signed.ts'
import { readManifest, manifestToWire, type Manifest } from './manifest.ts'
import { peerField } from './fields.ts'
import { HASH_BYTES, MAX_MESSAGE_BYTES, MAX_SHARE_BYTES, NONCE_BYTES, PROTOCOL, TEMPLATE_ID_BYTES, WIRE_VERSION } from './constants.ts'

export interface StoreRequestBody { v: number, manifest: Manifest, x: number, share: Uint8Array, sender: string, nonce: Uint8Array, time: number }
export type StoreRequest = Signed<StoreRequestBody>

export interface StoreReceiptBody { v: number, templateId: Uint8Array, x: number, holder: string, commitment: Uint8Array, seq: number, time: number }
export type StoreReceipt = Signed<StoreReceiptBody>

function decodeStoreRequestBody (value: unknown): StoreRequestBody {
  const what = 'store request'
  const m = asMap(value, what, ['v', 'manifest', 'x', 'share', 'sender', 'nonce', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    manifest: readManifest(m.manifest),
    x: intField(m, 'x', what, { min: 1, max: 255 }),
    share: bytesField(m, 'share', what, { min: 1, max: MAX_SHARE_BYTES }),
    sender: peerField(m, 'sender', what),
    nonce: bytesField(m, 'nonce', what, { exact: NONCE_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Decode a store request (size-limited, canonical, every field checked; signature not yet checked). */
export function decodeStoreRequest (bytes: Uint8Array): StoreRequest {
  return readSigned(decodeCanonical(bytes, MAX_MESSAGE_BYTES[PROTOCOL.STORE], 'store request'), 'store request', decodeStoreRequestBody)
}

/** Encode and sign a store request as the tenant. The share bytes are the caller's to wipe. */
export function encodeStoreRequest (body: Omit<StoreRequestBody, 'v'>, tenant: SigningKey): Uint8Array {
  const wireBody = { v: WIRE_VERSION, ...body, manifest: manifestToWire(body.manifest) }
  return signAndEncode(SIG.STORE_REQUEST, wireBody, tenant).bytes
}

function decodeStoreReceiptBody (value: unknown): StoreReceiptBody {
  const what = 'store receipt'
  const m = asMap(value, what, ['v', 'templateId', 'x', 'holder', 'commitment', 'seq', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    x: intField(m, 'x', what, { min: 1, max: 255 }),
    holder: peerField(m, 'holder', what),
    commitment: bytesField(m, 'commitment', what, { exact: HASH_BYTES }),
    seq: intField(m, 'seq', what, { min: 1, max: Number.MAX_SAFE_INTEGER }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Read a store receipt from a response body (signature not yet checked). */
export const readStoreReceipt = (v: unknown): StoreReceipt => readSigned(v, 'store receipt', decodeStoreReceiptBody)

/** Sign a store receipt as the holder. */
export function signStoreReceipt (body: Omit<StoreReceiptBody, 'v'>, holder: SigningKey): unknown {
  return signBody(SIG.STORE_RECEIPT, { v: WIRE_VERSION, ...body }, holder)
}
