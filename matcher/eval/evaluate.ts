/**
 * Accuracy of the face matcher on an identity-per-folder dataset: embed
 * every photo (a failure is recorded per file, never fatal), score all
 * genuine and impostor pairs by cosine, and compute EER, FNMR at FMR 1e-2
 * and 1e-3 and the threshold for a target FMR — once with float32 templates
 * and once with int8 templates passed through the real template encoding,
 * to show what quantisation costs. The result is plain JSON (no
 * embeddings; scores only).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { BioshardError } from '../../errors.ts'
import { FaceMatcher } from '../face/pipeline.ts'
import type { FaceMatcherInit } from '../face/config.ts'
import { cosine } from '../score.ts'
import { decodeTemplate, dequantise, encodeTemplate, makeTemplate } from '../template.ts'
import { listIdentityDir, scoreAllPairs, type ScoredPair } from './pairs.ts'
import { detPoints, equalErrorRate, fnmrAtFmr, mean, type FmrThreshold, type OperatingPoint } from './metrics.ts'

/** How the operating threshold is chosen, stated in every report. */
export const THRESHOLD_RULE = 'smallest threshold whose empirical FMR is ≤ the target: ' +
  'with N impostor pairs at most ⌊target·N⌋ impostor scores may reach it (FMR resolution 1/N); ' +
  'when that is 0 the threshold sits just above the highest impostor score'

/** Options of {@link evaluate}. */
export interface EvalOptions {
  /** A matcher to reuse (left open); otherwise one is created from `config` and closed. */
  matcher?: FaceMatcher
  config?: FaceMatcherInit
  /** FMR the operating threshold is chosen for. @default 1e-3 */
  targetFmr?: number
  /** Called after each image. */
  onProgress?: (done: number, total: number, file: string) => void
}

/** Metrics of one template type. */
export interface ScoreMetrics {
  eer: number
  eerThreshold: number
  genuineMean: number
  impostorMean: number
  fnmrAtFmr1e2: FmrThreshold & { fnmr: number }
  fnmrAtFmr1e3: FmrThreshold & { fnmr: number }
  atTarget: FmrThreshold & { fnmr: number }
  det: OperatingPoint[]
}

/** A pair named by its files. */
export interface NamedPair { a: string, b: string, score: number }

/** The full evaluation result (written as report.json). */
export interface EvalResult {
  kind: 'bioshard-face-eval'
  version: 1
  dataset: string
  createdAt: string
  model: { id: string, dim: number, detector: string, embedder: string }
  settings: { targetFmr: number, detectorScoreThreshold: number, nmsIouThreshold: number, upscale: boolean, qualityFloor: number, intraOpThreads: number }
  thresholdRule: string
  images: {
    total: number
    embedded: number
    failureToEnrolRate: number
    failures: Array<{ file: string, code: string, message: string }>
    multiFace: Array<{ file: string, faces: number }>
    qualityMin: number
  }
  identities: number
  pairs: { genuine: number, impostor: number, fmrResolution: number }
  f32: ScoreMetrics
  i8: ScoreMetrics & {
    templateBytes: { f32: number, i8: number }
    scoreDelta: { meanAbs: number, maxAbs: number }
  }
  hardest: { genuine: NamedPair[], impostor: NamedPair[] }
  timing: { totalMs: number, medianMsPerImage: number }
  scores: { genuine: number[], impostor: number[], genuineI8: number[], impostorI8: number[] }
}

function metricsOf (genuine: number[], impostor: number[], targetFmr: number): ScoreMetrics {
  const { eer, threshold } = equalErrorRate(genuine, impostor)
  return {
    eer,
    eerThreshold: threshold,
    genuineMean: mean(genuine),
    impostorMean: mean(impostor),
    fnmrAtFmr1e2: fnmrAtFmr(genuine, impostor, 1e-2),
    fnmrAtFmr1e3: fnmrAtFmr(genuine, impostor, 1e-3),
    atTarget: fnmrAtFmr(genuine, impostor, targetFmr),
    det: detPoints(genuine, impostor)
  }
}

function median (v: number[]): number {
  const s = [...v].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/**
 * Evaluate the face matcher on `<dir>/<identity>/<image>`.
 *
 * @param dir - dataset directory, one sub-folder per identity
 * @param opts - matcher or config, target FMR, progress callback
 * @returns the metrics and scores (no embeddings)
 * @throws {TypeError} for a bad `dir`; {RangeError} for a target outside (0, 1)
 * @throws {BioshardError} ERR_NOT_FOUND when fewer than two identities or no pair of each kind could be scored;
 *   ERR_MODEL when the models cannot be loaded
 * @example const r = await evaluate('../shared/data/faces/raw', { targetFmr: 1e-3 })
 */
export async function evaluate (dir: string, opts: EvalOptions = {}): Promise<EvalResult> {
  const targetFmr = opts.targetFmr ?? 1e-3
  if (typeof targetFmr !== 'number' || !(targetFmr > 0 && targetFmr < 1)) throw new RangeError('targetFmr must be in (0, 1)')
  const files = await listIdentityDir(dir)
  const matcher = opts.matcher ?? await FaceMatcher.create(opts.config)
  const started = performance.now()
  const embeddings: Float32Array[] = []
  const dequantised: Float32Array[] = []
  const identities: string[] = []
  const names: string[] = []
  const failures: EvalResult['images']['failures'] = []
  const multiFace: EvalResult['images']['multiFace'] = []
  const perImage: number[] = []
  let qualityMin = 1
  let bytesF32 = 0
  let bytesI8 = 0
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]
      try {
        const bytes = await readFile(f.path)
        const t0 = performance.now()
        const r = await matcher.embed(bytes)
        perImage.push(performance.now() - t0)
        // Through the real encoding, so the int8 figures include its rounding of the scale.
        const f32 = encodeTemplate(makeTemplate(r.embedding, { modality: 'face', model: r.model, dtype: 'f32' }))
        const i8 = encodeTemplate(makeTemplate(r.embedding, { modality: 'face', model: r.model, dtype: 'i8' }))
        bytesF32 = f32.length
        bytesI8 = i8.length
        const back = decodeTemplate(i8)
        dequantised.push(dequantise(back))
        f32.fill(0); i8.fill(0); back.data.fill(0)
        embeddings.push(r.embedding)
        identities.push(f.identity)
        names.push(f.name)
        if (r.faces > 1) multiFace.push({ file: f.name, faces: r.faces })
        qualityMin = Math.min(qualityMin, r.quality.score)
      } catch (e) {
        failures.push({ file: f.name, code: e instanceof BioshardError ? e.code : (e as Error).name, message: (e as Error).message })
      }
      opts.onProgress?.(i + 1, files.length, f.name)
    }
  } finally {
    if (opts.matcher === undefined) await matcher.close()
  }
  const totalMs = performance.now() - started
  const pf = scoreAllPairs(identities, (i, j) => cosine(embeddings[i], embeddings[j]))
  const pq = scoreAllPairs(identities, (i, j) => cosine(dequantised[i], dequantised[j]))
  for (const v of [...embeddings, ...dequantised]) v.fill(0)
  if (pf.genuine.length === 0 || pf.impostor.length === 0) {
    const got = `got ${pf.genuine.length} and ${pf.impostor.length} (${embeddings.length} of ${files.length} images embedded)`
    throw new BioshardError('ERR_NOT_FOUND', `${dir}: need at least one genuine and one impostor pair, ${got}`)
  }
  const g = pf.genuine.map((p) => p.score)
  const im = pf.impostor.map((p) => p.score)
  const gq = pq.genuine.map((p) => p.score)
  const iq = pq.impostor.map((p) => p.score)
  let sumDelta = 0
  let maxDelta = 0
  const all = [...g, ...im]
  const allQ = [...gq, ...iq]
  for (let k = 0; k < all.length; k++) {
    const d = Math.abs(all[k] - allQ[k])
    sumDelta += d
    maxDelta = Math.max(maxDelta, d)
  }
  const named = (p: ScoredPair): NamedPair => ({ a: names[p.a], b: names[p.b], score: p.score })
  const cfg = matcher.config
  return {
    kind: 'bioshard-face-eval',
    version: 1,
    dataset: dir,
    createdAt: new Date().toISOString(),
    model: { id: cfg.embedder.modelId, dim: matcher.dim, detector: basename(cfg.detector.model), embedder: basename(cfg.embedder.model) },
    settings: {
      targetFmr,
      detectorScoreThreshold: cfg.detector.scoreThreshold,
      nmsIouThreshold: cfg.detector.nmsIouThreshold,
      upscale: cfg.detector.upscale,
      qualityFloor: cfg.quality.floor,
      intraOpThreads: cfg.intraOpThreads
    },
    thresholdRule: THRESHOLD_RULE,
    images: {
      total: files.length,
      embedded: embeddings.length,
      failureToEnrolRate: files.length === 0 ? 0 : failures.length / files.length,
      failures,
      multiFace,
      qualityMin
    },
    identities: new Set(identities).size,
    pairs: { genuine: g.length, impostor: im.length, fmrResolution: 1 / im.length },
    f32: metricsOf(g, im, targetFmr),
    i8: { ...metricsOf(gq, iq, targetFmr), templateBytes: { f32: bytesF32, i8: bytesI8 }, scoreDelta: { meanAbs: sumDelta / all.length, maxAbs: maxDelta } },
    hardest: {
      genuine: [...pf.genuine].sort((x, y) => x.score - y.score).slice(0, 5).map(named),
      impostor: [...pf.impostor].sort((x, y) => y.score - x.score).slice(0, 5).map(named)
    },
    timing: { totalMs, medianMsPerImage: median(perImage) },
    scores: { genuine: g, impostor: im, genuineI8: gq, impostorI8: iq }
  }
}
