/**
 * `/bioshard/audit/1.0.0` messages: the tenant, or an auditor it certified
 * for the purpose `audit`, asks a holder to prove it still holds its exact
 * share of a template; the holder answers with a zero-knowledge proof of
 * possession (crypto/possession.ts) bound to the request's hash, in a signed
 * response. No message carries share bytes.
 *
 * The request names the owning tenant's key: the holder looks the id up only
 * in that tenant's slot, so a stranger or another tenant hears what it would
 * hear for an id that does not exist.
 *
 * @module
 */
import { asMap, bytesField, intField, decodeCanonical } from '../crypto/canonical.ts'
import { SIG, HASH } from '../crypto/tags.ts'
import { taggedHash } from '../crypto/hash.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signAndEncode, signBody, readSigned, type Signed, type SignedWire } from './signed.ts'
import { readVerifierCert, type VerifierCert } from './certs.ts'
import { peerField } from './fields.ts'
import {
  HASH_BYTES, KEY_BYTES, MAX_AUDIT_PROOF_BYTES, MAX_MESSAGE_BYTES, MAX_SEQ, NONCE_BYTES, PROTOCOL, TEMPLATE_ID_BYTES, WIRE_VERSION
} from './constants.ts'

/** The purpose a verifier certificate must list for its key to audit the tenant's templates. */
export const AUDIT_PURPOSE = 'audit'
/** The smallest proof: the point A and three scalars (a one-byte share). */
const MIN_PROOF_BYTES = 32 * 4

export interface AuditRequestBody {
  v: number
  templateId: Uint8Array
  /** The owning tenant's public key: the request is signed by it, or by the auditor `cert` names. */
  tenant: Uint8Array
  /** A delegated auditor's certificate, issued by `tenant` with purpose {@link AUDIT_PURPOSE}; absent when the tenant asks itself. */
  cert?: VerifierCert
  sender: string
  nonce: Uint8Array
  time: number
}
export type AuditRequest = Signed<AuditRequestBody>

export interface AuditResponseBody {
  v: number
  templateId: Uint8Array
  x: number
  holder: string
  /** The possession proof (crypto/possession.ts), bound to `request`. */
  proof: Uint8Array
  /** Hash of the request answered ({@link auditRequestHash}). */
  request: Uint8Array
  /** Seq of the manifest whose audit commitment the proof answers to. */
  seq: number
  time: number
}
export type AuditResponse = Signed<AuditResponseBody>

function decodeAuditRequestBody (value: unknown): AuditRequestBody {
  const what = 'audit request'
  const m = asMap(value, what, ['v', 'templateId', 'tenant', 'sender', 'nonce', 'time'], ['cert'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    tenant: bytesField(m, 'tenant', what, { exact: KEY_BYTES }),
    ...('cert' in m ? { cert: readVerifierCert(m.cert) } : {}),
    sender: peerField(m, 'sender', what),
    nonce: bytesField(m, 'nonce', what, { exact: NONCE_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/**
 * Decode an audit request (size-limited, canonical, every field checked; signature not yet checked).
 *
 * @throws {BioshardError} ERR_TOO_LARGE over the limit, ERR_DECODE for anything malformed
 */
export function decodeAuditRequest (bytes: Uint8Array): AuditRequest {
  return readSigned(decodeCanonical(bytes, MAX_MESSAGE_BYTES[PROTOCOL.AUDIT], 'audit request'), 'audit request', decodeAuditRequestBody)
}

/** Inputs of an audit request; a delegated auditor passes its certificate in wire form. */
export interface AuditRequestInit {
  templateId: Uint8Array
  tenant: Uint8Array
  cert?: SignedWire
  sender: string
  nonce: Uint8Array
  time: number
}

/** An encoded, signed audit request and the hash its response must bind to. */
export interface EncodedAuditRequest { bytes: Uint8Array, hash: Uint8Array }

/**
 * Encode and sign an audit request as the tenant (no `cert`) or as the
 * auditor `cert` certifies, and hash it from the body bytes just signed.
 *
 * @example const { bytes, hash } = encodeAuditRequest({ templateId, tenant: tenantKey.publicKey, sender, nonce, time }, tenantKey)
 */
export function encodeAuditRequest (init: AuditRequestInit, signer: SigningKey): EncodedAuditRequest {
  const { bytes, body, sig } = signAndEncode(SIG.AUDIT_REQUEST, { v: WIRE_VERSION, ...init }, signer)
  return { bytes, hash: taggedHash(HASH.REQUEST, body, sig) }
}

/** The hash a response binds to (and the proof's Fiat-Shamir binding): the request's signed body bytes and signature. */
export function auditRequestHash (req: AuditRequest): Uint8Array {
  return taggedHash(HASH.REQUEST, req.bytes, req.sig)
}

function decodeAuditResponseBody (value: unknown): AuditResponseBody {
  const what = 'audit response'
  const m = asMap(value, what, ['v', 'templateId', 'x', 'holder', 'proof', 'request', 'seq', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    x: intField(m, 'x', what, { min: 1, max: 255 }),
    holder: peerField(m, 'holder', what),
    proof: bytesField(m, 'proof', what, { min: MIN_PROOF_BYTES, max: MAX_AUDIT_PROOF_BYTES }),
    request: bytesField(m, 'request', what, { exact: HASH_BYTES }),
    seq: intField(m, 'seq', what, { min: 1, max: MAX_SEQ }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

/** Read an audit response from a response body (signature not yet checked). @throws {DecodeError} */
export const readAuditResponse = (v: unknown): AuditResponse => readSigned(v, 'audit response', decodeAuditResponseBody)

/** Sign an audit response as the holder. */
export function signAuditResponse (body: Omit<AuditResponseBody, 'v'>, holder: SigningKey): SignedWire {
  return signBody(SIG.AUDIT_RESPONSE, { v: WIRE_VERSION, ...body }, holder)
}
