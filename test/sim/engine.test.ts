/**
 * The simulator's run loop on real nodes: a seeded run with crashes, a
 * restart and departures, run twice with the same seed. Every count and
 * every step (but latency) must be identical; templates that lost more than
 * n − t holders are measured unrecoverable and confirmed lost by trying, and
 * none is lost with fewer failures.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { availableParallelism } from 'node:os'
import { runSimulation } from '../../sim/engine.ts'
import { paramsFor } from '../../sim/scenarios.ts'
import type { FaultEvent, Scenario } from '../../sim/types.ts'
import { deterministic } from '../helpers/sim-determinism.ts'

/**
 * Nodes 3 and 4 (the only nodes of site-4 and site-5, so holders of every template) leave for good and one more node crashes
 * at hour 1; at hour 2 the crashed one restarts and another node leaves for good, so the templates it held are down to
 * n − 3 < t live shares, and stay so when the run's end restarts every crashed node.
 */
const heavyChurn: Scenario = {
  name: 'heavy-churn',
  summary: 'two departures and a crash at once, then a restart and a third departure',
  invariant: 'no template lost while failed holders ≤ n − t',
  defaults: { nodes: 8, sites: 5, templates: 20, t: 3, n: 5, hours: 3, probesPerHour: 6, coalitions: [] },
  schedule: (p, rng) => {
    const shared = [0, 1, 2, 5, 6, 7]
    const [third, leaver] = rng.sample(shared, 2)
    const events: FaultEvent[] = [
      { at: 1, kind: 'depart', node: 3 }, { at: 1, kind: 'depart', node: 4 }, { at: 1, kind: 'crash', node: third }
    ]
    return [...events, { at: 2, kind: 'restart', node: third }, { at: 2, kind: 'depart', node: leaver }]
  }
}

const params = paramsFor(heavyChurn, { seed: 424242 })

const first = await runSimulation({ scenario: heavyChurn, params })
const second = await runSimulation({ scenario: heavyChurn, params })

const Engine = suite('engine: a seeded run of real nodes under churn')

Engine('every template is enrolled and each hour is a step with its faults', () => {
  assert.is(first.counts.enrolled, 20)
  assert.is(first.counts.enrollFailed, 0)
  assert.equal(first.steps.map((s) => s.hour), [0, 1, 2])
  assert.equal(first.steps.map((s) => s.faultsApplied), [0, 3, 2])
  assert.equal(first.steps.map((s) => s.nodesUp), [8, 5, 5])
  assert.is(first.steps[0].liveShares.min, 5, 'before any fault every template has n live shares')
  assert.is(first.counts.verifyAttempts, 18)
})

Engine('the enrolment phase reports the CPU it took, every thread of the process included', () => {
  const { enrollCpuMs, enrollMs } = first.timings
  assert.ok(enrollCpuMs !== undefined && enrollCpuMs > 0, `enrolment CPU ${enrollCpuMs}`)
  // No more than every core of the machine for the whole phase, with a margin for the clocks' granularity.
  assert.ok(enrollCpuMs <= enrollMs * availableParallelism() + 50, `${enrollCpuMs} ms of CPU in ${enrollMs} ms`)
})

Engine('the same seed gives the same counts, steps, exposure and invariants', () => {
  assert.equal(deterministic(second), deterministic(first))
})

Engine('templates measured unrecoverable are confirmed lost by trying, and only with more than n − t failed holders', () => {
  const last = first.steps[first.steps.length - 1]
  assert.ok(first.counts.lost > 0, 'the templates the departed node held are lost')
  assert.is(first.counts.lost, last.unrecoverable, 'every unrecoverable template failed to verify')
  for (const check of first.invariants) assert.ok(check.holds, `${check.name}: ${check.detail}`)
  assert.ok(first.invariants.some((c) => c.name.startsWith('no template lost')))
})

Engine('verifications of recoverable templates succeed; failures only where shares were lost', () => {
  const s1 = first.steps[1]
  assert.is(s1.verify.accepted + s1.verify.failed, s1.verify.attempts, 'a genuine probe is never rejected')
  if (s1.unrecoverable === 0) assert.is(s1.verify.failed, 0)
})

Engine.run()
