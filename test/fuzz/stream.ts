/**
 * The reproducible input stream of a fuzz run: input `i` of a target under
 * seed `s` is always the same value, so a finding (or a hang seen only from
 * outside the worker) is rebuilt from its seed and index alone.
 *
 * @module
 */
import fc from 'fast-check'
import type { Target } from './target.ts'

/** Inputs drawn per fast-check sample call. */
export const BATCH = 1000

/** The fast-check seed of one batch. */
const batchSeed = (seed: number, batch: number): number => (seed ^ Math.imul(batch + 1, 0x9e3779b1)) | 0

/** Inputs `batch·BATCH … batch·BATCH + BATCH − 1` of `target` under `seed`. */
export function batchOf (target: Target, seed: number, batch: number): unknown[] {
  return fc.sample(target.input, { seed: batchSeed(seed, batch), numRuns: BATCH })
}

/** Input `index` of `target` under `seed`. */
export function inputAt (target: Target, seed: number, index: number): unknown {
  return batchOf(target, seed, Math.floor(index / BATCH))[index % BATCH]
}
