/**
 * One error-code registry (`errors.ts`), and docs that keep up with it: every
 * code the source can raise is in the registry, and every registered code has
 * a row in the README's error table, so an application author can look up
 * any code they catch.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { sourceFiles } from '../helpers/source-files.ts'
import { join } from 'node:path'
import { ERROR_CODES } from '../../errors.ts'
import { REPO_ROOT } from '../../enclave/read-set.ts'

/** `ERR_*` strings in the source that are not bioshard codes, and why. */
const NOT_OURS: Record<string, string> = {
  ERR_ACCESS_DENIED: 'Node\'s permission model raises it inside the enclave child; bioshard reports ERR_ENCLAVE',
  ERR_MANY: 'the audit log\'s outcome for an aggregated overflow of refusals, not an error'
}
const ROOMS = ['crypto', 'protocol', 'net', 'keys', 'node', 'client', 'enclave', 'matcher', 'cli', 'sim']

/** Codes in the first column of a markdown table (`| \`ERR_X\`, \`ERR_Y\` | meaning |`). */
function tableCodes (markdown: string): Set<string> {
  const out = new Set<string>()
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue
    const first = line.split('|')[1] ?? ''
    for (const m of first.matchAll(/`(ERR_[A-Z_]+)`/g)) out.add(m[1] as string)
  }
  return out
}

const Codes = suite('error codes: one registry, documented')

Codes('every ERR_ code in the source is registered in errors.ts', () => {
  const files = [join(REPO_ROOT, 'index.ts'), ...ROOMS.flatMap((r) => sourceFiles(join(REPO_ROOT, r)))]
  const seen = new Set<string>()
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/['"`](ERR_[A-Z_]+)['"`]/g)) seen.add(m[1] as string)
  const missing = [...seen].filter((c) => !(c in ERROR_CODES) && !(c in NOT_OURS))
  assert.equal(missing, [])
  assert.ok(seen.size >= 20, `the source was scanned (${seen.size} codes)`)
})

Codes('the README\'s error table has a row for every registered code', () => {
  const documented = tableCodes(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'))
  const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c))
  assert.equal(missing, [])
})

Codes('the table check reads only the first column of table rows', () => {
  const codes = tableCodes('| `ERR_A`, `ERR_B` | see `ERR_C` |\nprose `ERR_D`\n')
  assert.equal([...codes].sort(), ['ERR_A', 'ERR_B'])
})

Codes.run()
