/**
 * The client's enclave: started on first use (a client that only enrols
 * embeddings or erases never spawns it), and attested again by the verifier
 * key whenever it has restarted, since shares sealed to a dead child's key
 * can never be opened by its successor.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { attestProcess } from '../protocol/attestation.ts'
import { Enclave, type EnclaveOptions } from '../enclave/enclave.ts'
import type { Credential, EnclaveHandle } from './context.ts'

/** Starts, attests and closes one client's enclave. */
export class EnclaveKeeper {
  readonly #options: EnclaveOptions | undefined
  readonly #verifier: Credential | undefined
  #enclave: Enclave | undefined
  #handle: EnclaveHandle | undefined

  /**
   * @param options - the enclave's options (face models)
   * @param verifier - the key that attests it; without one the enclave still measures, but cannot be used to verify
   */
  constructor (options: EnclaveOptions | undefined, verifier: Credential | undefined) {
    this.#options = options
    this.#verifier = verifier
  }

  /**
   * The running enclave with a current attestation.
   *
   * @throws {BioshardError} ERR_NOT_AUTHORISED without verifier credentials; ERR_ENCLAVE when it cannot start
   * @example const { enclave, attestation } = await keeper.handle()
   */
  async handle (): Promise<EnclaveHandle> {
    this.#enclave ??= await Enclave.start(this.#options)
    const e = this.#enclave
    if (this.#handle !== undefined && this.#handle.generation === e.generation) return this.#handle
    if (this.#verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
    await e.ready()
    const attestation = attestProcess({ key: e.publicKey, signer: e.signer, measurement: e.measurement }, this.#verifier.key)
    this.#handle = { enclave: e, generation: e.generation, attestation, match: async (req) => await e.match(req) }
    return this.#handle
  }

  /** Stop the enclave if it was started. */
  async close (): Promise<void> {
    await this.#enclave?.close()
  }
}
