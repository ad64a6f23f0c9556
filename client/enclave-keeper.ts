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

function closedError (): BioshardError {
  return new BioshardError('ERR_ENCLAVE', 'the client is closed; its enclave is stopped')
}

/**
 * Starts, attests and closes one client's enclave. Calls that arrive while
 * the enclave is starting wait for that start instead of starting another
 * (an enclave nobody closes would outlive the client), and close waits for
 * a start under way so that what it started is stopped too.
 */
export class EnclaveKeeper {
  readonly #options: EnclaveOptions | undefined
  readonly #verifier: Credential | undefined
  #enclave: Enclave | undefined
  #starting: Promise<Enclave> | undefined
  #handle: EnclaveHandle | undefined
  #closed = false

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
   * @throws {BioshardError} ERR_NOT_AUTHORISED without verifier credentials; ERR_ENCLAVE when it cannot start or the keeper is closed
   * @example const { enclave, attestation } = await keeper.handle()
   */
  async handle (): Promise<EnclaveHandle> {
    const e = this.#enclave ?? await this.#start()
    if (this.#handle !== undefined && this.#handle.generation === e.generation) return this.#handle
    if (this.#verifier === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no verifier credentials')
    await e.ready()
    // Calls waiting on the same restart attest it once.
    if (this.#handle !== undefined && this.#handle.generation === e.generation) return this.#handle
    const attestation = attestProcess({ key: e.publicKey, signer: e.signer, measurement: e.measurement }, this.#verifier.key)
    this.#handle = { enclave: e, generation: e.generation, attestation, match: async (req) => await e.match(req) }
    return this.#handle
  }

  /** The one start of the enclave, shared by every call that arrives before it is done. */
  async #start (): Promise<Enclave> {
    if (this.#closed) throw closedError()
    this.#starting ??= Enclave.start(this.#options).then(async (e) => {
      if (this.#closed) {
        await e.close()
        throw closedError()
      }
      this.#enclave = e
      return e
    }).finally(() => { this.#starting = undefined })
    return await this.#starting
  }

  /** Stop the enclave if it was started, or once it has started when a start is under way. */
  async close (): Promise<void> {
    this.#closed = true
    await this.#starting?.catch(() => {})
    await this.#enclave?.close()
  }
}
