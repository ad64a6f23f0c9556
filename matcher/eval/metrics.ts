/**
 * Verification accuracy from genuine and impostor similarity scores (higher =
 * more alike; a pair is accepted when score ≥ threshold), following ISO/IEC
 * 19795-1 terms: FMR(t), the fraction of impostor scores ≥ t; FNMR(t), the
 * fraction of genuine scores < t; the EER where they cross; and the threshold
 * for a target FMR. With N impostor pairs the FMR resolution is 1/N, so a
 * small N says little about a small target (report N beside it).
 *
 * @module
 */

function scores (v: unknown, name: string): number[] {
  if (!Array.isArray(v)) throw new TypeError(`${name} must be an array of numbers`)
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number' || !Number.isFinite(v[i])) throw new TypeError(`${name}[${i}] must be a finite number`)
  return v as number[]
}

function nonEmpty (v: unknown, name: string): number[] {
  const s = scores(v, name)
  if (s.length === 0) throw new RangeError(`${name} must not be empty`)
  return s
}

const ascending = (v: readonly number[]): Float64Array => Float64Array.from(v).sort()

/** Number of sorted values < t (binary search). */
function countBelow (sorted: Float64Array, t: number): number {
  let lo = 0; let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid] < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The smallest double greater than `x`: the threshold that rejects `x` and
 * accepts everything above it.
 *
 * @param x - a finite number
 * @returns the next representable double up
 * @example nextUp(0.5) // 0.5000000000000001
 */
export function nextUp (x: number): number {
  if (x === 0) return Number.MIN_VALUE
  const f = new Float64Array([x])
  const i = new BigInt64Array(f.buffer)
  i[0] += x > 0 ? 1n : -1n
  return f[0]
}

/**
 * False match rate at a threshold.
 *
 * @param impostor - impostor scores
 * @param threshold - accept when score ≥ threshold
 * @returns fraction of impostor scores ≥ threshold
 * @throws {TypeError} for non-numeric scores; {RangeError} when empty
 * @example fmrAt([0.1, 0.5], 0.3) // 0.5
 */
export function fmrAt (impostor: readonly number[], threshold: number): number {
  const s = nonEmpty(impostor, 'impostor')
  let n = 0
  for (const v of s) if (v >= threshold) n++
  return n / s.length
}

/**
 * False non-match rate at a threshold.
 *
 * @param genuine - genuine scores
 * @param threshold - accept when score ≥ threshold
 * @returns fraction of genuine scores < threshold
 * @throws {TypeError} for non-numeric scores; {RangeError} when empty
 * @example fnmrAt([0.4, 0.9], 0.5) // 0.5
 */
export function fnmrAt (genuine: readonly number[], threshold: number): number {
  const s = nonEmpty(genuine, 'genuine')
  let n = 0
  for (const v of s) if (v < threshold) n++
  return n / s.length
}

/** One operating point. */
export interface OperatingPoint {
  threshold: number
  fmr: number
  fnmr: number
}

/**
 * The operating point at every distinct observed score, in ascending
 * threshold order (FMR falls, FNMR rises): the data of a DET curve.
 *
 * @param genuine - genuine scores
 * @param impostor - impostor scores
 * @returns one point per distinct score
 * @throws {TypeError} for non-numeric scores; {RangeError} when either is empty
 * @example detPoints([0.8, 0.9], [0.1, 0.2])
 */
export function detPoints (genuine: readonly number[], impostor: readonly number[]): OperatingPoint[] {
  const g = ascending(nonEmpty(genuine, 'genuine'))
  const im = ascending(nonEmpty(impostor, 'impostor'))
  const all = Float64Array.from([...g, ...im]).sort()
  const out: OperatingPoint[] = []
  let gi = 0; let ii = 0
  for (let k = 0; k < all.length; k++) {
    const t = all[k]
    if (k > 0 && all[k - 1] === t) continue
    while (gi < g.length && g[gi] < t) gi++
    while (ii < im.length && im[ii] < t) ii++
    out.push({ threshold: t, fmr: (im.length - ii) / im.length, fnmr: gi / g.length })
  }
  return out
}

/**
 * Equal error rate: where FMR and FNMR cross, reported as (FMR + FNMR)/2 at
 * the observed threshold where |FMR − FNMR| is smallest.
 *
 * @param genuine - genuine scores
 * @param impostor - impostor scores
 * @returns the EER and the threshold it was read at
 * @throws {TypeError} for non-numeric scores; {RangeError} when either is empty
 * @example equalErrorRate([0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.65]).eer // 0.25
 */
export function equalErrorRate (genuine: readonly number[], impostor: readonly number[]): { eer: number, threshold: number } {
  let best: OperatingPoint | undefined
  for (const p of detPoints(genuine, impostor)) {
    if (best === undefined) { best = p; continue }
    const d = Math.abs(p.fmr - p.fnmr); const bd = Math.abs(best.fmr - best.fnmr)
    if (d < bd || (d === bd && p.fmr + p.fnmr < best.fmr + best.fnmr)) best = p
  }
  const p = best as OperatingPoint
  return { eer: (p.fmr + p.fnmr) / 2, threshold: p.threshold }
}

/** The decision threshold for a target FMR and what it achieves. */
export interface FmrThreshold {
  targetFmr: number
  /** Smallest threshold with empirical FMR ≤ target. */
  threshold: number
  /** Empirical FMR at `threshold` (≤ target). */
  fmr: number
  /** Impostor pairs the estimate rests on; the FMR resolution is 1/impostorPairs. */
  impostorPairs: number
  /** ⌊target · impostorPairs⌋: impostor scores allowed at or above the threshold. */
  allowedFalseMatches: number
}

/**
 * The smallest threshold whose empirical FMR is ≤ `targetFmr`: sort
 * impostor scores descending, allow k = ⌊target·N⌋ of them, and put the
 * threshold just above the (k+1)-th highest (the next double up, so that
 * score and every tie with it are rejected). At most ⌊target·N⌋ impostor
 * scores may reach it, and when that is 0 the threshold is just above the
 * highest impostor score.
 *
 * @param impostor - impostor scores
 * @param targetFmr - in (0, 1)
 * @returns the threshold and the counts behind it
 * @throws {TypeError} for non-numeric input; {RangeError} for an empty list or a target outside (0, 1)
 * @example thresholdForFmr([0.1, 0.2, 0.3], 0.5).threshold // just above 0.2 (one of three may pass)
 */
export function thresholdForFmr (impostor: readonly number[], targetFmr: number): FmrThreshold {
  const s = nonEmpty(impostor, 'impostor')
  if (typeof targetFmr !== 'number' || !(targetFmr > 0 && targetFmr < 1)) throw new RangeError('targetFmr must be in (0, 1)')
  const desc = ascending(s).reverse()
  const n = desc.length
  // A tiny epsilon so that e.g. 1e-3 · 1000 counts as 1, not 0.999….
  const k = Math.min(n - 1, Math.floor(targetFmr * n + 1e-9))
  const threshold = nextUp(desc[k])
  const sorted = ascending(s)
  const fmr = (n - countBelow(sorted, threshold)) / n
  return { targetFmr, threshold, fmr, impostorPairs: n, allowedFalseMatches: k }
}

/**
 * FNMR at the threshold chosen by {@link thresholdForFmr}.
 *
 * @param genuine - genuine scores
 * @param impostor - impostor scores
 * @param targetFmr - in (0, 1)
 * @returns the threshold record plus the FNMR there
 * @throws {TypeError|RangeError} as {@link thresholdForFmr} and for empty genuine scores
 * @example fnmrAtFmr(gen, imp, 1e-3).fnmr
 */
export function fnmrAtFmr (genuine: readonly number[], impostor: readonly number[], targetFmr: number): FmrThreshold & { fnmr: number } {
  const t = thresholdForFmr(impostor, targetFmr)
  return { ...t, fnmr: fnmrAt(genuine, t.threshold) }
}

/**
 * Mean of a score list.
 *
 * @example mean([1, 2, 3]) // 2
 */
export function mean (v: readonly number[]): number {
  const s = nonEmpty(v, 'v')
  let sum = 0
  for (const x of s) sum += x
  return sum / s.length
}
