/**
 * Face matcher configuration: model files, preprocessing constants and
 * quality limits. Defaults describe the shared test models (YuNet detector,
 * MobileFaceNet embedder); a deployment points `modelDir` or the model paths
 * at its own files and sets its own `modelId`. Every field is validated when
 * the configuration is resolved, never trusted as cast.
 *
 * @module
 */
import { join } from 'node:path'
import { sharedPath } from '../shared-path.ts'
import { MODEL_ID_PATTERN } from '../template.ts'
import { int, num, str } from '../config-fields.ts'

/** Model id of the shared embedder (foamliu/MobileFaceNet at commit a6cc9032). */
export const SHARED_FACE_MODEL_ID = 'mobilefacenet-foamliu-a6cc9032'
/** File names of the face models inside a model directory. */
export const DETECTOR_FILE = 'face-detect-yunet.onnx'
export const EMBEDDER_FILE = 'face-embed-mobilefacenet.onnx'

/**
 * The ArcFace 112×112 five-point template: left eye, right eye, nose tip,
 * left and right mouth corner ("left" = the image's left).
 */
export const ARCFACE_TEMPLATE_112: ReadonlyArray<readonly [number, number]> = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041]
]

/** YuNet detector settings. */
export interface DetectorConfig {
  /** Path of the ONNX file. Input `[1,3,S,S]` BGR 0–255; outputs cls/obj/bbox/kps per stride. */
  model: string
  /** S: the square input size; photos are scaled so their longer side is S. @default 640 */
  inputSize: number
  /** Enlarge photos smaller than S too (letterbox scale-to-fit, as the reference crops were made). @default true */
  upscale: boolean
  /** Feature-map strides whose outputs are named `cls_<s>` etc. @default [8, 16, 32] */
  strides: number[]
  /**
   * Minimum √(cls·obj) score of a face. @default 0.5 — close-cropped portraits
   * enlarged to fill the input score only 0.52–0.6 (faces that large are at
   * the edge of YuNet's training range), while photos score above 0.9.
   */
  scoreThreshold: number
  /** Two boxes overlapping more than this IoU are one face. @default 0.3 */
  nmsIouThreshold: number
  /** At most this many faces are kept after NMS. @default 50 */
  maxFaces: number
}

/** Embedder settings. */
export interface EmbedderConfig {
  /** Path of the ONNX file. Input `[1,3,N,N]` RGB float NCHW; output `[1,D]`. */
  model: string
  /** Id written into templates; two templates match only under the same id. @default 'mobilefacenet-foamliu-a6cc9032' */
  modelId: string
  /** N: aligned crop side. @default 112 */
  inputSize: number
  /** Per-channel (R, G, B) mean of `v/255`. @default ImageNet [0.485, 0.456, 0.406] */
  mean: [number, number, number]
  /** Per-channel (R, G, B) std of `v/255`. @default ImageNet [0.229, 0.224, 0.225] */
  std: [number, number, number]
  /** Five landmark positions in the N×N crop. @default {@link ARCFACE_TEMPLATE_112} */
  template: Array<[number, number]>
}

/** Quality gate. */
export interface QualityConfig {
  /** Below this combined score (0..1) `embed` throws ERR_LOW_QUALITY. @default 0.3 */
  floor: number
  /** Face span (source pixels covered by the aligned crop's side; eyes are ~0.31 of it apart) scoring 0. @default 32 */
  minFaceSize: number
  /** Face span scoring 1: the crop's own resolution. @default 112 */
  goodFaceSize: number
  /** Laplacian variance of the grey aligned crop scoring 0 (JPEG noise alone on a blurred face reaches ~7). @default 10 */
  minSharpness: number
  /** Laplacian variance scoring 1 (the sharp shared photos measure 130–2700). @default 150 */
  goodSharpness: number
}

/** A complete, validated configuration. */
export interface FaceMatcherConfig {
  detector: DetectorConfig
  embedder: EmbedderConfig
  quality: QualityConfig
  /** ONNX Runtime intra-op threads per session (the enclave and the node share 2 cores). @default 1 */
  intraOpThreads: number
  /** Encoded images larger than this are refused (ERR_TOO_LARGE). @default 20 MiB */
  maxImageBytes: number
  /** Decoded images with more pixels are refused (ERR_DECODE). @default 40 MP */
  maxImagePixels: number
}

/** Partial overrides; `modelDir` sets both model paths at once. */
export interface FaceMatcherInit {
  modelDir?: string
  detector?: Partial<DetectorConfig>
  embedder?: Partial<EmbedderConfig>
  quality?: Partial<QualityConfig>
  intraOpThreads?: number
  maxImageBytes?: number
  maxImagePixels?: number
}

/**
 * Defaults, with model paths in `modelDir` (default: the shared models directory).
 *
 * @param modelDir - directory holding {@link DETECTOR_FILE} and {@link EMBEDDER_FILE}
 * @returns a fresh configuration object
 * @example const cfg = defaultFaceConfig('/opt/models')
 */
export function defaultFaceConfig (modelDir: string = sharedPath('models')): FaceMatcherConfig {
  return {
    detector: {
      model: join(modelDir, DETECTOR_FILE),
      inputSize: 640,
      upscale: true,
      strides: [8, 16, 32],
      scoreThreshold: 0.5,
      nmsIouThreshold: 0.3,
      maxFaces: 50
    },
    embedder: {
      model: join(modelDir, EMBEDDER_FILE),
      modelId: SHARED_FACE_MODEL_ID,
      inputSize: 112,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      template: ARCFACE_TEMPLATE_112.map(([x, y]) => [x, y])
    },
    quality: {
      floor: 0.3,
      minFaceSize: 32,
      goodFaceSize: 112,
      minSharpness: 10,
      goodSharpness: 150
    },
    intraOpThreads: 1,
    maxImageBytes: 20 * 1024 * 1024,
    maxImagePixels: 40_000_000
  }
}

function triple (v: unknown, name: string, min: number): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) throw new TypeError(`${name} must be an array of 3 numbers`)
  return [num(v[0], `${name}[0]`, min, 1e6), num(v[1], `${name}[1]`, min, 1e6), num(v[2], `${name}[2]`, min, 1e6)]
}

/**
 * Merge overrides onto the defaults and validate every field.
 *
 * @param init - overrides (all optional)
 * @returns a complete configuration
 * @throws {TypeError|RangeError} naming the first invalid field, e.g. `quality.floor`
 * @example resolveFaceConfig({ modelDir: '/opt/models', embedder: { modelId: 'my-model-v3' }, intraOpThreads: 2 })
 */
export function resolveFaceConfig (init: FaceMatcherInit = {}): FaceMatcherConfig {
  if (init === null || typeof init !== 'object') throw new TypeError('config must be an object')
  const base = defaultFaceConfig(init.modelDir === undefined ? undefined : str(init.modelDir, 'modelDir'))
  const d = { ...base.detector, ...init.detector }
  const e = { ...base.embedder, ...init.embedder }
  const q = { ...base.quality, ...init.quality }
  const detector: DetectorConfig = {
    model: str(d.model, 'detector.model'),
    inputSize: int(d.inputSize, 'detector.inputSize', 32, 4096),
    upscale: (() => {
      if (typeof d.upscale !== 'boolean') throw new TypeError('detector.upscale must be a boolean')
      return d.upscale
    })(),
    strides: (() => {
      if (!Array.isArray(d.strides) || d.strides.length === 0 || d.strides.length > 8) {
        throw new TypeError('detector.strides must be a non-empty array of integers')
      }
      return d.strides.map((s, i) => int(s, `detector.strides[${i}]`, 1, 1024))
    })(),
    scoreThreshold: num(d.scoreThreshold, 'detector.scoreThreshold', 0, 1),
    nmsIouThreshold: num(d.nmsIouThreshold, 'detector.nmsIouThreshold', 0, 1),
    maxFaces: int(d.maxFaces, 'detector.maxFaces', 1, 10_000)
  }
  for (const s of detector.strides) if (detector.inputSize % s !== 0) throw new RangeError(`detector.inputSize must be a multiple of every stride (${s})`)
  if (!Array.isArray(e.template) || e.template.length !== 5) throw new TypeError('embedder.template must be 5 [x, y] points')
  const embedder: EmbedderConfig = {
    model: str(e.model, 'embedder.model'),
    modelId: (() => {
      if (typeof e.modelId !== 'string' || !MODEL_ID_PATTERN.test(e.modelId)) throw new TypeError('embedder.modelId must match ' + String(MODEL_ID_PATTERN))
      return e.modelId
    })(),
    inputSize: int(e.inputSize, 'embedder.inputSize', 16, 1024),
    mean: triple(e.mean, 'embedder.mean', -1e6),
    std: triple(e.std, 'embedder.std', 1e-9),
    template: e.template.map((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw new TypeError(`embedder.template[${i}] must be [x, y]`)
      return [num(p[0], `embedder.template[${i}][0]`, 0, 1e4), num(p[1], `embedder.template[${i}][1]`, 0, 1e4)] as [number, number]
    })
  }
  const quality: QualityConfig = {
    floor: num(q.floor, 'quality.floor', 0, 1),
    minFaceSize: num(q.minFaceSize, 'quality.minFaceSize', 0, 1e5),
    goodFaceSize: num(q.goodFaceSize, 'quality.goodFaceSize', 0, 1e5),
    minSharpness: num(q.minSharpness, 'quality.minSharpness', 1e-9, 1e9),
    goodSharpness: num(q.goodSharpness, 'quality.goodSharpness', 1e-9, 1e9)
  }
  if (quality.goodFaceSize <= quality.minFaceSize) throw new RangeError('quality.goodFaceSize must exceed quality.minFaceSize')
  if (quality.goodSharpness <= quality.minSharpness) throw new RangeError('quality.goodSharpness must exceed quality.minSharpness')
  return {
    detector,
    embedder,
    quality,
    intraOpThreads: int(init.intraOpThreads ?? base.intraOpThreads, 'intraOpThreads', 1, 256),
    maxImageBytes: int(init.maxImageBytes ?? base.maxImageBytes, 'maxImageBytes', 1, 2 ** 31),
    maxImagePixels: int(init.maxImagePixels ?? base.maxImagePixels, 'maxImagePixels', 1, 2 ** 31)
  }
}
