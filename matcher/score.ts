/**
 * Scoring between embeddings: L2 normalisation and cosine similarity on
 * `Float32Array`s. Accumulation is in float64 so a score does not depend on
 * the order rounding happens to take.
 *
 * @module
 */

function afloat32 (value: unknown, name: string): Float32Array {
  if (!(value instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`)
  if (value.length === 0) throw new RangeError(`${name} must not be empty`)
  return value
}

/**
 * A unit-length copy of `v` (the input is left untouched).
 *
 * @param v - a non-empty vector
 * @returns a new vector with Euclidean norm 1
 * @throws {TypeError} when `v` is not a Float32Array
 * @throws {RangeError} when `v` is empty, all zeros or not finite
 * @example l2normalise(new Float32Array([3, 4])) // Float32Array [0.6, 0.8]
 */
export function l2normalise (v: Float32Array): Float32Array {
  afloat32(v, 'v')
  let ss = 0
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i]
  const norm = Math.sqrt(ss)
  if (!(norm > 0) || !Number.isFinite(norm)) throw new RangeError('v must have a finite, non-zero norm')
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i] / norm
  return out
}

/**
 * Cosine similarity in [-1, 1]; works on normalised or raw vectors alike.
 *
 * @param a - first vector
 * @param b - second vector, same length
 * @returns the cosine of the angle between `a` and `b`
 * @throws {TypeError} when either is not a Float32Array
 * @throws {RangeError} on a length mismatch or a zero/non-finite vector
 * @example cosine(new Float32Array([1, 0]), new Float32Array([0, 1])) // 0
 */
export function cosine (a: Float32Array, b: Float32Array): number {
  afloat32(a, 'a')
  afloat32(b, 'b')
  if (a.length !== b.length) throw new RangeError(`b must have length ${a.length}, got ${b.length}`)
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  const den = Math.sqrt(na * nb)
  if (!(den > 0) || !Number.isFinite(den)) throw new RangeError('a and b must have finite, non-zero norms')
  // Rounding can push |dot/den| a hair past 1 for parallel vectors.
  return Math.max(-1, Math.min(1, dot / den))
}
