/**
 * A run stopped during enrolment (Ctrl-C, `timeout`'s SIGTERM: the CLI's stop
 * signal) stops enrolling: no enrolment starts once the signal aborts, and the
 * run ends with the signal's reason instead of enrolling every template first.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runSimulation } from '../../sim/engine.ts'
import { SCENARIOS, paramsFor } from '../../sim/scenarios.ts'

test('a run aborted after its first enrolments ends with the reason, long before the last template', async () => {
  const templates = 60
  const params = paramsFor(SCENARIOS.baseline, { seed: 21, nodes: 5, sites: 5, templates, t: 2, n: 3, hours: 1, transport: 'memory' })
  const stop = new AbortController()
  let enrolled = 0
  const onProgress = (p: { phase: string, done: number }): void => {
    if (p.phase !== 'enroll') return
    enrolled = p.done
    if (p.done >= 2) stop.abort(new Error('stopped by the operator'))
  }
  try {
    await runSimulation({ scenario: SCENARIOS.baseline, params, onProgress, signal: stop.signal })
    assert.unreachable('the run went on')
  } catch (e) {
    assert.is((e as Error).message, 'stopped by the operator')
  }
  // At most the enrolments in flight when it aborted (8 at a time) finish after it.
  assert.ok(enrolled < 2 + 8 + 1, `${enrolled} of ${templates} enrolments were reported`)
})

test.run()
