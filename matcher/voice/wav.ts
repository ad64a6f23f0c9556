/**
 * A strict RIFF/WAVE reader for what the voice pipeline needs: mono, 16 kHz
 * (by default), 16-bit PCM or 32-bit IEEE float, plain or
 * WAVE_FORMAT_EXTENSIBLE. Input is hostile until proven otherwise, so anything
 * unexpected is refused with a typed error rather than guessed at. Other
 * sample rates are refused, not resampled: a resampler good enough not to
 * shift a speaker embedding is a project of its own, and converting once with
 * sox or ffmpeg is better done by the caller.
 *
 * @module
 */
import { abytes } from '../../crypto/bytes.ts'
import { DecodeError, TooLargeError } from '../../errors.ts'
import { VOICE_SAMPLE_RATE } from './config.ts'

/** Bytes allowed besides the samples (headers, LIST/INFO, fact, cue…) in a WAV within the size limit. */
export const WAV_MAX_METADATA_BYTES = 65_536
/** A WAV with more chunks than this is refused: real files have 2–5. */
export const WAV_MAX_CHUNKS = 64

const FORMAT_PCM = 0x0001
const FORMAT_FLOAT = 0x0003
const FORMAT_EXTENSIBLE = 0xfffe
// The 14 bytes that follow the format tag in a KSDATAFORMAT_SUBTYPE_* GUID
// (…-0000-0010-8000-00AA00389B71).
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]

/** Decoded mono audio. */
export interface WavAudio {
  /** Samples per second (equal to the requested rate). */
  sampleRate: number
  /** Samples in [-1, 1) for PCM (`v / 32768`), as stored for float. A voice sample: wipe after use. */
  samples: Float32Array
  /** The stored sample format. */
  format: 'pcm16' | 'float32'
}

/** Limits for {@link parseWav}. */
export interface ParseWavOptions {
  /** The only sample rate accepted. @default 16000 */
  sampleRate?: number
  /** Longer audio is refused with ERR_TOO_LARGE. @default 60 */
  maxSeconds?: number
}

function fourcc (b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3])
}

// Printable for error messages; a hostile id may hold control bytes.
function showId (id: string): string {
  return /^[\x20-\x7e]{4}$/.test(id) ? `'${id}'` : `0x${Buffer.from(id, 'latin1').toString('hex')}`
}

interface Fmt { tag: number, channels: number, sampleRate: number, byteRate: number, blockAlign: number, bits: number }

function parseFmt (b: Uint8Array, view: DataView, at: number, size: number): Fmt {
  if (size < 16) throw new DecodeError(`WAV 'fmt ' chunk is ${size} bytes, needs at least 16`)
  let tag = view.getUint16(at, true)
  const channels = view.getUint16(at + 2, true)
  const sampleRate = view.getUint32(at + 4, true)
  const byteRate = view.getUint32(at + 8, true)
  const blockAlign = view.getUint16(at + 12, true)
  const bits = view.getUint16(at + 14, true)
  if (size >= 18) {
    const cbSize = view.getUint16(at + 16, true)
    if (cbSize > size - 18) throw new DecodeError(`WAV 'fmt ' extension size ${cbSize} exceeds the chunk (${size - 18} bytes left)`)
  }
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40 || view.getUint16(at + 16, true) < 22) throw new DecodeError('WAV WAVE_FORMAT_EXTENSIBLE header is shorter than 40 bytes')
    const validBits = view.getUint16(at + 18, true)
    if (validBits !== bits) throw new DecodeError(`WAV valid bits per sample (${validBits}) differ from the container size (${bits})`)
    const sub = view.getUint16(at + 24, true)
    for (let i = 0; i < GUID_TAIL.length; i++) {
      if (b[at + 26 + i] !== GUID_TAIL[i]) throw new DecodeError('WAV WAVE_FORMAT_EXTENSIBLE sub-format is not a standard audio GUID')
    }
    tag = sub
  }
  if (channels === 0) throw new DecodeError('WAV declares 0 channels')
  if (sampleRate === 0) throw new DecodeError('WAV declares a sample rate of 0 Hz')
  if (bits === 0 || bits % 8 !== 0) throw new DecodeError(`WAV bits per sample (${bits}) is not a whole number of bytes`)
  if (blockAlign !== channels * (bits / 8)) throw new DecodeError(`WAV block align ${blockAlign} does not match ${channels} channel(s) of ${bits} bits`)
  if (byteRate !== sampleRate * blockAlign) throw new DecodeError(`WAV byte rate ${byteRate} does not match ${sampleRate} Hz × ${blockAlign} bytes`)
  return { tag, channels, sampleRate, byteRate, blockAlign, bits }
}

function checkSupported (f: Fmt, wantRate: number): 'pcm16' | 'float32' {
  let format: 'pcm16' | 'float32'
  if (f.tag === FORMAT_PCM) {
    if (f.bits !== 16) throw new DecodeError(`WAV is ${f.bits}-bit PCM; only 16-bit PCM (or 32-bit float) is supported`)
    format = 'pcm16'
  } else if (f.tag === FORMAT_FLOAT) {
    if (f.bits !== 32) throw new DecodeError(`WAV is ${f.bits}-bit float; only 32-bit float (or 16-bit PCM) is supported`)
    format = 'float32'
  } else {
    throw new DecodeError(`WAV format tag 0x${f.tag.toString(16).padStart(4, '0')} is not supported; only PCM (1) and IEEE float (3)`)
  }
  if (f.channels !== 1) throw new DecodeError(`WAV has ${f.channels} channels; the voice pipeline needs mono`)
  if (f.sampleRate !== wantRate) {
    throw new DecodeError(`WAV sample rate is ${f.sampleRate} Hz; the voice pipeline needs ${wantRate} Hz (resample before enrolling)`)
  }
  return format
}

/**
 * Decode a mono 16-bit PCM or 32-bit float WAV file. The file size is capped
 * before any parsing, every chunk size is checked against the bytes that are
 * really there, and every `fmt ` field against the others.
 *
 * Reference: Microsoft "Multimedia Programming Interface and Data
 * Specifications 1.0" (RIFF, WAVE `fmt `/`data`), and the
 * WAVEFORMATEXTENSIBLE documentation for format tag 0xFFFE.
 *
 * @param bytes - the whole file
 * @param options - accepted sample rate and maximum duration
 * @returns the samples as float32 in [-1, 1]-scale
 * @throws {TypeError} when `bytes` is not a Uint8Array; {RangeError} for bad options
 * @throws {TooLargeError} ERR_TOO_LARGE when the file or its audio exceeds `maxSeconds`
 * @throws {DecodeError} ERR_DECODE for anything malformed or unsupported (8-bit, stereo, another rate, …)
 * @example const { samples } = parseWav(await readFile('hello.wav'))
 */
export function parseWav (bytes: Uint8Array, options: ParseWavOptions = {}): WavAudio {
  const b = abytes(bytes, undefined, 'bytes')
  const wantRate = options.sampleRate ?? VOICE_SAMPLE_RATE
  const maxSeconds = options.maxSeconds ?? 60
  if (!Number.isInteger(wantRate) || wantRate < 1 || wantRate > 384_000) {
    throw new RangeError(`options.sampleRate must be an integer in [1, 384000], got ${wantRate}`)
  }
  if (typeof maxSeconds !== 'number' || !(maxSeconds > 0) || maxSeconds > 3600) {
    throw new RangeError(`options.maxSeconds must be in (0, 3600], got ${maxSeconds}`)
  }
  const maxFrames = Math.floor(maxSeconds * wantRate)
  // Four bytes per sample is the widest format accepted, so this bounds the
  // work before a single header field is trusted.
  const fileLimit = maxFrames * 4 + WAV_MAX_METADATA_BYTES
  if (b.length > fileLimit) throw new TooLargeError('WAV file', b.length, fileLimit)
  if (b.length < 12) throw new DecodeError(`WAV is ${b.length} bytes, shorter than a RIFF header`)
  if (fourcc(b, 0) !== 'RIFF') throw new DecodeError('not a RIFF file (RF64 and RIFX are not supported)')
  if (fourcc(b, 8) !== 'WAVE') throw new DecodeError('RIFF file is not of form WAVE')
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const riffSize = view.getUint32(4, true)
  // The body may be followed by the one pad byte of an odd-sized last chunk; anything else is truncation or junk.
  const end = 8 + riffSize
  if (end > b.length) throw new DecodeError(`RIFF size ${riffSize} runs past the end of the ${b.length}-byte file (truncated?)`)
  if (b.length > end + 1) throw new DecodeError(`RIFF size ${riffSize} leaves ${b.length - end} unexplained bytes at the end of the file`)

  let fmt: Fmt | undefined
  let format: 'pcm16' | 'float32' | undefined
  let dataAt = -1
  let dataSize = 0
  let chunks = 0
  let at = 12
  while (at < end) {
    if (++chunks > WAV_MAX_CHUNKS) throw new DecodeError(`WAV has more than ${WAV_MAX_CHUNKS} chunks`)
    if (end - at < 8) throw new DecodeError(`WAV has ${end - at} stray bytes where a chunk header should be`)
    const id = fourcc(b, at)
    const size = view.getUint32(at + 4, true)
    const body = at + 8
    if (size > end - body) throw new DecodeError(`WAV chunk ${showId(id)} of ${size} bytes runs past the RIFF body (${end - body} bytes left)`)
    if (id === 'fmt ') {
      if (fmt !== undefined) throw new DecodeError("WAV has two 'fmt ' chunks")
      fmt = parseFmt(b, view, body, size)
      format = checkSupported(fmt, wantRate)
    } else if (id === 'data') {
      if (fmt === undefined) throw new DecodeError("WAV 'data' chunk comes before its 'fmt ' chunk")
      if (dataAt >= 0) throw new DecodeError("WAV has two 'data' chunks")
      if (size % fmt.blockAlign !== 0) throw new DecodeError(`WAV data size ${size} is not a multiple of the block align ${fmt.blockAlign}`)
      if (size / fmt.blockAlign > maxFrames) throw new TooLargeError('WAV audio', size, maxFrames * fmt.blockAlign)
      dataAt = body
      dataSize = size
    }
    // Chunks are word-aligned: an odd size is followed by a pad byte, which
    // writers sometimes leave out of the RIFF size of the very last chunk.
    at = body + size + (size & 1)
  }
  if (fmt === undefined || format === undefined) throw new DecodeError("WAV has no 'fmt ' chunk")
  if (dataAt < 0) throw new DecodeError("WAV has no 'data' chunk")
  if (dataSize === 0) throw new DecodeError('WAV holds no samples')

  const n = dataSize / fmt.blockAlign
  const samples = new Float32Array(n)
  if (format === 'pcm16') {
    // v / 32768 is exact in float32, so the int16 values come back exactly when scaled by 32768.
    for (let i = 0; i < n; i++) samples[i] = view.getInt16(dataAt + 2 * i, true) / 32768
  } else {
    for (let i = 0; i < n; i++) {
      const v = view.getFloat32(dataAt + 4 * i, true)
      if (!Number.isFinite(v)) {
        samples.fill(0)
        throw new DecodeError(`WAV float sample ${i} is not finite`)
      }
      samples[i] = v
    }
  }
  return { sampleRate: fmt.sampleRate, samples, format }
}
