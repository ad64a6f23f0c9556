/**
 * Bounded caches (crypto/bounded-map.ts): the oldest entry makes room, and
 * replacing a key already held drops nothing.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { setBounded } from '../../crypto/bounded-map.ts'

const Bounded = suite('bounded map')

Bounded('drops the oldest entry once the map holds max entries', () => {
  const m = new Map<string, number>()
  for (const [i, k] of ['a', 'b', 'c'].entries()) setBounded(m, k, i, 2)
  assert.equal([...m.keys()], ['b', 'c'])
})

Bounded('replacing a key it holds keeps every other entry', () => {
  const m = new Map([['a', 1], ['b', 2]])
  setBounded(m, 'a', 3, 2)
  assert.equal([...m.entries()], [['a', 3], ['b', 2]])
})

Bounded.run()
