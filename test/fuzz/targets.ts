/**
 * The fuzz inventory: every decoder and validator that takes outside bytes
 * or values, as one table (name → function under test → typed refusals).
 * `node test/fuzz/run.ts --list` prints it; docs/security.md ("Fuzzing")
 * records what each has been run for.
 *
 * @module
 */
import { loadCorpus } from './corpus.ts'
import { wireTargets, corpusAnchor } from './targets-wire.ts'
import { localTargets } from './targets-local.ts'
import { auditTargets } from './targets-audit.ts'
import { standingTargets } from './targets-standing.ts'
import { maintainTargets } from './targets-maintain.ts'
import type { Target } from './target.ts'

/** Every target, wire ones first. */
export async function buildTargets (): Promise<Target[]> {
  const corpus = loadCorpus()
  const { anchor, now } = corpusAnchor(corpus)
  return [
    ...wireTargets({ corpus, anchor, now }), ...auditTargets(corpus), ...standingTargets(corpus, anchor), ...await maintainTargets(corpus),
    ...await localTargets()
  ]
}

/** The inventory as text rows: name, function under test, refusals. */
export function inventory (targets: readonly Target[]): string[] {
  return targets.map((t) => `${t.name.padEnd(16)} ${t.fn}\n${' '.repeat(17)}refusals: ${t.refusals.join(', ')}`)
}
