/**
 * A seeded slice of the refresh storm (bench/refresh-storm.ts; `npm run
 * refresh-storm` runs 100 kills): real node processes, refresh and repair
 * rounds with one party SIGKILLed at a seeded moment of each, restarts waited
 * on until their reconciliation pass has ended, then every template, holder,
 * audit chain and replaced share checked.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { refreshStorm, formatSummary } from '../../bench/refresh-storm.ts'

const storm = suite('refresh storm: SIGKILL at seeded moments during refresh and repair rounds')

storm('2 kills (a repair, a refresh): templates open and verify, nothing acknowledged undone, chains verify, no replaced share left', async () => {
  const s = await refreshStorm({ kills: 2, seed: 2, templates: 2 })
  const line = formatSummary(s)
  assert.is(s.kills, 2)
  assert.equal(s.problems, [], line)
  assert.is(s.lost, 0, line)
  assert.is(s.undone, 0, line)
  assert.is(s.inconsistent, 0, line)
  assert.is(s.extra, 0, line)
  assert.is(s.rejected, 0, line)
  assert.is(s.leaked, 0, line)
  assert.is(s.chainBroken, 0, line)
})

storm.run()
