/**
 * The face matcher's public surface: photo → aligned face → embedding, its
 * configuration and its typed errors. Import from here rather than from the
 * individual stages.
 *
 * @example
 * const m = await FaceMatcher.create({ modelDir: '/opt/models', embedder: { modelId: 'acme-face-v2' } })
 * const { embedding, faces, quality } = await m.embed(photoBytes)
 * await m.close()
 * @module
 */
export { FaceMatcher, type AlignedFace, type FaceEmbedding } from './pipeline.ts'
export {
  ARCFACE_TEMPLATE_112, DETECTOR_FILE, EMBEDDER_FILE, SHARED_FACE_MODEL_ID, defaultFaceConfig, resolveFaceConfig,
  type DetectorConfig, type EmbedderConfig, type FaceMatcherConfig, type FaceMatcherInit, type QualityConfig
} from './config.ts'
export { LowQualityError, ModelError, NoFaceError } from './errors.ts'
export type { FaceDetection } from './detect.ts'
export type { FaceQuality } from './quality.ts'
export type { RgbImage } from './decode.ts'
export type { Similarity } from './align.ts'
