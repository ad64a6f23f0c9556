/**
 * Enclave attestation. The built-in kind, `process`, is a statement signed by
 * the verifier: "my enclave process holds X25519 key K and runs code with
 * measurement M". A TEE quote (SGX, SEV-SNP, Nitro) can be added as another
 * `kind` behind the same check, without changing holders' policy logic.
 *
 * @module
 */
import { asMap, bytesField, intField, enumField } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signBody, readSigned, checkSigned, type Signed, type SignedWire } from './signed.ts'
import { KEY_BYTES, HASH_BYTES, WIRE_VERSION } from './constants.ts'

/**
 * `key`: the enclave's X25519 key that holders seal shares to; `signer`: the
 * enclave's Ed25519 key that signs match decisions; both generated inside it.
 */
export interface AttestationBody {
  v: number
  kind: 'process'
  key: Uint8Array
  signer: Uint8Array
  measurement: Uint8Array
  verifier: Uint8Array
  time: number
}
export type Attestation = Signed<AttestationBody>

/** Decode an attestation body. @throws {DecodeError} */
export function decodeAttestationBody (value: unknown): AttestationBody {
  const what = 'attestation'
  const m = asMap(value, what, ['v', 'kind', 'key', 'signer', 'measurement', 'verifier', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['process'] as const),
    key: bytesField(m, 'key', what, { exact: KEY_BYTES }),
    signer: bytesField(m, 'signer', what, { exact: KEY_BYTES }),
    measurement: bytesField(m, 'measurement', what, { exact: HASH_BYTES }),
    verifier: bytesField(m, 'verifier', what, { exact: KEY_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

export const readAttestation = (v: unknown): Attestation => readSigned(v, 'attestation', decodeAttestationBody)

/** Verifies one kind of attestation; returns the attested enclave key and measurement. */
export interface AttestationVerifier {
  verify: (a: Attestation, verifierKey: Uint8Array) => { key: Uint8Array, measurement: Uint8Array }
}

/** Process isolation: the verifier vouches for its own enclave child process. */
export const processAttestation: AttestationVerifier = {
  verify (a, verifierKey) {
    if (!equalBytes(a.body.verifier, verifierKey)) throw new BioshardError('ERR_NOT_AUTHORISED', 'attestation is signed for another verifier')
    checkSigned(SIG.ATTESTATION, a, verifierKey, 'attestation')
    return { key: a.body.key, measurement: a.body.measurement }
  }
}

/** Sign a process attestation for an enclave (verifier side). */
export function attestProcess (enclave: { key: Uint8Array, signer: Uint8Array, measurement: Uint8Array }, verifier: SigningKey, time = Date.now()): SignedWire {
  const body: AttestationBody = {
    v: WIRE_VERSION,
    kind: 'process',
    key: enclave.key,
    signer: enclave.signer,
    measurement: enclave.measurement,
    verifier: verifier.publicKey,
    time
  }
  return signBody(SIG.ATTESTATION, body, verifier)
}
