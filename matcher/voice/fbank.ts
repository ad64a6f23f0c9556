/**
 * Kaldi log-mel filterbank features, as `compute-fbank-feats` and
 * `torchaudio.compliance.kaldi.fbank` compute them with their defaults (no
 * dither), plus the per-utterance mean subtraction speaker models are trained
 * with: a model only recognises the features it was trained on, so each step
 * follows Kaldi's (see {@link fbank}).
 *
 * @module
 */
import { FFT_SIZE, FRAME_LENGTH, FRAME_SHIFT, VOICE_SAMPLE_RATE, resolveFbankOptions } from './config.ts'
import type { FbankOptions, FbankWindow } from './config.ts'
import { RealFft } from './fft.ts'

/** Filterbank features of one utterance. */
export interface FbankFeatures {
  /** Number of frames T. */
  frames: number
  /** Features per frame F (the number of mel bins). */
  bins: number
  /** T·F values, frame-major (`data[t·F + f]`): the `[T, F]` layout. A voice sample: wipe after use. */
  data: Float32Array
}

/** Kaldi's `std::numeric_limits<float>::epsilon()` floor under the log. */
export const LOG_FLOOR = 2 ** -23
const PREEMPHASIS = 0.97
const POVEY_POWER = 0.85

/**
 * Number of frames Kaldi produces for `n` samples with `snip_edges=true`.
 *
 * @param n - number of samples
 * @returns `1 + ⌊(n − 400)/160⌋`, or 0 when `n < 400`
 * @example fbankFrameCount(16000) // 98
 */
export function fbankFrameCount (n: number): number {
  return n < FRAME_LENGTH ? 0 : 1 + Math.floor((n - FRAME_LENGTH) / FRAME_SHIFT)
}

// Both symmetric (L−1 in the denominator), as Kaldi's feature-window.cc and
// torchaudio's `periodic=False` windows are.
const WINDOWS: Readonly<Record<FbankWindow, Float64Array>> = (() => {
  const povey = new Float64Array(FRAME_LENGTH)
  const hamming = new Float64Array(FRAME_LENGTH)
  const a = (2 * Math.PI) / (FRAME_LENGTH - 1)
  for (let i = 0; i < FRAME_LENGTH; i++) {
    povey[i] = Math.pow(0.5 - 0.5 * Math.cos(a * i), POVEY_POWER)
    hamming[i] = 0.54 - 0.46 * Math.cos(a * i)
  }
  return { povey, hamming }
})()

function melScale (hz: number): number {
  return 1127 * Math.log(1 + hz / 700)
}

/** One triangular filter, stored sparsely: weights for FFT bins `first … first+weights.length−1`. */
interface MelFilter { first: number, weights: Float64Array }

const filterCache = new Map<string, MelFilter[]>()

function melFilters (o: FbankOptions): MelFilter[] {
  const key = `${o.numMelBins}/${o.lowFreq}/${o.highFreq}`
  const cached = filterCache.get(key)
  if (cached !== undefined) return cached
  const nyquist = VOICE_SAMPLE_RATE / 2
  const high = o.highFreq <= 0 ? o.highFreq + nyquist : o.highFreq
  const melLow = melScale(o.lowFreq)
  // Dividing by bins + 1: the outer filters reach half a spacing beyond their centres.
  const delta = (melScale(high) - melLow) / (o.numMelBins + 1)
  const binWidth = VOICE_SAMPLE_RATE / FFT_SIZE
  const filters: MelFilter[] = []
  for (let m = 0; m < o.numMelBins; m++) {
    const left = melLow + m * delta
    const centre = left + delta
    const right = centre + delta
    let first = -1
    const w: number[] = []
    // Kaldi weighs FFT bins 0 … N/2−1 only; the Nyquist bin never contributes.
    for (let k = 0; k < FFT_SIZE / 2; k++) {
      const mel = melScale(k * binWidth)
      if (mel <= left || mel >= right) {
        if (first >= 0) break
        continue
      }
      if (first < 0) first = k
      w.push(mel <= centre ? (mel - left) / (centre - left) : (right - mel) / (right - centre))
    }
    // Kaldi refuses such a configuration too: an empty filter would be a constant feature.
    if (first < 0) throw new RangeError(`options.numMelBins (${o.numMelBins}) is too large for ${o.lowFreq}–${high} Hz: filter ${m} covers no FFT bin`)
    filters.push({ first, weights: Float64Array.from(w) })
  }
  filterCache.set(key, filters)
  return filters
}

/**
 * Compute Kaldi log-mel filterbank features, in Kaldi's order
 * (feature-window.cc, mel-computations.cc, feature-fbank.cc):
 *
 * 1. Scale samples to int16 units (`waveformScale`, default 32768): Kaldi reads
 *    the integers from the file, and models trained on its features learnt
 *    that absolute level.
 * 2. Frames of 400 samples (25 ms) every 160 (10 ms), `snip_edges=true`:
 *    only frames lying wholly inside the signal, so `1 + ⌊(N − 400)/160⌋` frames
 *    and no invented samples at the edges.
 * 3. No dither: Kaldi's default adds Gaussian noise to avoid log(0) in digital
 *    silence; inference must be deterministic, and the log floor (step 10)
 *    covers silence instead.
 * 4. Remove each frame's DC offset (its mean), so a constant bias in cheap
 *    microphones does not leak into the low bins.
 * 5. Pre-emphasis `s[i] −= 0.97·s[i−1]`, with `s[−1] = s[0]` (Kaldi replicates
 *    the first sample): flattens speech's spectral tilt so high bins are not
 *    drowned by low ones.
 * 6. Povey window `(0.5 − 0.5·cos(2πi/(L−1)))^0.85`: Kaldi's Hann variant that
 *    is zero at both ends but less peaked (or, as an option for models trained
 *    that way, Hamming `0.54 − 0.46·cos(2πi/(L−1))`), to limit spectral leakage.
 * 7. Zero-pad to 512 (next power of two), for a fast FFT; it only interpolates
 *    the spectrum.
 * 8. Power spectrum |X[k]|², k = 0…256 (bin width 31.25 Hz).
 * 9. 80 triangular filters equally spaced on the Kaldi mel scale
 *    `1127·ln(1 + f/700)` between 20 Hz and Nyquist, each spanning its two
 *    neighbours' centres; triangles are linear in mel (not Hz), weights are
 *    not area-normalised, and the Nyquist bin gets no weight, all as in Kaldi.
 * 10. Natural log of each filter energy, floored at float32 epsilon (2^−23)
 *    so silence gives a finite value.
 * 11. CMN: subtract each bin's mean over the utterance's frames, removing the
 *    channel (microphone, room) and the level, which say nothing about the speaker.
 *
 * Arithmetic is float64 throughout (Kaldi and torchaudio use float32), and
 * the result is rounded to float32 once at the end.
 *
 * @param samples - 16 kHz mono samples in [-1, 1] scale (as {@link parseWav} returns them); not modified
 * @param options - overrides of {@link DEFAULT_FBANK}
 * @returns `[T, F]` features, T = {@link fbankFrameCount}(samples.length)
 * @throws {TypeError} when `samples` is not a Float32Array or holds a non-finite value
 * @throws {RangeError} when there are fewer than 400 samples (one frame) or an option is invalid
 * @example const feats = fbank(parseWav(bytes).samples) // feats.bins === 80
 */
export function fbank (samples: Float32Array, options: Partial<FbankOptions> = {}): FbankFeatures {
  if (!(samples instanceof Float32Array)) throw new TypeError('samples must be a Float32Array')
  const o = resolveFbankOptions(options, 'options')
  const frames = fbankFrameCount(samples.length)
  if (frames === 0) throw new RangeError(`samples must hold at least ${FRAME_LENGTH} samples (25 ms), got ${samples.length}`)
  const bins = o.numMelBins
  const filters = melFilters(o)
  const fft = new RealFft(FFT_SIZE)
  const frame = new Float64Array(FFT_SIZE)
  const power = new Float64Array(FFT_SIZE / 2 + 1)
  const logMel = new Float64Array(frames * bins)
  const scale = o.waveformScale
  const window = WINDOWS[o.windowType]
  try {
    for (let t = 0; t < frames; t++) {
      const start = t * FRAME_SHIFT
      let mean = 0
      for (let i = 0; i < FRAME_LENGTH; i++) {
        const v = samples[start + i]
        if (!Number.isFinite(v)) throw new TypeError(`samples[${start + i}] is not finite`)
        frame[i] = v * scale
        mean += frame[i]
      }
      mean /= FRAME_LENGTH
      for (let i = 0; i < FRAME_LENGTH; i++) frame[i] -= mean
      // Backwards, so each step still sees the previous sample before its own pre-emphasis.
      for (let i = FRAME_LENGTH - 1; i > 0; i--) frame[i] -= PREEMPHASIS * frame[i - 1]
      frame[0] -= PREEMPHASIS * frame[0]
      for (let i = 0; i < FRAME_LENGTH; i++) frame[i] *= window[i]
      // frame[400…511] stay zero: the padding.
      fft.power(frame, power)
      const row = t * bins
      for (let m = 0; m < bins; m++) {
        const { first, weights } = filters[m]
        let e = 0
        for (let j = 0; j < weights.length; j++) e += weights[j] * power[first + j]
        logMel[row + m] = Math.log(Math.max(e, LOG_FLOOR))
      }
    }
    if (o.subtractMean) {
      for (let m = 0; m < bins; m++) {
        let s = 0
        for (let t = 0; t < frames; t++) s += logMel[t * bins + m]
        const mean = s / frames
        for (let t = 0; t < frames; t++) logMel[t * bins + m] -= mean
      }
    }
    return { frames, bins, data: Float32Array.from(logMel) }
  } finally {
    // Every intermediate is derived from the voice sample.
    frame.fill(0)
    power.fill(0)
    logMel.fill(0)
    fft.clear()
  }
}
