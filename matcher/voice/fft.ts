/**
 * Power spectrum of a real frame: an iterative radix-2 complex FFT of half the
 * length, with the standard split step that turns it into the spectrum of the
 * real input (Oppenheim & Schafer, "computing the DFT of a real sequence with
 * an N/2-point complex DFT"). Written here rather than taken from npm: the one
 * fast, popular package (`fft.js`) has had no release since 2017, ships
 * CommonJS without types and would be the pipeline's only numeric dependency;
 * tests check this against a naive DFT. Everything is float64.
 *
 * @module
 */

/** A reusable plan for one power-of-two size; not safe to share across concurrent callers of the same buffers. */
export class RealFft {
  /** The real input length N. */
  readonly size: number
  private readonly half: number
  private readonly rev: Uint32Array
  private readonly cosM: Float64Array // cos(2πj/M), j < M/2: twiddles of the M-point FFT
  private readonly sinM: Float64Array
  private readonly cosN: Float64Array // cos(2πk/N), k ≤ M: twiddles of the split step
  private readonly sinN: Float64Array
  private readonly re: Float64Array
  private readonly im: Float64Array

  /**
   * @param size - N, a power of two, 4 to 65536
   * @throws {RangeError} when `size` is not such a power of two
   * @example const fft = new RealFft(512)
   */
  constructor (size: number) {
    if (!Number.isInteger(size) || size < 4 || size > 65_536 || (size & (size - 1)) !== 0) {
      throw new RangeError(`size must be a power of two in [4, 65536], got ${size}`)
    }
    this.size = size
    const m = size / 2
    this.half = m
    const bits = Math.log2(m)
    this.rev = new Uint32Array(m)
    for (let i = 0; i < m; i++) {
      let r = 0
      for (let b = 0, x = i; b < bits; b++, x >>= 1) r = (r << 1) | (x & 1)
      this.rev[i] = r
    }
    this.cosM = new Float64Array(m / 2)
    this.sinM = new Float64Array(m / 2)
    for (let j = 0; j < m / 2; j++) {
      this.cosM[j] = Math.cos((2 * Math.PI * j) / m)
      this.sinM[j] = Math.sin((2 * Math.PI * j) / m)
    }
    this.cosN = new Float64Array(m + 1)
    this.sinN = new Float64Array(m + 1)
    for (let k = 0; k <= m; k++) {
      this.cosN[k] = Math.cos((2 * Math.PI * k) / size)
      this.sinN[k] = Math.sin((2 * Math.PI * k) / size)
    }
    this.re = new Float64Array(m)
    this.im = new Float64Array(m)
  }

  /**
   * |X[k]|² for k = 0…N/2 of the real input x (X[k] = Σ x[n]·e^{-2πikn/N}).
   *
   * @param x - N real samples (not modified)
   * @param out - receives N/2 + 1 powers
   * @returns `out`
   * @throws {RangeError} when the lengths are wrong
   * @example fft.power(frame, new Float64Array(257))
   */
  power (x: Float64Array, out: Float64Array): Float64Array {
    const n = this.size
    const m = this.half
    if (x.length !== n) throw new RangeError(`x must hold ${n} samples, got ${x.length}`)
    if (out.length !== m + 1) throw new RangeError(`out must hold ${m + 1} values, got ${out.length}`)
    const { re, im, rev } = this
    // Pack even samples as real parts and odd samples as imaginary parts, in bit-reversed order.
    for (let i = 0; i < m; i++) {
      const r = rev[i]
      re[r] = x[2 * i]
      im[r] = x[2 * i + 1]
    }
    // Iterative decimation-in-time butterflies, forward sign e^{-iθ}.
    for (let len = 2; len <= m; len <<= 1) {
      const halfLen = len >> 1
      const step = m / len
      for (let start = 0; start < m; start += len) {
        for (let j = 0; j < halfLen; j++) {
          const wr = this.cosM[j * step]
          const wi = -this.sinM[j * step]
          const a = start + j
          const b = a + halfLen
          const tr = re[b] * wr - im[b] * wi
          const ti = re[b] * wi + im[b] * wr
          re[b] = re[a] - tr
          im[b] = im[a] - ti
          re[a] += tr
          im[a] += ti
        }
      }
    }
    // Split: with Z = FFT(z), E[k] = (Z[k] + conj Z[M-k]) / 2 is the spectrum of
    // the even samples, O[k] = (Z[k] − conj Z[M-k]) / 2i that of the odd ones,
    // and X[k] = E[k] + e^{-2πik/N}·O[k].
    for (let k = 0; k <= m; k++) {
      const a = k % m
      const c = (m - k) % m
      const er = (re[a] + re[c]) / 2
      const ei = (im[a] - im[c]) / 2
      const or = (im[a] + im[c]) / 2
      const oi = -(re[a] - re[c]) / 2
      const cs = this.cosN[k]
      const sn = this.sinN[k]
      const xr = er + cs * or + sn * oi
      const xi = ei + cs * oi - sn * or
      out[k] = xr * xr + xi * xi
    }
    return out
  }

  /** Zero the internal buffers, which hold the last frame's spectrum. */
  clear (): void {
    this.re.fill(0)
    this.im.fill(0)
  }
}
