/**
 * A user-supplied ONNX speaker-embedding model: filterbank features in, one
 * L2-normalised embedding out. Input and output names, the input layout and
 * the embedding size are configuration, because exports differ (WeSpeaker:
 * `feats` `[B, T, 80]` → `embs`; others put features first). At load the
 * session is checked against that configuration (names, float32, rank,
 * feature axis, a dynamic time axis) and run once on silence, which proves
 * the output shape before any real audio arrives. Every failure is a
 * BioshardError with code ERR_MODEL.
 *
 * @module
 */
import { access } from 'node:fs/promises'
import type { InferenceSession, Tensor } from 'onnxruntime-node'
import { BioshardError } from '../../errors.ts'
import { onnxRuntime, type OnnxRuntime } from '../optional-deps.ts'
import { resolveModelConfig } from './config.ts'
import type { FeatureLayout, SpeakerModelConfig, VoiceConfigInit } from './config.ts'
import type { FbankFeatures } from './fbank.ts'

/** Frames of the load-time probe run: two seconds, long enough for any pooling or convolution stack. */
export const PROBE_FRAMES = 200

function modelError (message: string, cause?: unknown): BioshardError {
  return new BioshardError('ERR_MODEL', message, cause === undefined ? undefined : { cause })
}

function pickName (wanted: string | undefined, names: readonly string[], what: 'input' | 'output'): string {
  if (wanted === undefined) {
    if (names.length !== 1) throw modelError(`speaker model has ${names.length} ${what}s (${names.join(', ')}); set model.${what}Name`)
    return names[0]
  }
  if (!names.includes(wanted)) throw modelError(`speaker model has no ${what} '${wanted}' (it has: ${names.join(', ')})`)
  return wanted
}

function tensorMeta (meta: readonly InferenceSession.ValueMetadata[], name: string): InferenceSession.TensorValueMetadata {
  const m = meta.find((x) => x.name === name)
  if (m === undefined || !m.isTensor) throw modelError(`speaker model value '${name}' is not a tensor`)
  if (m.type !== 'float32') throw modelError(`speaker model value '${name}' is ${m.type}, expected float32`)
  return m
}

// A numeric dim must be `want` (or dynamic: negative); symbolic (string) dims are dynamic.
function fixed (d: number | string | undefined): d is number {
  return typeof d === 'number' && d >= 0
}

/** Static checks of the input's declared shape against the configured layout. */
function checkInputShape (shape: ReadonlyArray<number | string>, layout: FeatureLayout, featureDim: number, name: string): void {
  if (shape.length === 0) return // undeclared: the probe run decides
  const want = layout === 'btf' ? '[1, T, F]' : '[1, F, T]'
  if (shape.length !== 3) throw modelError(`speaker model input '${name}' has rank ${shape.length}, expected 3 (${want})`)
  const [b, f, t] = layout === 'btf' ? [shape[0], shape[2], shape[1]] : [shape[0], shape[1], shape[2]]
  if (fixed(b) && b !== 1) throw modelError(`speaker model input '${name}' has batch size ${b}, expected 1 or dynamic`)
  if (fixed(f) && f !== featureDim) {
    throw modelError(`speaker model input '${name}' takes ${f} features per frame on the ${layout} layout's feature axis, configured ${featureDim}`)
  }
  if (fixed(t)) throw modelError(`speaker model input '${name}' has a fixed time axis of ${t} frames; export it with a dynamic axis`)
}

/** The embedding length of an output of shape `[1, D]` or `[D]`, or an error. */
function outputLength (dims: readonly number[], name: string): number {
  if (dims.length === 2 && dims[0] === 1) return dims[1]
  if (dims.length === 1) return dims[0]
  throw modelError(`speaker model output '${name}' has shape [${dims.join(', ')}], expected [1, D]`)
}

/** What {@link SpeakerModel.create} has checked and hands to the constructor. */
interface LoadedModel {
  config: SpeakerModelConfig
  session: InferenceSession
  /** the runtime that made the session, for its tensors */
  ort: OnnxRuntime
  inputName: string
  outputName: string
  dim: number
}

/** A loaded speaker model. Create with {@link SpeakerModel.create}. */
export class SpeakerModel {
  /** The resolved configuration. */
  readonly config: SpeakerModelConfig
  /** Embedding dimension D, as checked at load. */
  readonly dim: number
  private readonly session: InferenceSession
  private readonly ort: OnnxRuntime
  private readonly inputName: string
  private readonly outputName: string
  private closed = false

  private constructor (parts: LoadedModel) {
    this.config = parts.config
    this.session = parts.session
    this.ort = parts.ort
    this.inputName = parts.inputName
    this.outputName = parts.outputName
    this.dim = parts.dim
  }

  /**
   * Load, check and warm up a model.
   *
   * @param init - `path` and `id`, plus names, layout, dims and threads as needed
   * @returns the ready model
   * @throws {TypeError|RangeError} for an invalid configuration
   * @throws {BioshardError} ERR_MODEL when the file is missing or unreadable, a name is unknown, a shape disagrees with the configuration,
   *   or the probe run fails
   * @example
   * const m = await SpeakerModel.create({ path: 'wespeaker.onnx', id: 'wespeaker-resnet34', inputName: 'feats', outputName: 'embs', outputDim: 256 })
   */
  static async create (init: VoiceConfigInit['model']): Promise<SpeakerModel> {
    const config = resolveModelConfig(init)
    try {
      await access(config.path)
    } catch (e) {
      throw modelError(`speaker model file ${config.path} is missing or unreadable`, e)
    }
    const ort = await onnxRuntime()
    let session: InferenceSession
    try {
      session = await ort.InferenceSession.create(config.path, {
        executionProviders: ['cpu'],
        intraOpNumThreads: config.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3
      })
    } catch (e) {
      throw modelError(`speaker model ${config.path} could not be loaded: ${(e as Error).message}`, e)
    }
    try {
      const inputName = pickName(config.inputName, session.inputNames, 'input')
      const outputName = pickName(config.outputName, session.outputNames, 'output')
      // Only one input is fed: a model that needs more (lengths, masks) cannot run here.
      if (session.inputNames.length !== 1) {
        const names = session.inputNames.join(', ')
        throw modelError(`speaker model has ${session.inputNames.length} inputs (${names}); only single-input models are supported`)
      }
      const inMeta = tensorMeta(session.inputMetadata, inputName)
      checkInputShape(inMeta.shape, config.layout, config.featureDim, inputName)
      const outMeta = tensorMeta(session.outputMetadata, outputName)
      const declared = outMeta.shape.length > 0 ? outMeta.shape[outMeta.shape.length - 1] : undefined
      if (config.outputDim !== undefined && fixed(declared) && declared !== config.outputDim) {
        throw modelError(`speaker model output '${outputName}' declares ${declared} dimensions, configured ${config.outputDim}`)
      }
      // The probe: silence is as good as speech for proving shapes, and costs one inference at load.
      const probe = new Float32Array(PROBE_FRAMES * config.featureDim)
      const dims = config.layout === 'btf' ? [1, PROBE_FRAMES, config.featureDim] : [1, config.featureDim, PROBE_FRAMES]
      let result: InferenceSession.ReturnType
      try {
        result = await session.run({ [inputName]: new ort.Tensor('float32', probe, dims) }, [outputName])
      } catch (e) {
        throw modelError(`speaker model failed on a [${dims.join(', ')}] probe input: ${(e as Error).message}`, e)
      }
      const out = result[outputName] as Tensor
      const dim = outputLength(out.dims, outputName)
      out.dispose()
      if (dim < 1 || dim > 4096) throw modelError(`speaker model output has ${dim} dimensions, expected 1–4096`)
      if (config.outputDim !== undefined && dim !== config.outputDim) {
        throw modelError(`speaker model produced ${dim} dimensions, configured ${config.outputDim}`)
      }
      return new SpeakerModel({ config, session, ort, inputName, outputName, dim })
    } catch (e) {
      await session.release().catch(() => {})
      throw e
    }
  }

  /**
   * Embed one utterance.
   *
   * @param features - `[T, F]` filterbank features (from {@link fbank}); not modified
   * @returns a new L2-normalised vector of length {@link SpeakerModel.dim} (a biometric template: wipe after use)
   * @throws {TypeError|RangeError} when `features` is malformed or has the wrong number of bins
   * @throws {BioshardError} ERR_MODEL when inference fails, the output shape changes, or the embedding is zero or not finite
   * @example const emb = await model.embed(fbank(samples))
   */
  async embed (features: FbankFeatures): Promise<Float32Array> {
    if (this.closed) throw modelError('speaker model is closed')
    if (features === null || typeof features !== 'object' || !(features.data instanceof Float32Array)) {
      throw new TypeError('features must be { frames, bins, data: Float32Array }')
    }
    const { frames, bins, data } = features
    const F = this.config.featureDim
    if (bins !== F) throw new RangeError(`features.bins must be ${F}, got ${bins}`)
    if (!Number.isInteger(frames) || frames < 1 || data.length !== frames * bins) {
      throw new RangeError(`features.data must hold frames·bins values (frames ${frames}, bins ${bins}, got ${data.length})`)
    }
    // [T, F] is frame-major already; the feature-first layout needs a transposed copy.
    let input = data
    if (this.config.layout === 'bft') {
      input = new Float32Array(data.length)
      for (let t = 0; t < frames; t++) for (let f = 0; f < F; f++) input[f * frames + t] = data[t * F + f]
    }
    const dims = this.config.layout === 'btf' ? [1, frames, F] : [1, F, frames]
    let out: Tensor | undefined
    try {
      const result = await this.session.run({ [this.inputName]: new this.ort.Tensor('float32', input, dims) }, [this.outputName])
      out = result[this.outputName] as Tensor
    } catch (e) {
      throw modelError(`speaker model inference failed: ${(e as Error).message}`, e)
    } finally {
      if (input !== data) input.fill(0)
    }
    try {
      const len = outputLength(out.dims, this.outputName)
      if (len !== this.dim) throw modelError(`speaker model produced ${len} dimensions, ${this.dim} at load`)
      const raw = out.data as Float32Array
      let ss = 0
      for (let i = 0; i < len; i++) ss += raw[i] * raw[i]
      const norm = Math.sqrt(ss)
      if (!Number.isFinite(norm)) throw modelError('speaker model produced a non-finite embedding')
      if (norm === 0) throw modelError('speaker model produced an all-zero embedding')
      const emb = new Float32Array(len)
      for (let i = 0; i < len; i++) emb[i] = raw[i] / norm
      return emb
    } finally {
      ;(out.data as Float32Array).fill(0)
      out.dispose()
    }
  }

  /** Release the ONNX Runtime session; later {@link SpeakerModel.embed} calls fail with ERR_MODEL. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.session.release()
  }
}
