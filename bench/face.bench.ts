/**
 * Face pipeline benchmark: time per photo for each stage (decode, detect,
 * align, embed) and for detect+align+embed, beside a bare ONNX Runtime run
 * of a zero tensor through the same embedder in the same run — the floor no
 * pipeline can beat on this machine. Needs the shared models and photos;
 * without them it prints why and returns no rows.
 *
 * Run alone: `node bench/face.bench.ts` (prints a table).
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import ort from 'onnxruntime-node'
import sharp from 'sharp'
import { FaceMatcher } from '../matcher/face/pipeline.ts'
import { requireShared, sharedPath } from '../matcher/shared-path.ts'
import { sample, summarize, compare, printTable, type BenchResult } from './harness.ts'

const PHOTO = 'data/faces/raw/amy/amy1.png'
const WARMUP = 5
const ITERATIONS = 60

async function measure (name: string, fn: () => Promise<unknown> | unknown, note?: string): Promise<BenchResult> {
  const samples = await sample(name, fn, { warmup: WARMUP, iterations: ITERATIONS })
  return summarize(name, samples, { unit: 'ms', ...(note !== undefined ? { note } : {}) })
}

/**
 * Run the benchmark (one ONNX thread, the default configuration).
 *
 * @returns one result per stage; empty (with a printed reason) when the shared models are absent
 */
export async function run (): Promise<BenchResult[]> {
  if (!requireShared('face benchmark', ['models/face-detect-yunet.onnx', 'models/face-embed-mobilefacenet.onnx', PHOTO])) return []
  const src = await readFile(sharedPath(PHOTO))
  const photo = new Uint8Array(await sharp(src).resize(640, 640).jpeg({ quality: 90 }).toBuffer())
  const matcher = await FaceMatcher.create()
  const bare = await ort.InferenceSession.create(matcher.config.embedder.model, {
    intraOpNumThreads: matcher.config.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all'
  })
  try {
    const img = await matcher.decode(photo)
    const faces = await matcher.detect(img)
    if (faces.length === 0) throw new Error('benchmark photo has no detectable face')
    const aligned = matcher.align(img, faces[0])
    const zero = new ort.Tensor('float32', new Float32Array(3 * 112 * 112), [1, 3, 112, 112])
    const input = bare.inputNames[0]
    const results: BenchResult[] = []
    const base = await measure('face: bare onnxruntime embed (zero 1×3×112×112)', () => bare.run({ [input]: zero }), 'baseline: the embed model alone')
    results.push(base)
    results.push(await measure('face: decode 640-px JPEG', () => matcher.decode(photo)))
    results.push(await measure('face: detect (YuNet 640×640)', () => matcher.detect(img)))
    results.push(await measure('face: align (Umeyama + warp 112×112)', () => matcher.align(img, faces[0])))
    results.push(await measure('face: embed aligned crop', () => matcher.embedAligned(aligned.rgb)))
    results.push(await measure('face: detect + align + embed', async () => {
      const f = await matcher.detect(img)
      const a = matcher.align(img, f[0])
      await matcher.embedAligned(a.rgb)
    }, 'goal ≤ 15 ms per photo'))
    results.push(await measure('face: photo bytes → embedding (embed)', async () => {
      const r = await matcher.embed(photo)
      r.embedding.fill(0)
    }))
    for (const r of results) if (r !== base) compare(r, base)
    return results
  } finally {
    await bare.release()
    await matcher.close()
  }
}

if (import.meta.main) {
  const results = await run()
  if (results.length > 0) printTable(results, 'face')
}
