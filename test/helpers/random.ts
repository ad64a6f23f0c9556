/**
 * Randomness helpers shared by property tests: a seeded PRNG for
 * reproducible sizes and positions, and unseeded draws for (t, n).
 */
export { prng } from '../../sim/synthetic.ts'

/** A uniform integer in [lo, hi]. */
export function randInt (lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1))
}

/** A shuffled copy (Fisher–Yates). */
export function shuffle<T> (a: readonly T[]): T[] {
  const b = a.slice()
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const tmp = b[i]; b[i] = b[j]; b[j] = tmp
  }
  return b
}

/** Random (t, n) with 2 ≤ t ≤ n ≤ 12. */
export function randTN (): [number, number] {
  const n = randInt(2, 12)
  return [randInt(2, n), n]
}
