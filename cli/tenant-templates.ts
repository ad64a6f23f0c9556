/**
 * The tenant directory's list of enrolled templates (`templates.txt`, one
 * hex id per line): `bioshard enroll` appends, `bioshard erase` removes an id
 * once every holder has erased it, and `bioshard maintain` reads it on every
 * pass so templates enrolled meanwhile are maintained too. The file is 0600
 * like the tenant's other files; ids are not secret but they say who enrolled.
 *
 * @module
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { toHex } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { TEMPLATE_ID_BYTES } from '../protocol/constants.ts'

/** The file's name inside the tenant directory. */
export const TEMPLATES_FILE = 'templates.txt'

/** A template id as the file holds it: TEMPLATE_ID_BYTES in hex. */
const ID_LINE = new RegExp(`^[0-9a-f]{${TEMPLATE_ID_BYTES * 2}}$`)

/** Append `templateId` to the tenant's list (creating the file 0600). */
export function recordTemplate (dir: string, templateId: Uint8Array): void {
  appendFileSync(join(dir, TEMPLATES_FILE), `${toHex(templateId)}\n`, { mode: 0o600 })
}

/**
 * The tenant's template ids, in file order without repeats; none when the
 * file is absent (nothing enrolled yet). Blank lines are skipped.
 *
 * @throws {BioshardError} ERR_CONFIG naming the first line that is not a template id
 */
export function readTemplates (dir: string): string[] {
  const path = join(dir, TEMPLATES_FILE)
  if (!existsSync(path)) return []
  const ids = new Set<string>()
  for (const [i, raw] of readFileSync(path, 'utf8').split('\n').entries()) {
    const line = raw.trim().toLowerCase()
    if (line === '') continue
    if (!ID_LINE.test(line)) throw new BioshardError('ERR_CONFIG', `${path} line ${i + 1} is not a template id (${TEMPLATE_ID_BYTES * 2} hex digits)`)
    ids.add(line)
  }
  return [...ids]
}

/** Remove `templateId` from the tenant's list, rewriting it whole (a temporary file renamed over it) so a reader never sees half a file. */
export function forgetTemplate (dir: string, templateId: Uint8Array): void {
  const path = join(dir, TEMPLATES_FILE)
  if (!existsSync(path)) return
  const hex = toHex(templateId)
  const kept = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '' && l.trim().toLowerCase() !== hex)
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, kept.map((l) => `${l}\n`).join(''), { mode: 0o600 })
  renameSync(tmp, path)
}
