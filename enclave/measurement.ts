/**
 * The enclave measurement: one hash naming the code an enclave runs, the
 * runtime, the isolation flags and, with image probes, the face models and
 * their configuration. Holders compare it with the measurements a template's
 * policy allows, so it must change with any byte the child could load and with
 * nothing else (see {@link measure}).
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { openSync, readSync, closeSync, lstatSync, readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { encodeCanonical } from '../crypto/canonical.ts'
import { taggedHash } from '../crypto/hash.ts'
import { plain } from '../crypto/bytes.ts'
import { HASH } from '../crypto/tags.ts'
import type { ReadEntry } from './read-set.ts'

/** Version of the measured structure; bump on any change to its layout. */
export const MEASUREMENT_VERSION = 1

/** What a measurement commits to. */
export interface MeasurementInput {
  /** the read set */
  entries: readonly ReadEntry[]
  /** launch flags that carry no path, in order */
  flags: readonly string[]
  /** configuration that changes behaviour (face models' settings), or null */
  config: unknown
  /** runtime description; defaults to this process's Node version, platform and architecture */
  runtime?: string
}

// Synchronous on purpose: a measurement reads a few hundred small files once
// per process, and the async fs API would queue each read behind whatever
// occupies libuv's four-thread pool (LevelDB's synced writes on a busy node),
// stretching an enclave start from milliseconds to tens of seconds.
const CHUNK = 1 << 20

function fileDigest (path: string): Uint8Array {
  const h = createHash('sha256')
  // Chunked: the face runtime's native library is large.
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) h.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return plain(h.digest())
}

function expand (label: string, path: string, out: Array<[string, Uint8Array]>): void {
  const st = lstatSync(path)
  if (st.isSymbolicLink()) {
    out.push([label, plain(createHash('sha256').update('symlink:' + readlinkSync(path)).digest())])
  } else if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) expand(`${label}/${name}`, join(path, name), out)
  } else if (st.isFile()) {
    out.push([label, fileDigest(path)])
  }
}

/**
 * The `[label, sha256]` list a measurement commits to, sorted by label: each
 * file entry of the read set, and every file under each directory entry.
 * Labels are location-independent (`crypto/seal.ts`,
 * `node_modules/cborg/lib/encode.js`, `face-model/embedder`), so two checkouts
 * of the same code on the same runtime measure the same. A symbolic link inside
 * a directory entry is recorded by its target text, not followed.
 *
 * @param entries - the read set
 * @returns one pair per readable file
 * @example for (const [label, digest] of await measuredFiles(entries)) console.log(label, toHex(digest))
 */
export async function measuredFiles (entries: readonly ReadEntry[]): Promise<Array<[string, Uint8Array]>> {
  const out: Array<[string, Uint8Array]> = []
  for (const e of entries) {
    if (e.dir) expand(e.label, e.path, out)
    else out.push([e.label, fileDigest(e.path)])
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** This process's runtime, as measured: Node version, platform, architecture. */
export function runtimeDescription (): string {
  return `node ${process.version} ${process.platform} ${process.arch}`
}

/**
 * Compute the measurement:
 *
 *     measurement = taggedHash(HASH.ENCLAVE_MEASUREMENT, canonical({
 *       v: 1,
 *       runtime: 'node v24.21.0 linux x64',
 *       flags: [non-path launch flags, in order],
 *       config: face configuration without file paths, or null,
 *       files: [[label, sha256(content)], …] sorted by label   (see measuredFiles)
 *     }))
 *
 * @param input - read set, flags, configuration and optionally the runtime
 * @returns 32 bytes
 * @throws {Error} when a file of the read set cannot be read
 * @example const m = await measure({ entries: enclaveReadSet(), flags: ['--permission'], config: null })
 */
export async function measure (input: MeasurementInput): Promise<Uint8Array> {
  const files = await measuredFiles(input.entries)
  const body = encodeCanonical({
    v: MEASUREMENT_VERSION,
    runtime: input.runtime ?? runtimeDescription(),
    flags: [...input.flags],
    config: input.config ?? null,
    files
  })
  return taggedHash(HASH.ENCLAVE_MEASUREMENT, body)
}
