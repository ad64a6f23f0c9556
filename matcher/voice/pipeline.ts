/**
 * The voice pipeline: WAV bytes → samples → Kaldi filterbank with CMN →
 * speaker model → L2-normalised embedding. One object per configuration,
 * holding one ONNX Runtime session; every intermediate buffer derived from
 * the voice (samples, features) is zeroed before the call returns.
 *
 * There is no voice activity detection: silence and noise in the recording
 * are embedded too, so callers should trim long pauses.
 *
 * @module
 */
import { abytes } from '../../crypto/bytes.ts'
import { BioshardError, TooLargeError } from '../../errors.ts'
import { VOICE_SAMPLE_RATE, resolveVoiceConfig } from './config.ts'
import type { VoiceConfig, VoiceConfigInit } from './config.ts'
import { fbank } from './fbank.ts'
import { SpeakerModel } from './speaker-model.ts'
import { parseWav } from './wav.ts'

/** A loaded voice pipeline. Create with {@link VoicePipeline.create}. */
export class VoicePipeline {
  /** The resolved configuration. */
  readonly config: VoiceConfig
  private readonly model: SpeakerModel

  private constructor (config: VoiceConfig, model: SpeakerModel) {
    this.config = config
    this.model = model
  }

  /**
   * Resolve the configuration and load the speaker model.
   *
   * @param init - `model.path` and `model.id` plus any overrides (see {@link VoiceConfigInit})
   * @returns the ready pipeline
   * @throws {TypeError|RangeError} naming the first invalid configuration field
   * @throws {BioshardError} ERR_MODEL when the model is missing or does not fit the configuration
   * @example const voice = await VoicePipeline.create({ model: { path: 'campp.onnx', id: 'campplus-v1', outputDim: 192 } })
   */
  static async create (init: VoiceConfigInit): Promise<VoicePipeline> {
    const config = resolveVoiceConfig(init)
    return new VoicePipeline(config, await SpeakerModel.create(config.model))
  }

  /** Embedding dimension D. */
  get dim (): number {
    return this.model.dim
  }

  /** The model id to write into templates. */
  get modelId (): string {
    return this.config.model.id
  }

  /**
   * Embed a WAV recording (mono, 16 kHz, 16-bit PCM or 32-bit float).
   *
   * @param wav - the file's bytes (left untouched; the caller owns them)
   * @returns a new L2-normalised embedding of length {@link VoicePipeline.dim}
   * @throws {TypeError} when `wav` is not a Uint8Array
   * @throws {TooLargeError} ERR_TOO_LARGE when the file or audio exceeds `maxSeconds`
   * @throws {DecodeError} ERR_DECODE when the WAV is malformed or not mono 16 kHz
   * @throws {BioshardError} ERR_LOW_QUALITY when shorter than `minSeconds`; ERR_MODEL when inference fails
   * @example const emb = await voice.embedWav(await readFile('probe.wav'))
   */
  async embedWav (wav: Uint8Array): Promise<Float32Array> {
    abytes(wav, undefined, 'wav')
    const { samples } = parseWav(wav, { sampleRate: VOICE_SAMPLE_RATE, maxSeconds: this.config.maxSeconds })
    try {
      return await this.embedSamples(samples)
    } finally {
      samples.fill(0)
    }
  }

  /**
   * Embed 16 kHz mono samples in [-1, 1] scale.
   *
   * @param samples - the recording (left untouched; the caller owns it)
   * @returns a new L2-normalised embedding of length {@link VoicePipeline.dim}
   * @throws {TypeError} when `samples` is not a Float32Array or holds a non-finite value
   * @throws {TooLargeError} ERR_TOO_LARGE when longer than `maxSeconds`
   * @throws {BioshardError} ERR_LOW_QUALITY when shorter than `minSeconds`; ERR_MODEL when inference fails
   * @example const emb = await voice.embedSamples(parseWav(bytes).samples)
   */
  async embedSamples (samples: Float32Array): Promise<Float32Array> {
    if (!(samples instanceof Float32Array)) throw new TypeError('samples must be a Float32Array')
    const seconds = samples.length / VOICE_SAMPLE_RATE
    if (seconds < this.config.minSeconds) {
      throw new BioshardError('ERR_LOW_QUALITY', `audio is ${seconds.toFixed(2)} s; at least ${this.config.minSeconds} s is needed`)
    }
    if (seconds > this.config.maxSeconds) {
      throw new TooLargeError('audio (float32 samples)', samples.byteLength, Math.floor(this.config.maxSeconds * VOICE_SAMPLE_RATE) * 4)
    }
    const features = fbank(samples, this.config.fbank)
    try {
      return await this.model.embed(features)
    } finally {
      features.data.fill(0)
    }
  }

  /** Release the model session. */
  async close (): Promise<void> {
    await this.model.close()
  }
}
