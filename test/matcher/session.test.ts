/**
 * Continuous-session trust, driven by a controllable clock.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { TrustModel, resolveSessionPolicy, type StateChange } from '../../matcher/session.ts'

const d = (n: number): Uint8Array => Uint8Array.of(n)
const trust = suite('TrustModel')

trust('trust halves every half-life without a match', () => {
  const m = new TrustModel({ halfLifeMs: 1000, floor: 0.1 }, 0)
  assert.ok(Math.abs(m.trust(1000) - 0.5) < 1e-12)
  assert.ok(Math.abs(m.trust(3000) - 0.125) < 1e-12)
})

trust('decay alone moves the session to step-up below the floor, with no decisions to show', () => {
  const m = new TrustModel({ halfLifeMs: 1000, floor: 0.5 }, 0)
  assert.is(m.tick(900), undefined)
  const c = m.tick(1001) as StateChange
  assert.equal([c.from, c.to], ['trusted', 'step-up'])
  assert.is(c.decisions.length, 0)
  assert.is(m.state, 'step-up')
})

trust('an accepted passive match raises trust back above the floor and the change carries its decision', () => {
  const m = new TrustModel({ halfLifeMs: 1000, floor: 0.5 }, 0)
  m.tick(2000)
  const c = m.observe({ accept: true, score: 0.9, threshold: 0.4, decision: d(7), time: 2000 }) as StateChange
  assert.equal([c.from, c.to], ['step-up', 'trusted'])
  assert.equal(c.decisions, [d(7)])
  assert.ok(m.trust(2000) > 0.5)
})

trust('decisions without a score (the default policy): an accept closes three quarters of the gap, a reject cuts as usual', () => {
  const m = new TrustModel({ halfLifeMs: 1000, floor: 0.5 }, 0, 0.2)
  const c = m.observe({ accept: true, threshold: 0.4, decision: d(3), time: 0 }) as StateChange
  assert.equal([c.from, c.to], ['step-up', 'trusted'])
  assert.ok(Math.abs(m.trust(0) - 0.8) < 1e-12)
  m.observe({ accept: false, threshold: 0.4, decision: d(4), time: 0 })
  assert.ok(Math.abs(m.trust(0) - 0.4) < 1e-12)
})

trust('a stronger score raises trust more than a marginal one', () => {
  const a = new TrustModel({ halfLifeMs: 1000 }, 0, 0.2)
  const b = new TrustModel({ halfLifeMs: 1000 }, 0, 0.2)
  a.observe({ accept: true, score: 0.95, threshold: 0.4, decision: d(1), time: 0 })
  b.observe({ accept: true, score: 0.41, threshold: 0.4, decision: d(2), time: 0 })
  assert.ok(a.trust(0) > b.trust(0))
})

trust('rejected passive matches cut trust and trigger step-up; the change lists every decision since the last change', () => {
  const m = new TrustModel({ halfLifeMs: 1e9, floor: 0.5, rejectPenalty: 0.3 }, 0)
  assert.is(m.observe({ accept: false, score: 0.1, threshold: 0.4, decision: d(1), time: 1 }), undefined) // 0.7
  const c = m.observe({ accept: false, score: 0.1, threshold: 0.4, decision: d(2), time: 2 }) as StateChange // 0.49
  assert.is(c.to, 'step-up')
  assert.equal(c.decisions, [d(1), d(2)])
})

trust('bad policies are refused naming the field', () => {
  assert.throws(() => resolveSessionPolicy({ halfLifeMs: 0 }), /halfLifeMs/)
  assert.throws(() => resolveSessionPolicy({ floor: 2 }), /floor/)
  assert.throws(() => resolveSessionPolicy({ rejectPenalty: -1 }), /rejectPenalty/)
})

trust.run()
