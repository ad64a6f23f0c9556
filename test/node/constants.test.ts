/**
 * The daemon's and the network layer's constants keep the orders they
 * depend on: each ordering holds, the check fires when an ordering is
 * broken, and the pairs the layers rely on are among those checked.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertOrdering, NET_ORDERING, POOL_IDLE_MS, type Ordering } from '../../net/constants.ts'
import { NODE_ORDERING, STREAM_IDLE_MS, DRAIN_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../node/constants.ts'
import { DEFAULT_LIMITS } from '../../node/config.ts'

const swap = (o: Ordering): Ordering => ({ ...o, longer: o.shorter, shorter: o.longer, orEqual: false })
const has = (rules: readonly Ordering[], longer: string, shorter: string): boolean =>
  rules.some((r) => r.longer[0] === longer && r.shorter[0] === shorter)

const order = suite('constants: orderings checked at load')

order('every ordering of both layers holds (the modules loaded)', () => {
  assertOrdering([...NET_ORDERING, ...NODE_ORDERING])
})

order('the check fires on each ordering once it is broken, naming both values', () => {
  for (const rule of [...NET_ORDERING, ...NODE_ORDERING]) {
    const names = (e: Error): boolean => e instanceof RangeError && e.message.includes(rule.longer[0]) && e.message.includes(rule.shorter[0])
    assert.throws(() => { assertOrdering([swap(rule)]) }, names)
  }
  assert.throws(() => { assertOrdering([{ longer: ['A', 1], shorter: ['B', 1], why: 'strict' }]) }, RangeError)
  assertOrdering([{ longer: ['A', 1], shorter: ['B', 1], orEqual: true, why: 'or equal' }])
})

order('the holder keeps idle streams longer than callers pool them, and drains for a request\'s deadline', () => {
  assert.ok(has(NODE_ORDERING, 'STREAM_IDLE_MS', 'POOL_IDLE_MS'))
  assert.ok(has(NODE_ORDERING, 'DRAIN_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS'))
  assert.ok(STREAM_IDLE_MS > POOL_IDLE_MS && DRAIN_TIMEOUT_MS >= REQUEST_TIMEOUT_MS)
  assert.is(DEFAULT_LIMITS.streamIdleMs, STREAM_IDLE_MS, 'the configured default is the checked value')
  assert.is(DEFAULT_LIMITS.requestTimeoutMs, REQUEST_TIMEOUT_MS)
})

order.run()
