/**
 * DESIGN invariants 3, 6 and 7 under kills during maintenance: a seeded
 * two-kill slice of the refresh storm (bench/refresh-storm.ts; `npm run
 * refresh-storm` runs 100) over five real node processes: a repair round
 * with its lost holder downed first, then a refresh round, each with a party
 * SIGKILLed mid-round, the killed nodes restarted with `--reconcile-now`, and
 * every template checked.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { refreshStorm, formatSummary, held } from '../../bench/refresh-storm.ts'

const storm = suite('refresh storm: SIGKILL at seeded moments during refresh and repair rounds')

storm('2 kills: no template lost, no acknowledged state undone, no replaced bytes left, chains intact', async () => {
  const s = await refreshStorm({ kills: 2, seed: 2 })
  assert.is(s.kills, 2)
  assert.equal(s.problems, [], formatSummary(s))
  assert.ok(held(s), formatSummary(s))
})

storm.run()
