/**
 * The Kaldi filterbank: its FFT against a naive DFT, its known properties on
 * synthetic signals, and its values on real LibriSpeech utterances against a
 * reference written here from the Kaldi/torchaudio definition with different
 * methods (O(N²) DFT, dense mel matrix, forward pre-emphasis on a copy, own
 * WAV reading) and no code shared with matcher/voice.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fbank, fbankFrameCount, LOG_FLOOR } from '../../matcher/voice/fbank.ts'
import { RealFft } from '../../matcher/voice/fft.ts'
import { parseWav } from '../../matcher/voice/wav.ts'
import { requireShared, sharedPath } from '../../matcher/shared-path.ts'

// Deterministic noise (xorshift32), uniform in [-amp, amp).
function noise (n: number, amp: number, seed = 12345): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    out[i] = (s / 2 ** 32 * 2 - 1) * amp
  }
  return out
}

function tone (hz: number, seconds: number, amp: number): Float32Array {
  const n = Math.round(seconds * 16000)
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin(2 * Math.PI * hz * i / 16000))
}

// ---------------------------------------------------------------------------
// The independent reference. Kaldi fbank (torchaudio.compliance.kaldi.fbank
// defaults, 80 bins, dither 0), written the slow, obvious way.

const mel = (hz: number): number => 1127 * Math.log(1 + hz / 700)

/** Dense 80×257 mel weights from the triangle formula in mel space. */
function referenceMelMatrix (bins: number): number[][] {
  const lo = mel(20)
  const hi = mel(8000)
  const edges = Array.from({ length: bins + 2 }, (_, i) => lo + (hi - lo) * i / (bins + 1))
  return Array.from({ length: bins }, (_, m) => Array.from({ length: 257 }, (_, k) => {
    if (k === 256) return 0 // Kaldi leaves the Nyquist bin out of every filter
    const x = mel(k * 16000 / 512)
    const up = (x - edges[m]) / (edges[m + 1] - edges[m])
    const down = (edges[m + 2] - x) / (edges[m + 2] - edges[m + 1])
    return Math.max(0, Math.min(up, down))
  }))
}

const COS = Float64Array.from({ length: 512 }, (_, j) => Math.cos(2 * Math.PI * j / 512))
const SIN = Float64Array.from({ length: 512 }, (_, j) => Math.sin(2 * Math.PI * j / 512))

/** Power spectrum by the O(N²) DFT definition (only the 400 non-zero samples contribute). */
function naiveDftPower (x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n / 2 + 1)
  for (let k = 0; k <= n / 2; k++) {
    let re = 0
    let im = 0
    for (let t = 0; t < x.length; t++) {
      const j = (k * t) % n
      const c = n === 512 ? COS[j] : Math.cos(2 * Math.PI * j / n)
      const s = n === 512 ? SIN[j] : Math.sin(2 * Math.PI * j / n)
      re += x[t] * c
      im -= x[t] * s
    }
    out[k] = re * re + im * im
  }
  return out
}

/** Log-mel frames of int16-valued samples; CMN optional. */
function referenceFbank (x: ArrayLike<number>, cmn: boolean, bins = 80, hamming = false): number[][] {
  const W = referenceMelMatrix(bins)
  const win = Array.from({ length: 400 }, (_, i) => hamming
    ? 0.54 - 0.46 * Math.cos(2 * Math.PI * i / 399)
    : Math.pow(0.5 - 0.5 * Math.cos(2 * Math.PI * i / 399), 0.85))
  const frames = 1 + Math.floor((x.length - 400) / 160)
  const out: number[][] = []
  for (let t = 0; t < frames; t++) {
    const raw = Array.from({ length: 400 }, (_, i) => x[t * 160 + i])
    const mean = raw.reduce((a, b) => a + b, 0) / 400
    const dc = raw.map((v) => v - mean)
    const pre = dc.map((v, i) => v - 0.97 * dc[i === 0 ? 0 : i - 1])
    const p = naiveDftPower(pre.map((v, i) => v * win[i]), 512)
    out.push(W.map((row) => Math.log(Math.max(row.reduce((a, w, k) => a + w * p[k], 0), 1.1920928955078125e-7))))
  }
  if (cmn) {
    for (let m = 0; m < bins; m++) {
      const mu = out.reduce((a, r) => a + r[m], 0) / frames
      for (const r of out) r[m] -= mu
    }
  }
  return out
}

/** int16 samples of a WAV's `data` chunk, read without matcher/voice/wav.ts. */
function readInt16Wav (file: string): Int16Array {
  const b = readFileSync(file)
  for (let at = 12; at + 8 <= b.length;) {
    const size = b.readUInt32LE(at + 4)
    if (b.toString('latin1', at, at + 4) === 'data') return Int16Array.from({ length: size / 2 }, (_, i) => b.readInt16LE(at + 8 + 2 * i))
    at += 8 + size + (size & 1)
  }
  throw new Error(`${file}: no data chunk`)
}

function maxAbsDiff (ours: Float32Array, ref: number[][], bins: number): number {
  let max = 0
  ref.forEach((row, t) => row.forEach((v, m) => { max = Math.max(max, Math.abs(ours[t * bins + m] - v)) }))
  return max
}

// ---------------------------------------------------------------------------

const Fft = suite('RealFft')

Fft('matches a naive DFT power spectrum for sizes 4 to 1024', () => {
  for (const n of [4, 8, 64, 512, 1024]) {
    const x = Float64Array.from(noise(n, 1000, n))
    const ours = new RealFft(n).power(x, new Float64Array(n / 2 + 1))
    const ref = naiveDftPower(x, n)
    const scale = Math.max(...ref)
    for (let k = 0; k <= n / 2; k++) assert.ok(Math.abs(ours[k] - ref[k]) <= 1e-10 * scale, `n=${n} k=${k}: ${ours[k]} vs ${ref[k]}`)
  }
})

Fft('puts a pure cosine at bin k entirely into bin k', () => {
  const x = Float64Array.from({ length: 512 }, (_, i) => Math.cos(2 * Math.PI * 37 * i / 512))
  const p = new RealFft(512).power(x, new Float64Array(257))
  assert.ok(Math.abs(p[37] - 256 ** 2) < 1e-6)
  for (let k = 0; k <= 256; k++) if (k !== 37) assert.ok(p[k] < 1e-12, `bin ${k}`)
})

Fft('refuses sizes that are not powers of two and wrong buffer lengths', () => {
  for (const n of [0, 2, 3, 400, 131072, 1.5]) assert.throws(() => new RealFft(n), RangeError)
  const f = new RealFft(8)
  assert.throws(() => f.power(new Float64Array(7), new Float64Array(5)), RangeError)
  assert.throws(() => f.power(new Float64Array(8), new Float64Array(4)), RangeError)
})

Fft.run()

const Props = suite('fbank properties')

Props('gives 80 bins and 1 + floor((N - 400) / 160) frames', () => {
  for (const n of [400, 401, 559, 560, 720, 16000, 48123]) {
    const f = fbank(noise(n, 0.3))
    const want = 1 + Math.floor((n - 400) / 160)
    assert.is(f.bins, 80)
    assert.is(f.frames, want, `N=${n}`)
    assert.is(fbankFrameCount(n), want)
    assert.is(f.data.length, want * 80)
  }
  assert.is(fbankFrameCount(399), 0)
})

Props('refuses fewer samples than one frame, non-finite samples and non-Float32Array input', () => {
  assert.throws(() => fbank(new Float32Array(399)), RangeError)
  const x = noise(1000, 0.1)
  x[500] = Number.NaN
  assert.throws(() => fbank(x), TypeError)
  assert.throws(() => fbank(new Float64Array(1000) as unknown as Float32Array), TypeError)
  assert.throws(() => fbank(noise(1000, 0.1), { numMelBins: 2 }), RangeError)
  assert.throws(() => fbank(noise(1000, 0.1), { lowFreq: 9000 }), RangeError)
  // 256 filters on 20 Hz–8 kHz are narrower than one FFT bin at the low end: Kaldi refuses this too.
  assert.throws(() => fbank(noise(1000, 0.1), { numMelBins: 256 }), RangeError)
})

Props('has zero mean over frames in every bin after CMN', () => {
  const f = fbank(noise(32000, 0.2))
  for (let m = 0; m < 80; m++) {
    let s = 0
    for (let t = 0; t < f.frames; t++) s += f.data[t * 80 + m]
    assert.ok(Math.abs(s / f.frames) < 1e-5, `bin ${m}: mean ${s / f.frames}`)
  }
})

Props('peaks in the mel bin whose triangle holds 1 kHz for a 1 kHz tone', () => {
  // Filter m spans centres m and m+2 of 82 points equally spaced in mel from 20 Hz to 8 kHz;
  // 1 kHz (999.98 mel) lies 93 % up filter 27's rising edge.
  const pos = (mel(1000) - mel(20)) / ((mel(8000) - mel(20)) / 81)
  const expected = Math.round(pos) - 1
  assert.is(expected, 27)
  const f = fbank(tone(1000, 1, 0.5), { subtractMean: false })
  for (let t = 0; t < f.frames; t++) {
    const row = f.data.subarray(t * 80, t * 80 + 80)
    assert.is(row.indexOf(Math.max(...row)), expected, `frame ${t}`)
  }
})

Props('floors digital silence at log(float epsilon) instead of -Infinity', () => {
  const f = fbank(new Float32Array(4000), { subtractMean: false })
  for (const v of f.data) assert.is(v, Math.fround(Math.log(LOG_FLOOR)))
})

Props('works in int16 units by default: the ±1 scale sits 2·ln 32768 lower, which CMN removes', () => {
  const x = noise(8000, 0.3)
  const int16 = fbank(x, { subtractMean: false })
  const unit = fbank(x, { subtractMean: false, waveformScale: 1 })
  for (let i = 0; i < int16.data.length; i++) assert.ok(Math.abs(int16.data[i] - unit.data[i] - 2 * Math.log(32768)) < 1e-4)
  const a = fbank(x)
  const b = fbank(x, { waveformScale: 1 })
  for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(a.data[i] - b.data[i]) < 1e-4)
})

Props('is deterministic and leaves its input untouched', () => {
  const x = noise(5000, 0.5, 7)
  const copy = x.slice()
  const a = fbank(x)
  const b = fbank(x)
  assert.equal(a.data, b.data)
  assert.equal(x, copy)
})

Props('matches the reference on synthetic noise with 40 bins and no CMN', () => {
  const x = noise(4000, 0.25, 99)
  const ours = fbank(x, { numMelBins: 40, subtractMean: false })
  const ref = referenceFbank(Array.from(x, (v) => v * 32768), false, 40)
  const d = maxAbsDiff(ours.data, ref, 40)
  assert.ok(d < 1e-3, `max abs difference ${d}`)
})

Props.run()

const FILES = ['1688/1688-142285-0003.wav', '3080/3080-5032-0000.wav', '533/533-1066-0003.wav'].map((f) => `data/speech/librispeech/${f}`)
const haveSpeech = requireShared('fbank reference on LibriSpeech', FILES)
const Real = suite('fbank on LibriSpeech')
const real = haveSpeech ? Real : Real.skip

real('matches the independent reference within 1e-3 on every frame of three utterances, with and without CMN', () => {
  let frames = 0
  let worst = 0
  for (const file of FILES) {
    const path = sharedPath(file)
    const int16 = readInt16Wav(path)
    const samples = parseWav(readFileSync(path)).samples
    for (const cmn of [true, false]) {
      const ours = fbank(samples, { subtractMean: cmn })
      const ref = referenceFbank(int16, cmn)
      assert.is(ours.frames, ref.length)
      if (cmn) frames += ref.length
      const d = maxAbsDiff(ours.data, ref, 80)
      worst = Math.max(worst, d)
      assert.ok(d < 1e-3, `${file} cmn=${cmn}: max abs difference ${d}`)
    }
  }
  process.stdout.write(`  fbank vs naive reference: ${frames} frames × 80 bins, max |Δ| = ${worst.toExponential(2)}\n`)
})

real('matches the reference with the Hamming window (WeSpeaker\'s choice) too', () => {
  const path = sharedPath(FILES[1])
  const ours = fbank(parseWav(readFileSync(path)).samples, { windowType: 'hamming' })
  const ref = referenceFbank(readInt16Wav(path), true, 80, true)
  const d = maxAbsDiff(ours.data, ref, 80)
  assert.ok(d < 1e-3, `max abs difference ${d}`)
  // and the window matters: Povey features differ visibly
  assert.ok(maxAbsDiff(fbank(parseWav(readFileSync(path)).samples).data, ref, 80) > 0.05)
})

real('reproduces values computed once with numpy.fft.rfft from the same definition', () => {
  // 1688-142285-0003.wav, [frame, bin, log-mel without CMN, with CMN], float64 numpy.
  const pinned: Array<[number, number, number, number]> = [
    [0, 0, 14.23778, 0.34319], [0, 27, 2.94786, -9.23493], [0, 79, 7.49426, -7.07036],
    [100, 10, 15.8436, 4.59355], [100, 50, 18.56403, 3.98061],
    [250, 27, 5.20235, -6.98044], [503, 0, 10.18715, -3.70744], [503, 79, 6.60597, -7.95865]
  ]
  const samples = parseWav(readFileSync(sharedPath(FILES[0]))).samples
  const raw = fbank(samples, { subtractMean: false })
  const cmn = fbank(samples)
  assert.is(raw.frames, 504)
  for (const [t, m, v, c] of pinned) {
    assert.ok(Math.abs(raw.data[t * 80 + m] - v) < 1e-4, `raw[${t}][${m}] = ${raw.data[t * 80 + m]}, want ${v}`)
    assert.ok(Math.abs(cmn.data[t * 80 + m] - c) < 1e-4, `cmn[${t}][${m}] = ${cmn.data[t * 80 + m]}, want ${c}`)
  }
})

Real.run()
