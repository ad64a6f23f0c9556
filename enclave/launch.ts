/**
 * How the enclave child is launched: Node's permission model with exactly the
 * read set, no write, child-process, worker, WASI or inspector permission, and
 * addons only for image probes. Node 24's permission model has no network
 * switch, so the network is closed by other means: no enclave module imports
 * a network module (a test checks the import graph), and the child refuses to
 * load one at run time (`harden.ts`).
 *
 * @module
 */
import { resolveFaceConfig, type FaceMatcherConfig, type FaceMatcherInit } from '../matcher/face/config.ts'
import { ENCLAVE_ENTRY, enclaveReadSet, type ReadEntry } from './read-set.ts'
import { measure } from './measurement.ts'

/** Model files (and the id they write into templates) for raw image probes inside the enclave. */
export interface FaceModelPaths {
  /** directory holding `face-detect-yunet.onnx` and `face-embed-mobilefacenet.onnx`; default the shared models */
  modelDir?: string
  /** detector ONNX file, overriding `modelDir` */
  detector?: string
  /** embedder ONNX file, overriding `modelDir` */
  embedder?: string
  /** id of the embedder, compared with a template's model id; default the shared model's */
  modelId?: string
}

/**
 * Flags every enclave child runs with, besides the read set (`--permission`, one
 * `--allow-fs-read` per entry): no `--allow-fs-write`, `--allow-child-process`,
 * `--allow-worker`, `--allow-wasi` or `--allow-inspector`. Node 24 has no
 * `--allow-net` (`node --help` lists none), so the child could open sockets
 * with `node:net` but for `harden.ts`.
 */
export const BASE_FLAGS: readonly string[] = [
  '--permission',
  // no eval/new Function: nothing in the enclave needs them
  '--disallow-code-generation-from-strings',
  // SIGUSR1 would otherwise start the inspector on a running process
  '--disable-sigusr1',
  '--no-experimental-websocket'
]

/** Added for image probes only. */
export const ADDON_FLAGS: readonly string[] = ['--allow-addons']
/**
 * Node warns on every start that `--allow-addons` weakens the permission
 * model. The enclave opts into it deliberately and says what it costs
 * (docs/security.md), so the warning is silenced by its code only.
 */
export const ADDON_WARNING_OFF = '--disable-warning=PERM0001'

/** Everything needed to spawn one child. */
export interface LaunchPlan {
  /** the read set */
  entries: ReadEntry[]
  /** Node arguments: flags, read permissions, then the entry module */
  args: string[]
  /** face configuration for the child (absolute model paths), when image probes are enabled */
  face?: FaceMatcherInit
  /** model id the face embedder writes, when enabled */
  faceModelId?: string
  /** the measurement of this launch */
  measurement: Uint8Array
}

/** The face pipeline configuration for `paths` (the enclave's, and the client's for enrolling photos). */
export function faceConfig (paths: FaceModelPaths): FaceMatcherConfig {
  if (paths === null || typeof paths !== 'object') throw new TypeError('faceModel must be an object of model paths')
  for (const k of ['modelDir', 'detector', 'embedder', 'modelId'] as const) {
    if (paths[k] !== undefined && (typeof paths[k] !== 'string' || paths[k] === '')) throw new TypeError(`faceModel.${k} must be a non-empty string`)
  }
  return resolveFaceConfig({
    ...(paths.modelDir !== undefined ? { modelDir: paths.modelDir } : {}),
    ...(paths.detector !== undefined ? { detector: { model: paths.detector } } : {}),
    embedder: { ...(paths.embedder !== undefined ? { model: paths.embedder } : {}), ...(paths.modelId !== undefined ? { modelId: paths.modelId } : {}) }
  })
}

/**
 * Plan a launch: compute the read set, the arguments and the measurement.
 * `--allow-addons` is added only for image probes, whose decoder (sharp) and
 * model runtime (onnxruntime-node) are native addons. Native addons run
 * outside the permission model entirely: with image probes enabled, the
 * isolation of file access is only as good as sharp's and ONNX Runtime's
 * native code. The measurement covers their binaries.
 *
 * @param faceModel - enables image probes with these models
 * @returns the plan
 * @throws {TypeError|RangeError} naming a malformed `faceModel` field
 * @throws {BioshardError} ERR_ENCLAVE when a module, package or model file is missing
 * @example const { args, measurement } = await planLaunch()
 */
export async function planLaunch (faceModel?: FaceModelPaths): Promise<LaunchPlan> {
  const cfg = faceModel === undefined ? undefined : faceConfig(faceModel)
  const entries = enclaveReadSet(cfg === undefined ? undefined : { detector: cfg.detector.model, embedder: cfg.embedder.model })
  const flags = cfg === undefined ? [...BASE_FLAGS] : [...BASE_FLAGS, ...ADDON_FLAGS, ADDON_WARNING_OFF]
  const args = [...flags, ...entries.map((e) => `--allow-fs-read=${e.path}`), ENCLAVE_ENTRY]
  let config: unknown = null
  let face: FaceMatcherInit | undefined
  if (cfg !== undefined) {
    // The child reads the models at their real paths (the read set's).
    const detector = entries.find((e) => e.label === 'face-model/detector')?.path as string
    const embedder = entries.find((e) => e.label === 'face-model/embedder')?.path as string
    face = {
      detector: { ...cfg.detector, model: detector },
      embedder: { ...cfg.embedder, model: embedder },
      quality: cfg.quality,
      intraOpThreads: cfg.intraOpThreads,
      maxImageBytes: cfg.maxImageBytes,
      maxImagePixels: cfg.maxImagePixels
    }
    // Paths are location, not behaviour: the model bytes are measured as files.
    config = { ...face, detector: { ...cfg.detector, model: '' }, embedder: { ...cfg.embedder, model: '' } }
  }
  const measurement = await measure({ entries, flags, config })
  return { entries, args, measurement, ...(face !== undefined ? { face, faceModelId: cfg?.embedder.modelId } : {}) }
}

/**
 * The measurement an enclave started with these options will report,
 * without starting one (for a tenant writing its policy).
 *
 * @param options - as for `Enclave.start`
 * @returns 32 bytes
 * @throws as {@link planLaunch}
 * @example const allowed = [await enclaveMeasurement()]
 */
export async function enclaveMeasurement (options: { faceModel?: FaceModelPaths } = {}): Promise<Uint8Array> {
  return (await planLaunch(options.faceModel)).measurement
}
