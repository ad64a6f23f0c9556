/**
 * Voice pipeline configuration: the Kaldi filterbank settings, the
 * user-supplied speaker model and the audio limits. No speaker model ships with
 * bioshard, so `model.path` and `model.id` have no default; everything else
 * defaults to the usual front end of Kaldi-fbank speaker models:
 * torchaudio `kaldi.fbank` defaults, 80 bins, CMN (WeSpeaker's recipes use
 * `windowType: 'hamming'`; check the model's training recipe). Every field is validated when
 * the configuration is resolved, never trusted as cast; unknown keys are
 * refused so a misspelt option cannot be silently ignored.
 *
 * @module
 */
import { MODEL_ID_PATTERN } from '../template.ts'
import { int, num, str } from '../config-fields.ts'

/** The only sample rate the filterbank accepts: what speaker models are trained on. */
export const VOICE_SAMPLE_RATE = 16_000
/** Frames of 25 ms at 16 kHz. */
export const FRAME_LENGTH = 400
/** Frame shift of 10 ms at 16 kHz. */
export const FRAME_SHIFT = 160
/** FFT size: the frame zero-padded to the next power of two (Kaldi `round_to_power_of_two`). */
export const FFT_SIZE = 512
/** int16 full scale: Kaldi and torchaudio's `kaldi.fbank` see samples in int16 units, not ±1. */
export const INT16_SCALE = 32_768

/** Kaldi filterbank options that speaker models differ on; the rest are fixed Kaldi defaults. */
export interface FbankOptions {
  /** Number of triangular mel filters (= the model's feature dimension). @default 80 */
  numMelBins: number
  /** Lower edge of the first filter in Hz. @default 20 */
  lowFreq: number
  /** Upper edge of the last filter in Hz; `<= 0` is an offset from Nyquist (Kaldi convention). @default 0 (8000 Hz) */
  highFreq: number
  /**
   * Factor applied to samples in [-1, 1] before framing. Kaldi reads int16
   * values, so its log energies sit `2·ln 32768 ≈ 20.8` above those of a
   * ±1 waveform; per-utterance mean subtraction cancels the offset, but a
   * model trained without it needs the same scale as in training.
   * @default 32768
   */
  waveformScale: number
  /** Subtract each bin's mean over the utterance (CMN), as speaker models expect. @default true */
  subtractMean: boolean
  /**
   * Analysis window: Kaldi's `'povey'` (its default; 3D-Speaker) or
   * `'hamming'` (WeSpeaker's recipes). Use what the model was trained with.
   * @default 'povey'
   */
  windowType: FbankWindow
}

/** Analysis windows offered (Kaldi names). */
export type FbankWindow = 'povey' | 'hamming'

/** Tensor layout of the model input. */
export type FeatureLayout = 'btf' | 'bft'

/** A user-supplied ONNX speaker model. */
export interface SpeakerModelConfig {
  /** Path of the ONNX file. */
  path: string
  /** Id written into templates; templates of different models never compare. No default. */
  id: string
  /** Graph input fed with the features. @default the model's only input */
  inputName?: string
  /** Graph output read as the embedding. @default the model's only output */
  outputName?: string
  /** `'btf'`: input `[1, T, F]` (WeSpeaker, 3D-Speaker); `'bft'`: `[1, F, T]` (channels-first exports). @default 'btf' */
  layout: FeatureLayout
  /** F: features per frame; must equal `fbank.numMelBins`. @default 80 */
  featureDim: number
  /** Expected embedding dimension; checked at load. @default whatever the model produces (192–256 typically) */
  outputDim?: number
  /** ONNX Runtime intra-op threads (the enclave and the node share 2 cores). @default 1 */
  intraOpThreads: number
}

/** A complete, validated voice configuration. */
export interface VoiceConfig {
  model: SpeakerModelConfig
  fbank: FbankOptions
  /** Shorter audio is refused with ERR_LOW_QUALITY: speaker embeddings of under a second are unreliable. @default 1 */
  minSeconds: number
  /** Longer audio is refused with ERR_TOO_LARGE before decoding. @default 60 */
  maxSeconds: number
}

/** Overrides: `model.path` and `model.id` are required, everything else optional. */
export interface VoiceConfigInit {
  model: Partial<SpeakerModelConfig> & { path: string, id: string }
  fbank?: Partial<FbankOptions>
  minSeconds?: number
  maxSeconds?: number
}

/** Longest audio any configuration may allow: bounds memory per request (10 min of float32 = 38 MB). */
export const MAX_SECONDS_LIMIT = 600

/** The default filterbank: torchaudio `kaldi.fbank` defaults with 80 bins and CMN. */
export const DEFAULT_FBANK: Readonly<FbankOptions> = Object.freeze({
  numMelBins: 80,
  lowFreq: 20,
  highFreq: 0,
  waveformScale: INT16_SCALE,
  subtractMean: true,
  windowType: 'povey'
})

function bool (v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean`)
  return v
}

function badWindow (name: string): never {
  throw new TypeError(`${name}.windowType must be 'povey' or 'hamming'`)
}

function obj (v: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${name} must be an object`)
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new TypeError(`${name}.${k} is not a known option`)
  return v as Record<string, unknown>
}

const FBANK_KEYS = ['numMelBins', 'lowFreq', 'highFreq', 'waveformScale', 'subtractMean', 'windowType'] as const
const MODEL_KEYS = ['path', 'id', 'inputName', 'outputName', 'layout', 'featureDim', 'outputDim', 'intraOpThreads'] as const

/**
 * Merge filterbank overrides onto {@link DEFAULT_FBANK} and validate them.
 *
 * @param init - overrides (all optional)
 * @param name - prefix for error messages
 * @returns complete options
 * @throws {TypeError|RangeError} naming the first invalid field, e.g. `fbank.lowFreq`
 * @example resolveFbankOptions({ numMelBins: 64 })
 */
export function resolveFbankOptions (init: Partial<FbankOptions> = {}, name = 'fbank'): FbankOptions {
  const o = { ...DEFAULT_FBANK, ...obj(init, name, FBANK_KEYS) }
  const nyquist = VOICE_SAMPLE_RATE / 2
  const out: FbankOptions = {
    // Kaldi refuses fewer than 3 bins; more than 256 would leave filters without an FFT bin.
    numMelBins: int(o.numMelBins, `${name}.numMelBins`, 3, 256),
    lowFreq: num(o.lowFreq, `${name}.lowFreq`, 0, nyquist),
    highFreq: num(o.highFreq, `${name}.highFreq`, -nyquist, nyquist),
    waveformScale: num(o.waveformScale, `${name}.waveformScale`, 1e-6, 1e6),
    subtractMean: bool(o.subtractMean, `${name}.subtractMean`),
    windowType: o.windowType === 'povey' || o.windowType === 'hamming' ? o.windowType : badWindow(name)
  }
  const high = out.highFreq <= 0 ? out.highFreq + nyquist : out.highFreq
  if (!(out.lowFreq < high)) throw new RangeError(`${name}.lowFreq (${out.lowFreq}) must be below the effective highFreq (${high})`)
  return out
}

/**
 * Validate a speaker model configuration and fill its defaults.
 *
 * @param init - at least `path` and `id`
 * @param name - prefix for error messages
 * @returns a complete configuration
 * @throws {TypeError|RangeError} naming the first invalid field, e.g. `model.layout`
 * @example resolveModelConfig({ path: '/opt/models/campp.onnx', id: 'campplus-voxceleb-v1', outputDim: 192 })
 */
export function resolveModelConfig (init: VoiceConfigInit['model'], name = 'model'): SpeakerModelConfig {
  const m = obj(init, name, MODEL_KEYS)
  const id = m.id
  if (typeof id !== 'string' || !MODEL_ID_PATTERN.test(id)) throw new TypeError(`${name}.id must be a model id matching ${String(MODEL_ID_PATTERN)}`)
  const layout = m.layout ?? 'btf'
  if (layout !== 'btf' && layout !== 'bft') throw new TypeError(`${name}.layout must be 'btf' or 'bft'`)
  return {
    path: str(m.path, `${name}.path`),
    id,
    inputName: m.inputName === undefined ? undefined : str(m.inputName, `${name}.inputName`),
    outputName: m.outputName === undefined ? undefined : str(m.outputName, `${name}.outputName`),
    layout,
    featureDim: int(m.featureDim ?? DEFAULT_FBANK.numMelBins, `${name}.featureDim`, 1, 1024),
    outputDim: m.outputDim === undefined ? undefined : int(m.outputDim, `${name}.outputDim`, 1, 4096),
    intraOpThreads: int(m.intraOpThreads ?? 1, `${name}.intraOpThreads`, 1, 64)
  }
}

/**
 * Resolve the whole voice configuration.
 *
 * @param init - `model.path` and `model.id` plus any overrides
 * @returns a complete configuration
 * @throws {TypeError|RangeError} naming the first invalid field, e.g. `maxSeconds`
 * @example resolveVoiceConfig({ model: { path: 'ecapa.onnx', id: 'ecapa-tdnn-v1' }, maxSeconds: 30 })
 */
export function resolveVoiceConfig (init: VoiceConfigInit): VoiceConfig {
  const o = obj(init, 'config', ['model', 'fbank', 'minSeconds', 'maxSeconds'])
  const fbank = resolveFbankOptions((o.fbank ?? {}) as Partial<FbankOptions>, 'fbank')
  // featureDim follows numMelBins unless set; a mismatch is a configuration error, not a runtime one.
  const modelInit = obj(o.model, 'model', MODEL_KEYS) as VoiceConfigInit['model']
  const model = resolveModelConfig({ ...modelInit, featureDim: modelInit.featureDim ?? fbank.numMelBins })
  if (model.featureDim !== fbank.numMelBins) throw new RangeError(`model.featureDim (${model.featureDim}) must equal fbank.numMelBins (${fbank.numMelBins})`)
  const maxSeconds = num(o.maxSeconds ?? 60, 'maxSeconds', 0.1, MAX_SECONDS_LIMIT)
  const minSeconds = num(o.minSeconds ?? 1, 'minSeconds', FRAME_LENGTH / VOICE_SAMPLE_RATE, maxSeconds)
  return { model, fbank, minSeconds, maxSeconds }
}
