/**
 * Each benchmark suite runs in a fresh Node process of its own and reports
 * its outcome back; a suite that throws, dies or cannot be loaded is a
 * reported outcome, never a crash of the runner.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runSuiteInChild } from '../../bench/suite-process.ts'

const fixture = (name: string): string => new URL(`./fixtures/${name}.suite.ts`, import.meta.url).href

const isolated = suite('a suite in its own process')

isolated('returns the results the suite produced, from a process that is not the runner', async () => {
  const outcome = await runSuiteInChild({ name: 'pid', url: fixture('pid') }, { quiet: true })
  assert.is(outcome.status, 'ok')
  assert.is(outcome.name, 'pid')
  assert.is(outcome.results.length, 1)
  assert.equal({ ...outcome.results[0], note: undefined }, { name: 'pid', unit: 'ms', median: 1, p99: 2, opsPerSec: 1000, note: undefined })
  const [pid] = outcome.results[0].note!.split(' ')
  assert.is.not(Number(pid), process.pid)
  assert.ok(outcome.seconds >= 0)
})

isolated('runs each suite in a fresh process: nothing one run leaves behind reaches the next', async () => {
  const first = await runSuiteInChild({ name: 'pid', url: fixture('pid') }, { quiet: true })
  const second = await runSuiteInChild({ name: 'pid', url: fixture('pid') }, { quiet: true })
  const [pid1, runs1] = first.results[0].note!.split(' ')
  const [pid2, runs2] = second.results[0].note!.split(' ')
  assert.is.not(pid1, pid2)
  assert.is(runs1, '1')
  assert.is(runs2, '1')
})

isolated('a suite that throws is failed, with its error as the reason', async () => {
  const outcome = await runSuiteInChild({ name: 'throws', url: fixture('throws') }, { quiet: true })
  assert.is(outcome.status, 'failed')
  assert.match(outcome.reason ?? '', 'the devnet did not start')
  assert.equal(outcome.results, [])
})

isolated('a suite whose process dies is failed, naming the exit code', async () => {
  const outcome = await runSuiteInChild({ name: 'exits', url: fixture('exits') }, { quiet: true })
  assert.is(outcome.status, 'failed')
  assert.match(outcome.reason ?? '', 'code 3')
})

isolated('a suite module that cannot be loaded is skipped, with the reason', async () => {
  const outcome = await runSuiteInChild({ name: 'missing', url: fixture('missing') }, { quiet: true })
  assert.is(outcome.status, 'skipped')
  assert.match(outcome.reason ?? '', 'cannot load')
})

isolated.run()
