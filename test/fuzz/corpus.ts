/**
 * The captured corpus (test/fuzz/corpus/, written by capture.ts): real
 * messages by kind, the seeds every mutation starts from.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Where the captured messages live, one `<kind>-<n>.bin` file each. */
export const CORPUS_DIR = join(import.meta.dirname, 'corpus')

/** Every captured message, by kind (the file name without its `-<n>.bin` tail). */
export function loadCorpus (): Map<string, Uint8Array[]> {
  const out = new Map<string, Uint8Array[]>()
  for (const f of readdirSync(CORPUS_DIR).filter((n) => n.endsWith('.bin')).sort()) {
    const kind = f.replace(/-[^-]+\.bin$/, '')
    const list = out.get(kind) ?? []
    list.push(new Uint8Array(readFileSync(join(CORPUS_DIR, f))))
    out.set(kind, list)
  }
  return out
}
