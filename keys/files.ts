/**
 * Small file helpers for keys and configs: secrets are written with mode
 * 0600 and never overwritten (an `init` that silently replaced a key would
 * orphan every share stored under it).
 *
 * @module
 */
import { writeFileSync, readFileSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { BioshardError } from '../errors.ts'
import { plain } from '../crypto/bytes.ts'

/** Write a new file with mode 0600; refuses to overwrite. */
export function writeSecretFile (path: string, data: Uint8Array | string): void {
  try {
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new BioshardError('ERR_CONFIG', `${path} already exists; refusing to overwrite it`)
    throw e
  }
}

/** Read a file as bytes, with a config error naming it when missing. */
export function readBytesFile (path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new BioshardError('ERR_CONFIG', `${what} not found at ${path}`)
  return plain(readFileSync(path))
}

/** Read and parse a JSON file, with a config error naming it when missing or malformed. */
export function readJsonFile (path: string, what: string): unknown {
  const text = new TextDecoder().decode(readBytesFile(path, what))
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new BioshardError('ERR_CONFIG', `${what} at ${path} is not valid JSON: ${(e as Error).message}`)
  }
}

/** Create a private directory (0700) if missing. */
export function ensurePrivateDir (dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (!statSync(dir).isDirectory()) throw new BioshardError('ERR_CONFIG', `${dir} is not a directory`)
}
