/**
 * `bioshard eval --faces <dir>`: measure the face matcher's accuracy on an
 * identity-per-folder dataset and write `report.json` and a self-contained
 * `report.html` (DET curve, score histograms) into `--out`.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse } from '../args.ts'
import { evaluate, type EvalResult } from '../../matcher/eval/evaluate.ts'
import { renderReport } from '../../matcher/eval/report.ts'
import { sharedDir } from '../../matcher/shared-path.ts'
import { withModelHint } from '../model-hint.ts'
import { parseThreads } from './embed.ts'

const HELP = `Usage: bioshard eval --faces <dir> [options]

Embed every photo of <dir>/<identity>/<image>, score all genuine and
impostor pairs, and report EER, FNMR at FMR 1e-2 and 1e-3 and the threshold
for a target FMR, for float32 and int8 templates.

Options:
  --faces <dir>        dataset directory, one sub-folder per identity
  --out <dir>          where report.json and report.html go (default reports/face-eval)
  --target-fmr <rate>  FMR to choose the threshold for, in (0, 1) (default 1e-3);
                       the smallest threshold whose empirical FMR is <= the target
  --model-dir <dir>    directory with the two face models (default: $BIOSHARD_SHARED/models)
  --model-id <id>      id recorded for the embedder
  --threads <n>        ONNX Runtime threads (default 1)
  -h, --help           show this help
`

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`

/**
 * A short plain-text summary of a result.
 *
 * @param r - the evaluation result
 * @returns lines ending in a newline
 */
export function summarise (r: EvalResult): string {
  const t = r.f32.atTarget
  const failed = r.images.failures.map((f) => `\n  failed    ${f.file}: ${f.code}`).join('')
  const scoreDelta = r.i8.scoreDelta
  return [
    `images      ${r.images.embedded}/${r.images.total} embedded, ${r.images.failures.length} failed${failed}`,
    `pairs       ${r.pairs.genuine} genuine, ${r.pairs.impostor} impostor (FMR resolution ${r.pairs.fmrResolution.toExponential(2)})`,
    `EER         ${pct(r.f32.eer)} (int8 ${pct(r.i8.eer)})`,
    `FNMR@1e-2   ${pct(r.f32.fnmrAtFmr1e2.fnmr)} (int8 ${pct(r.i8.fnmrAtFmr1e2.fnmr)})`,
    `FNMR@1e-3   ${pct(r.f32.fnmrAtFmr1e3.fnmr)} (int8 ${pct(r.i8.fnmrAtFmr1e3.fnmr)})`,
    `threshold   ${t.threshold.toFixed(4)} for FMR <= ${t.targetFmr}: FMR ${pct(t.fmr)}, FNMR ${pct(t.fnmr)}, ` +
      `${t.allowedFalseMatches} of ${t.impostorPairs} impostor pairs allowed`,
    `int8 cost   ${r.i8.templateBytes.i8} vs ${r.i8.templateBytes.f32} bytes; ` +
      `score change mean ${scoreDelta.meanAbs.toExponential(2)}, max ${scoreDelta.maxAbs.toExponential(2)}`,
    `time        ${r.timing.medianMsPerImage.toFixed(1)} ms median per image`,
    ''
  ].join('\n')
}

const OPTIONS = {
  faces: { type: 'string' },
  out: { type: 'string' },
  'target-fmr': { type: 'string' },
  'model-dir': { type: 'string' },
  'model-id': { type: 'string' },
  threads: { type: 'string' }
} as const

export const command: Command = {
  name: 'eval',
  summary: 'measure face matching accuracy on a labelled photo set (HTML + JSON report)',
  async run (argv: string[], io: CliIo): Promise<number> {
    const { values } = parse(argv, OPTIONS, { positionals: false })
    if (values.help === true) {
      io.stdout(HELP)
      return EXIT.OK
    }
    const faces = values.faces
    if (typeof faces !== 'string' || faces === '') throw new UsageError('--faces <dir> is required')
    const out = resolve(typeof values.out === 'string' ? values.out : join('reports', 'face-eval'))
    const fmrText = typeof values['target-fmr'] === 'string' ? values['target-fmr'] : '1e-3'
    const targetFmr = Number(fmrText)
    if (!(targetFmr > 0 && targetFmr < 1)) throw new UsageError(`--target-fmr must be a number in (0, 1), got '${fmrText}'`)
    const modelDir = typeof values['model-dir'] === 'string' ? values['model-dir'] : join(sharedDir(io.env), 'models')
    const modelId = typeof values['model-id'] === 'string' ? values['model-id'] : undefined
    const threads = parseThreads(values.threads as string | undefined)
    let result: EvalResult
    try {
      const config = { modelDir, intraOpThreads: threads, embedder: modelId === undefined ? undefined : { modelId } }
      result = await withModelHint(async () => await evaluate(faces, { targetFmr, config }))
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`cannot read --faces ${faces}: ${code}`)
      throw e
    }
    await mkdir(out, { recursive: true })
    const json = join(out, 'report.json')
    const html = join(out, 'report.html')
    await writeFile(json, JSON.stringify(result, null, 1) + '\n')
    await writeFile(html, renderReport(result))
    io.stdout(summarise(result) + `report      ${html}\n            ${json}\n`)
    return EXIT.OK
  }
}
