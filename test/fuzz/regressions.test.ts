/**
 * Every input the fuzzer has ever found (test/fuzz/regressions/*.json, one
 * finding each, as `npm run fuzz` writes them) replayed through its target:
 * each must now be accepted consistently or refused with a typed error.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildTargets } from './targets.ts'
import { judge, reviveInput } from './target.ts'

const DIR = join(import.meta.dirname, 'regressions')
const targets = await buildTargets()
const Regressions = suite('fuzz findings stay fixed')

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  Regressions(file, async () => {
    const found = reviveInput(readFileSync(join(DIR, file), 'utf8')) as { target: string, note: string, input: unknown }
    const target = targets.find((t) => t.name === found.target)
    assert.ok(target !== undefined, `no target ${found.target}`)
    const o = await judge(target, found.input, 10_000)
    assert.ok(o.kind === 'accepted' || o.kind === 'refused', `${found.note}: ${JSON.stringify(o)}`)
  })
}

Regressions.run()
