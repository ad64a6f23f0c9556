/**
 * The simulator's one source of randomness. A run has one seed; every
 * component takes its own stream with `fork(label)`, derived from the seed
 * and the label alone, so a change in how many numbers one component draws
 * never shifts what another sees. The generator is pure-rand's
 * xoroshiro128+ (the one fast-check uses), not Math.random.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator'

/** Largest seed accepted: seeds are unsigned 32-bit integers, short enough to read out and type back. */
export const MAX_SEED = 0xffff_ffff

/** A 32-bit seed from `label` under `seed`: the first four bytes of SHA-256(seed || label). */
function derive (seed: number, label: string): number {
  const digest = createHash('sha256').update(`${seed}\0${label}`).digest()
  return digest.readUInt32BE(0)
}

/** A seeded random stream (see the module doc). */
export class Rng {
  readonly seed: number
  readonly #gen: RandomGenerator

  /** @throws {RangeError} when `seed` is not an integer in [0, MAX_SEED] */
  constructor (seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}`)
    this.seed = seed
    this.#gen = xoroshiro128plus(seed | 0)
  }

  /** An independent stream for `label`, the same for the same seed and label. */
  fork (label: string): Rng { return new Rng(derive(this.seed, label)) }

  /** A float in [0, 1). */
  next (): number { return uniformFloat64(this.#gen) }

  /** An integer in [lo, hi], both included. */
  int (lo: number, hi: number): number { return uniformInt(this.#gen, lo, hi) }

  /** True with probability `p`. */
  chance (p: number): boolean { return this.next() < p }

  /** One element of a non-empty array. */
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[this.int(0, items.length - 1)]
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T> (items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const tmp = out[i]
      out[i] = out[j]
      out[j] = tmp
    }
    return out
  }

  /** `k` distinct elements, in random order. */
  sample<T> (items: readonly T[], k: number): T[] { return this.shuffle(items).slice(0, Math.max(0, k)) }

  /** `n` random bytes (for seeded keys and ids; never for secrets outside the simulator). */
  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255)
    return out
  }
}

/** A fresh seed for a run that was given none (printed, so the run can be replayed). */
export function freshSeed (): number {
  return derive(Date.now(), String(process.pid))
}
