/**
 * ONNX Runtime sessions for the detector and the embedder: created once per
 * matcher, checked against the shapes the pipeline relies on, warmed up with
 * one zero input (which also proves the outputs are what they claim), and
 * run with a bounded number of CPU threads.
 *
 * @module
 */
import { access } from 'node:fs/promises'
import type { InferenceSession } from 'onnxruntime-node'
import type { DetectorConfig, EmbedderConfig } from './config.ts'
import { ModelError } from './errors.ts'
import { onnxRuntime } from '../optional-deps.ts'

type Session = InferenceSession

function sessionOptions (threads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  }
}

async function open (path: string, what: string, threads: number): Promise<Session> {
  try {
    await access(path)
  } catch (e) {
    throw new ModelError(`${what} model file ${path} is missing or unreadable`, { cause: e })
  }
  try {
    return await (await onnxRuntime()).InferenceSession.create(path, sessionOptions(threads))
  } catch (e) {
    throw new ModelError(`${what} model ${path} could not be loaded: ${(e as Error).message}`, { cause: e })
  }
}

/** Numeric dims must equal `want`; symbolic dims (strings) are accepted. */
function shapeMatches (shape: ReadonlyArray<number | string>, want: readonly number[]): boolean {
  return shape.length === want.length && shape.every((d, i) => typeof d !== 'number' || d < 0 || d === want[i])
}

function tensorMeta (meta: InferenceSession.ValueMetadata | undefined): InferenceSession.TensorValueMetadata | undefined {
  return meta !== undefined && meta.isTensor ? meta : undefined
}

/** A loaded detector. */
export interface DetectorModel {
  session: Session
  inputName: string
  /** Run on NCHW data of `[1, 3, S, S]`; returns every output by name. */
  run: (input: Float32Array) => Promise<Record<string, Float32Array>>
}

/**
 * Load and check the YuNet detector.
 *
 * @param cfg - detector settings
 * @param threads - intra-op threads
 * @returns the ready model
 * @throws {ModelError} ERR_MODEL when missing, unloadable or of the wrong shape
 * @example const det = await loadDetector(config.detector, 1)
 */
export async function loadDetector (cfg: DetectorConfig, threads: number): Promise<DetectorModel> {
  const ort = await onnxRuntime()
  const session = await open(cfg.model, 'detector', threads)
  try {
    const S = cfg.inputSize
    const input = tensorMeta(session.inputMetadata[0])
    if (session.inputNames.length !== 1 || input === undefined || input.type !== 'float32' || !shapeMatches(input.shape, [1, 3, S, S])) {
      throw new ModelError(`detector ${cfg.model} must take one float32 [1,3,${S},${S}] input`)
    }
    const names = cfg.strides.flatMap((s) => [`cls_${s}`, `obj_${s}`, `bbox_${s}`, `kps_${s}`])
    const missing = names.filter((n) => !session.outputNames.includes(n))
    if (missing.length > 0) throw new ModelError(`detector ${cfg.model} lacks outputs ${missing.join(', ')}`)
    const inputName = session.inputNames[0]
    const run = async (data: Float32Array): Promise<Record<string, Float32Array>> => {
      const feeds = { [inputName]: new ort.Tensor('float32', data, [1, 3, S, S]) }
      const res = await session.run(feeds)
      const out: Record<string, Float32Array> = {}
      for (const n of names) {
        const t = res[n]
        if (t.type !== 'float32') throw new ModelError(`detector output ${n} is ${t.type}, not float32`)
        out[n] = t.data as Float32Array
      }
      return out
    }
    await run(new Float32Array(3 * S * S)) // warm-up, and proves the outputs decode
    return { session, inputName, run }
  } catch (e) {
    await session.release().catch(() => {})
    throw e instanceof ModelError ? e : new ModelError(`detector ${cfg.model} failed its check run: ${(e as Error).message}`, { cause: e })
  }
}

/** A loaded embedder. */
export interface EmbedderModel {
  session: Session
  /** Embedding dimension D, from the check run. */
  dim: number
  /** Run on NCHW data of `[1, 3, N, N]`; returns the raw (not normalised) `[D]` output. */
  run: (input: Float32Array) => Promise<Float32Array>
}

/**
 * Load and check the embedder.
 *
 * @param cfg - embedder settings
 * @param threads - intra-op threads
 * @returns the ready model
 * @throws {ModelError} ERR_MODEL when missing, unloadable or of the wrong shape
 * @example const emb = await loadEmbedder(config.embedder, 1)
 */
export async function loadEmbedder (cfg: EmbedderConfig, threads: number): Promise<EmbedderModel> {
  const ort = await onnxRuntime()
  const session = await open(cfg.model, 'embedder', threads)
  try {
    const N = cfg.inputSize
    const input = tensorMeta(session.inputMetadata[0])
    if (session.inputNames.length !== 1 || input === undefined || input.type !== 'float32' || !shapeMatches(input.shape, [1, 3, N, N])) {
      throw new ModelError(`embedder ${cfg.model} must take one float32 [1,3,${N},${N}] input`)
    }
    const output = tensorMeta(session.outputMetadata[0])
    if (output === undefined || output.type !== 'float32' || output.shape.length !== 2) {
      throw new ModelError(`embedder ${cfg.model} must have a float32 [1,D] first output`)
    }
    const inputName = session.inputNames[0]
    const outputName = session.outputNames[0]
    const run = async (data: Float32Array): Promise<Float32Array> => {
      const res = await session.run({ [inputName]: new ort.Tensor('float32', data, [1, 3, N, N]) })
      const t = res[outputName]
      if (t.type !== 'float32' || t.dims.length !== 2 || t.dims[0] !== 1) {
        throw new ModelError(`embedder output must be float32 [1,D], got ${t.type} [${t.dims.join(',')}]`)
      }
      return t.data as Float32Array
    }
    const probe = await run(new Float32Array(3 * N * N))
    if (probe.length < 1 || probe.length > 4096) throw new ModelError(`embedder output dimension ${probe.length} is outside [1, 4096]`)
    return { session, dim: probe.length, run }
  } catch (e) {
    await session.release().catch(() => {})
    throw e instanceof ModelError ? e : new ModelError(`embedder ${cfg.model} failed its check run: ${(e as Error).message}`, { cause: e })
  }
}
