/**
 * The face and voice stacks' native packages, loaded on first use. Both are
 * optional peer dependencies: an application that passes embeddings never
 * needs them, so the verifier library installs small and offline. A missing
 * package becomes a one-line ERR_MODEL naming what to install; the enclave's
 * read set finds these imports as the dynamic package imports of its modules.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'

/** The onnxruntime-node module (its CommonJS exports). */
export type OnnxRuntime = typeof import('onnxruntime-node')
/** sharp's default export, the image pipeline factory. */
export type SharpFactory = typeof import('sharp')['default']

function missing (name: string, what: string, cause: unknown): BioshardError {
  // Node's code for a package that is not installed: MODULE_NOT_FOUND from require, ERR_MODULE_NOT_FOUND from import.
  const code = (cause as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.endsWith('MODULE_NOT_FOUND')) {
    return new BioshardError('ERR_MODEL', `${what} needs the optional package ${name}: npm install ${name}`, { cause })
  }
  return new BioshardError('ERR_MODEL', `${name}, needed for ${what}, failed to load: ${(cause as Error).message}`, { cause })
}

let ort: Promise<OnnxRuntime> | undefined
let sharp: Promise<SharpFactory> | undefined

/**
 * ONNX Runtime for Node, imported once.
 *
 * @returns the module
 * @throws {BioshardError} ERR_MODEL when onnxruntime-node is not installed or does not load
 * @example const { InferenceSession } = await onnxRuntime()
 */
export async function onnxRuntime (): Promise<OnnxRuntime> {
  ort ??= import('onnxruntime-node').then((m) => m.default, (e: unknown) => {
    ort = undefined
    throw missing('onnxruntime-node', 'face and voice matching', e)
  })
  return await ort
}

/**
 * sharp, imported once.
 *
 * @returns sharp's factory function
 * @throws {BioshardError} ERR_MODEL when sharp is not installed or does not load
 * @example const img = (await sharpFactory())(bytes)
 */
export async function sharpFactory (): Promise<SharpFactory> {
  sharp ??= import('sharp').then((m) => m.default, (e: unknown) => {
    sharp = undefined
    throw missing('sharp', 'decoding photos', e)
  })
  return await sharp
}
