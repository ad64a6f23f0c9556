/**
 * The face matcher: raw photo → decode → detect (YuNet) → align (five-point
 * similarity to the template) → quality gate → embed (MobileFaceNet) →
 * L2-normalised embedding. ONNX sessions are created once in
 * {@link FaceMatcher.create} and reused; every intermediate buffer holding
 * the face is wiped once the embedding is computed.
 *
 * @module
 */
import { abytes, wipe } from '../../crypto/bytes.ts'
import { l2normalise } from '../score.ts'
import { resolveFaceConfig, type FaceMatcherConfig, type FaceMatcherInit } from './config.ts'
import { decodeImage, fitForDetector, type RgbImage } from './decode.ts'
import { decodeYuNet, detectorInput, nms, toSource, type FaceDetection } from './detect.ts'
import { coverageMask, similarityScale, umeyama, warpSimilarity, type Similarity } from './align.ts'
import { embedderInput } from './embed.ts'
import { NoFaceError, LowQualityError, ModelError } from './errors.ts'
import { faceQuality, laplacianVariance, type FaceQuality } from './quality.ts'
import { loadDetector, loadEmbedder, type DetectorModel, type EmbedderModel } from './models.ts'

/** One aligned face. */
export interface AlignedFace {
  /** `N·N·3` RGB bytes (a face image: wipe after use). */
  rgb: Uint8Array
  /** Source → crop transform. */
  transform: Similarity
  /** Source pixels spanned by the crop side. */
  faceSize: number
  /** `N·N` bytes, 1 where the crop samples the photo, 0 on the zero border. */
  mask: Uint8Array
}

/** What {@link FaceMatcher.embed} returns. */
export interface FaceEmbedding {
  /** Model id, for the template. */
  model: string
  dim: number
  /** Unit-length embedding of the most confident face (a biometric secret). */
  embedding: Float32Array
  /** Faces found in the photo (after NMS). */
  faces: number
  /** The face that was embedded, in source pixels. */
  detection: FaceDetection
  quality: FaceQuality
}

/**
 * Photo-to-embedding face matcher. Concurrent calls on one instance are
 * safe: each call owns its buffers, and an ONNX Runtime session accepts
 * concurrent runs (on a 2-core host they queue rather than speed up).
 *
 * @example
 * const m = await FaceMatcher.create({ modelDir: '/opt/models', embedder: { modelId: 'acme-face-v2' } })
 * try { const { embedding, quality } = await m.embed(photoBytes) } finally { await m.close() }
 */
export class FaceMatcher {
  readonly config: FaceMatcherConfig
  /** Embedding dimension of the loaded model. */
  readonly dim: number
  #detector: DetectorModel | undefined
  #embedder: EmbedderModel | undefined

  private constructor (config: FaceMatcherConfig, detector: DetectorModel, embedder: EmbedderModel) {
    this.config = config
    this.dim = embedder.dim
    this.#detector = detector
    this.#embedder = embedder
  }

  /**
   * Load both models once.
   *
   * @param init - configuration overrides (defaults: the shared models, 1 thread)
   * @returns a ready matcher; call {@link close} when done
   * @throws {TypeError|RangeError} naming an invalid configuration field
   * @throws {ModelError} ERR_MODEL when a model is missing or has the wrong shape
   */
  static async create (init: FaceMatcherInit = {}): Promise<FaceMatcher> {
    const config = resolveFaceConfig(init)
    const detector = await loadDetector(config.detector, config.intraOpThreads)
    let embedder: EmbedderModel
    try {
      embedder = await loadEmbedder(config.embedder, config.intraOpThreads)
    } catch (e) {
      await detector.session.release().catch(() => {})
      throw e
    }
    return new FaceMatcher(config, detector, embedder)
  }

  /** Model id written into templates. */
  get modelId (): string { return this.config.embedder.modelId }

  #models (): { detector: DetectorModel, embedder: EmbedderModel } {
    if (this.#detector === undefined || this.#embedder === undefined) throw new ModelError('face matcher is closed')
    return { detector: this.#detector, embedder: this.#embedder }
  }

  /**
   * Decode a photo (EXIF orientation applied, greyscale → RGB).
   *
   * @throws {TooLargeError} ERR_TOO_LARGE; {DecodeError} ERR_DECODE
   */
  async decode (imageBytes: Uint8Array): Promise<RgbImage> {
    return await decodeImage(imageBytes, { maxBytes: this.config.maxImageBytes, maxPixels: this.config.maxImagePixels })
  }

  /**
   * Detect faces.
   *
   * @param img - a decoded photo
   * @returns faces in source pixels after NMS, most confident first (possibly none)
   */
  async detect (img: RgbImage): Promise<FaceDetection[]> {
    const { detector } = this.#models()
    const cfg = this.config.detector
    const fit = fitForDetector(img, cfg.inputSize, cfg.upscale)
    const input = detectorInput(fit.image, cfg.inputSize)
    if (fit.image !== img) wipe(fit.image.data)
    let outputs: Record<string, Float32Array>
    try {
      outputs = await detector.run(input)
    } finally {
      input.fill(0)
    }
    const kept = nms(decodeYuNet(outputs, cfg), cfg.nmsIouThreshold, cfg.maxFaces)
    return kept.map((f) => toSource(f, fit.sx, fit.sy))
  }

  /**
   * Align one detected face onto the template.
   *
   * @param img - the photo the face was detected in
   * @param face - the detection (source pixels)
   * @returns the aligned crop and its transform
   * @throws {RangeError} when the landmarks are degenerate
   */
  align (img: RgbImage, face: FaceDetection): AlignedFace {
    const { inputSize, template } = this.config.embedder
    const transform = umeyama(face.landmarks, template)
    return {
      rgb: warpSimilarity(img, transform, inputSize),
      transform,
      faceSize: inputSize / similarityScale(transform),
      mask: coverageMask(transform, img.width, img.height, inputSize)
    }
  }

  /** Quality of an aligned face (size and sharpness, 0..1). */
  assess (aligned: AlignedFace): FaceQuality {
    return faceQuality(aligned.faceSize, laplacianVariance(aligned.rgb, this.config.embedder.inputSize, aligned.mask), this.config.quality)
  }

  /**
   * Embed an already aligned crop.
   *
   * @param rgb112 - `N·N·3` RGB bytes (N = `embedder.inputSize`, 112 by default)
   * @returns the L2-normalised embedding
   * @throws {TypeError} when `rgb112` is not a Uint8Array; {RangeError} for a wrong length
   * @throws {ModelError} ERR_MODEL when closed
   */
  async embedAligned (rgb112: Uint8Array): Promise<Float32Array> {
    const { embedder } = this.#models()
    const { inputSize, mean, std } = this.config.embedder
    abytes(rgb112, inputSize * inputSize * 3, 'rgb112')
    const input = embedderInput(rgb112, inputSize, mean, std)
    try {
      const raw = await embedder.run(input)
      try {
        return l2normalise(raw)
      } finally {
        raw.fill(0)
      }
    } finally {
      input.fill(0)
    }
  }

  /**
   * Photo to embedding, using the most confident face.
   *
   * @param imageBytes - an encoded photo (JPEG, PNG, WebP, …)
   * @returns the embedding with the face count, the detection and the quality
   * @throws {TypeError} when `imageBytes` is not a Uint8Array
   * @throws {TooLargeError} ERR_TOO_LARGE; {DecodeError} ERR_DECODE for an unreadable image
   * @throws {NoFaceError} ERR_NO_FACE; {LowQualityError} ERR_LOW_QUALITY below `quality.floor`
   * @throws {ModelError} ERR_MODEL when closed
   */
  async embed (imageBytes: Uint8Array): Promise<FaceEmbedding> {
    abytes(imageBytes, undefined, 'imageBytes')
    const img = await this.decode(imageBytes)
    let aligned: AlignedFace | undefined
    try {
      const faces = await this.detect(img)
      if (faces.length === 0) throw new NoFaceError()
      const best = faces[0]
      aligned = this.align(img, best)
      const quality = this.assess(aligned)
      if (quality.score < this.config.quality.floor) throw new LowQualityError(quality, this.config.quality.floor)
      const embedding = await this.embedAligned(aligned.rgb)
      return { model: this.modelId, dim: embedding.length, embedding, faces: faces.length, detection: best, quality }
    } finally {
      wipe(img.data, aligned?.rgb)
    }
  }

  /** Release both sessions; later calls throw ERR_MODEL. Idempotent. */
  async close (): Promise<void> {
    const d = this.#detector
    const e = this.#embedder
    this.#detector = undefined
    this.#embedder = undefined
    await Promise.all([d?.session.release(), e?.session.release()])
  }
}
