/**
 * The face commands' missing-model message: the matcher reports which model
 * file it could not read, and the command line is where the user can point
 * it elsewhere, so the CLI adds how (`--model-dir`, or BIOSHARD_SHARED).
 *
 * @module
 */
import { BioshardError } from '../errors.ts'

const HINT = 'give the directory holding the face models with --model-dir (or set BIOSHARD_SHARED to the directory above its models/)'

/** Whether `e` says a model file could not be found or loaded (the matcher's ERR_MODEL, or an enclave that could not hash one). */
function isModelFailure (e: unknown): e is BioshardError {
  return e instanceof BioshardError && (e.code === 'ERR_MODEL' || (e.code === 'ERR_ENCLAVE' && /model/i.test(e.message)))
}

/**
 * Run `work`; a model failure comes back with the same code and a hint naming `--model-dir`.
 *
 * @example return await withModelHint(async () => await embedPhoto(values))
 */
export async function withModelHint<T> (work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (e) {
    if (isModelFailure(e) && !e.message.includes('--model-dir')) throw new BioshardError(e.code, `${e.message}; ${HINT}`, { cause: e })
    throw e
  }
}
