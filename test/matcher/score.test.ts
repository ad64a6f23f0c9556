/**
 * Scoring (matcher/score.ts): cosine similarity and L2 normalisation.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { cosine, l2normalise } from '../../matcher/score.ts'

const Score = suite('score')

Score('l2normalise returns a unit-length copy', () => {
  const v = new Float32Array([3, 4])
  const n = l2normalise(v)
  assert.equal([...n], [Math.fround(0.6), Math.fround(0.8)])
  assert.equal([...v], [3, 4])
})

Score('cosine is 1 for parallel, 0 for orthogonal and -1 for opposite vectors', () => {
  assert.is(cosine(new Float32Array([1, 2]), new Float32Array([2, 4])), 1)
  assert.is(cosine(new Float32Array([1, 0]), new Float32Array([0, 3])), 0)
  assert.is(cosine(new Float32Array([1, 1]), new Float32Array([-1, -1])), -1)
})

Score('rejects wrong types, lengths and zero vectors naming the argument', () => {
  assert.throws(() => cosine([1] as unknown as Float32Array, new Float32Array([1])), /^a must be a Float32Array/)
  assert.throws(() => cosine(new Float32Array([1]), new Float32Array([1, 2])), /b must have length 1/)
  assert.throws(() => cosine(new Float32Array([0, 0]), new Float32Array([1, 2])), RangeError)
  assert.throws(() => l2normalise(new Float32Array([0, 0])), RangeError)
  assert.throws(() => l2normalise(new Float32Array(0)), /v must not be empty/)
})

Score.run()
