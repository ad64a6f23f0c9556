/**
 * The face pipeline as the enclave's image embedder: loaded (dynamically, by
 * `enclave-main.ts`) only when the enclave was started with face models, so
 * an embedding-only enclave neither reads the models nor loads native addons.
 *
 * @module
 */
import type { FaceMatcherInit } from '../matcher/face/config.ts'
import { FaceMatcher } from '../matcher/face/pipeline.ts'
import type { ImageEmbedder } from './match.ts'

/** An {@link ImageEmbedder} that can be released. */
export interface FaceProbe extends ImageEmbedder {
  close: () => Promise<void>
}

/**
 * Load and warm the face models.
 *
 * @param init - face configuration with absolute model paths (from the host's launch plan)
 * @returns the embedder
 * @throws {ModelError} ERR_MODEL when a model is missing or of the wrong shape
 * @example const face = await loadFaceProbe(init.face)
 */
export async function loadFaceProbe (init: FaceMatcherInit): Promise<FaceProbe> {
  const matcher = await FaceMatcher.create(init)
  return {
    modelId: matcher.modelId,
    async embed (image) {
      const r = await matcher.embed(image)
      return r.embedding
    },
    async close () { await matcher.close() }
  }
}
