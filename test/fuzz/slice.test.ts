/**
 * The quick seeded slice of the fuzz harness that runs in `npm test`: a
 * fast-check property per target (mutated captured messages, CBOR-aware
 * hostile edits, hand-built hostile bytes), every input accepted
 * consistently or refused with the target's typed errors, never another
 * exception and never over the time budget. The long run is
 * `npm run fuzz -- --iterations 1000000`.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { buildTargets } from './targets.ts'
import { judge } from './target.ts'
import { loadCorpus } from './corpus.ts'

/** Fixed, so a failure here replays: `npm run fuzz -- --seed 1715 --only <name>` explores around it. */
const SEED = 1715
/** Inputs per target: a few thousand over all targets stays within seconds on a busy machine. */
const RUNS = 100
/** Photos go through libvips, a hundred times slower per input than the wire decoders. */
const RUNS_SLOW: Record<string, number> = { image: 40, config: 60 }
/** Hostile maintain plans reach the checks behind the signatures and cost a few signatures each: more of them. */
const RUNS_MORE: Record<string, number> = { 'maintain-hostile': 400 }
/** Generous for a busy 2-core machine; the wire decoders answer in well under a millisecond. */
const BUDGET_MS = 5_000

const targets = await buildTargets()
const Slice = suite('fuzz slice: typed refusal or consistent acceptance')

Slice('the inventory covers every decoder kind of the corpus', () => {
  const names = new Set(targets.map((t) => t.name))
  for (const kind of loadCorpus().keys()) {
    const covered = [...names].some((n) => kind.startsWith(n) || kind.endsWith(n) || n.startsWith(kind.replace(/-response$/, '')))
    assert.ok(covered || kind === 'consent', `no target for captured ${kind}`)
  }
})

for (const target of targets) {
  Slice(`${target.name}: ${target.fn}`, async () => {
    await fc.assert(fc.asyncProperty(target.input, async (input) => {
      const o = await judge(target, input, BUDGET_MS)
      if (o.kind === 'crash' || o.kind === 'hang') throw new Error(JSON.stringify(o))
    }), { seed: SEED, numRuns: RUNS_SLOW[target.name] ?? RUNS_MORE[target.name] ?? RUNS })
  })
}

Slice.run()
