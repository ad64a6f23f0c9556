/**
 * Where the shared models and test data live. The project never copies them
 * into its own tree: tests and benchmarks read them from `BIOSHARD_SHARED`
 * (default `<repo>/../shared`) and, when they are absent, skip with a printed
 * reason instead of passing silently.
 *
 * @module
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// The repository is one level up from the sources, two from the compiled code in dist/.
const REPO_ROOT = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../' : '../', import.meta.url))

/**
 * The shared directory: `env.BIOSHARD_SHARED` when set, else `<repo>/../shared`.
 *
 * @param env - the environment to read (default `process.env`)
 * @returns an absolute path (which may not exist)
 * @example sharedDir({ BIOSHARD_SHARED: '/data/shared' }) // '/data/shared'
 */
export function sharedDir (env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BIOSHARD_SHARED
  return resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(REPO_ROOT, '..', 'shared'))
}

/**
 * A path inside the shared directory.
 *
 * @param parts - path segments below the shared directory
 * @returns an absolute path (which may not exist)
 * @example sharedPath('models', 'face-detect-yunet.onnx')
 */
export function sharedPath (...parts: string[]): string {
  return join(sharedDir(), ...parts)
}

/**
 * For tests and benchmarks: check that every needed shared path exists. When
 * one is missing, print a one-line reason naming the path and how to point at
 * the shared directory, and return false so the caller registers its tests as
 * skipped (uvu `test.skip`), which the runner counts and shows.
 *
 * @param who - the suite or benchmark that needs the files, for the message
 * @param parts - paths relative to the shared directory
 * @returns true when all exist
 * @example const have = requireShared('face pipeline', ['models/face-detect-yunet.onnx'])
 */
export function requireShared (who: string, parts: readonly string[]): boolean {
  for (const p of parts) {
    const full = sharedPath(p)
    if (!existsSync(full)) {
      process.stdout.write(`SKIP ${who}: shared file ${full} not found (set BIOSHARD_SHARED to the shared directory)\n`)
      return false
    }
  }
  return true
}
