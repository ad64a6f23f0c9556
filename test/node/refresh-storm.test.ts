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

storm('3 kills: every template opens and verifies, nothing acknowledged is undone, chains verify, replaced shares leave the files', async () => {
  const s = await refreshStorm({ kills: 3, seed: 3, templates: 2 })
  const line = formatSummary(s)
  assert.is(s.kills, 3)
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
