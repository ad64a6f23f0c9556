/**
 * `bioshard embed --face <image>`: run the face matcher on one photo and
 * print its embedding as JSON. A debugging and integration aid: the output
 * is a biometric template in the clear, so it is printed only on request
 * and never logged.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse } from '../args.ts'
import { FaceMatcher } from '../../matcher/face/pipeline.ts'
import { sharedDir } from '../../matcher/shared-path.ts'
import { withModelHint } from '../model-hint.ts'

const HELP = `Usage: bioshard embed --face <image> [options]

Detect the most confident face in a photo, align it, and print its
L2-normalised embedding as JSON:
  {"model", "dim", "faces", "quality", "qualityDetail", "embedding": [...]}

Options:
  --face <image>      the photo (JPEG, PNG, WebP)
  --model-dir <dir>   directory with face-detect-yunet.onnx and
                      face-embed-mobilefacenet.onnx (default: $BIOSHARD_SHARED/models,
                      or ../shared/models beside the checkout)
  --model-id <id>     id recorded for the embedder (default: the shared model's id)
  --threads <n>       ONNX Runtime threads (default 1)
  -h, --help          show this help

Exit codes: 0 ok, 1 no face / low quality / unreadable image, 2 usage.
`

/** Parse `--threads`. */
export function parseThreads (v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--threads must be an integer in [1, 64], got '${v}'`)
  return n
}

const OPTIONS = {
  face: { type: 'string' },
  'model-dir': { type: 'string' },
  'model-id': { type: 'string' },
  threads: { type: 'string' }
} as const

export const command: Command = {
  name: 'embed',
  summary: 'print the face embedding of a photo as JSON',
  async run (argv: string[], io: CliIo): Promise<number> {
    const { values } = parse(argv, OPTIONS, { positionals: false })
    if (values.help === true) {
      io.stdout(HELP)
      return EXIT.OK
    }
    const face = values.face
    if (typeof face !== 'string' || face === '') throw new UsageError('--face <image> is required')
    const modelDir = typeof values['model-dir'] === 'string' ? values['model-dir'] : join(sharedDir(io.env), 'models')
    const modelId = typeof values['model-id'] === 'string' ? values['model-id'] : undefined
    const threads = parseThreads(values.threads as string | undefined)
    let bytes: Uint8Array
    try {
      bytes = await readFile(face)
    } catch (e) {
      throw new UsageError(`cannot read --face ${face}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
    const embedder = modelId === undefined ? undefined : { modelId }
    const matcher = await withModelHint(async () => await FaceMatcher.create({ modelDir, intraOpThreads: threads, embedder }))
    try {
      const r = await matcher.embed(bytes)
      const out = {
        model: r.model,
        dim: r.dim,
        faces: r.faces,
        quality: Number(r.quality.score.toFixed(4)),
        qualityDetail: { faceSize: Number(r.quality.faceSize.toFixed(1)), sharpness: Number(r.quality.sharpness.toFixed(1)) },
        embedding: Array.from(r.embedding, (v) => Number(v.toPrecision(8)))
      }
      r.embedding.fill(0)
      io.stdout(JSON.stringify(out) + '\n')
      return EXIT.OK
    } finally {
      await matcher.close()
    }
  }
}
