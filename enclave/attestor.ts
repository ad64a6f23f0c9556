/**
 * Enclave attestation, pluggable. An attestor turns an enclave's identity (its
 * X25519 key, its decision key and its measurement) into a signed statement
 * holders check before sealing a share to that key. A hardware quote (SGX,
 * SEV-SNP, Nitro) can replace the built-in {@link ProcessAttestor} behind the
 * same interface; it would put the keys and measurement in the quote's report data.
 *
 * @module
 */
import type { SigningKey } from '../crypto/sign.ts'
import { attestProcess } from '../protocol/attestation.ts'
import type { SignedWire } from '../protocol/signed.ts'
import type { EnclaveIdentity } from './enclave.ts'

/** Produces the attestation that goes into fetch requests. */
export interface EnclaveAttestor {
  /**
   * Attest one enclave generation.
   *
   * @param enclave - keys and measurement (e.g. `Enclave.identity`)
   * @returns the attestation in wire form
   */
  attest: (enclave: EnclaveIdentity) => SignedWire
}

/**
 * Process isolation, vouched for by the verifier: it signs, with its own key,
 * that its enclave child holds those keys and runs that code
 * (`protocol/attestation.ts`, kind `process`).
 *
 * @example const attestation = new ProcessAttestor(verifier.key).attest(enclave.identity)
 */
export class ProcessAttestor implements EnclaveAttestor {
  readonly #verifier: SigningKey
  readonly #now: () => number

  /**
   * @param verifier - the verifier's signing key (its certificate names the public half)
   * @param now - clock for the attestation time
   * @throws {TypeError} when `verifier` is not a signing key
   */
  constructor (verifier: SigningKey, now: () => number = Date.now) {
    if (verifier === null || typeof verifier !== 'object' || !(verifier.publicKey instanceof Uint8Array) || verifier.privateKey === undefined) {
      throw new TypeError('verifier must be a SigningKey')
    }
    this.#verifier = verifier
    this.#now = now
  }

  /**
   * @param enclave - keys and measurement
   * @returns a `process` attestation signed by the verifier
   * @throws {TypeError} when a field is not bytes
   * @example attestor.attest({ key, signer, measurement })
   */
  attest (enclave: EnclaveIdentity): SignedWire {
    if (enclave === null || typeof enclave !== 'object') throw new TypeError('enclave must be { key, signer, measurement }')
    for (const k of ['key', 'signer', 'measurement'] as const) {
      if (!(enclave[k] instanceof Uint8Array) || enclave[k].length !== 32) throw new TypeError(`enclave.${k} must be 32 bytes`)
    }
    return attestProcess({ key: enclave.key, signer: enclave.signer, measurement: enclave.measurement }, this.#verifier, this.#now())
  }
}
