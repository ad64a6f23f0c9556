/**
 * Synthetic face-like embeddings for demos and tests that must run on any
 * machine: each identity is a random unit vector; a genuine probe is the
 * identity plus noise (cosine ≈ 0.7, like real same-person pairs), an
 * impostor probe is another identity (cosine ≈ 0).
 *
 * @module
 */

/** A seeded PRNG (mulberry32) so demo runs are repeatable. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function gaussian (rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())
}

function normalise (v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  const n = Math.sqrt(s) || 1
  for (let i = 0; i < v.length; i++) v[i] /= n
  return v
}

/** A random unit vector of `dim` dimensions. */
export function syntheticIdentity (dim: number, rand: () => number): Float32Array {
  return normalise(Float32Array.from({ length: dim }, () => gaussian(rand)))
}

/** A genuine probe of `identity`: cosine to it ≈ 1 / sqrt(1 + noise²). */
export function syntheticProbe (identity: Float32Array, rand: () => number, noise = 1): Float32Array {
  const scale = noise / Math.sqrt(identity.length)
  return normalise(Float32Array.from(identity, (x) => x + gaussian(rand) * scale))
}
