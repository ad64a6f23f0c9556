/**
 * Test runner: runs every `*.test.ts` under `test/` in its own Node process
 * (uvu suites are per file), two at a time on these 2-core machines, and ends
 * with one machine-readable line: `N passed, M failed`.
 *
 * Usage: `node test/run.ts [filter...]` — filters match substrings of paths.
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'

const ROOT = new URL('../', import.meta.url).pathname
const TEST_DIR = join(ROOT, 'test')
// Multi-node suites spawn processes and open sockets; running more files than
// cores at once only makes their timeouts flaky.
// TEST_CONCURRENCY overrides it (a bigger machine, or one file at a time to read its output).
const CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 0) > 0 ? Number(process.env.TEST_CONCURRENCY) : Math.max(1, Math.min(2, availableParallelism()))

function findTests (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...findTests(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

interface FileResult { file: string, passed: number, failed: number, skipped: number, ms: number, output: string }

function runFile (file: string): Promise<FileResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0)
      const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0)
      // uvu counts skipped tests outside Total.
      let failed = total - passed
      // A crash before uvu's summary (or a non-zero exit with a clean summary)
      // must still count as a failure, never as silence.
      if (code !== 0 && failed === 0) failed = 1
      resolve({ file, passed, failed, skipped, ms: Date.now() - started, output })
    })
  })
}

const filters = process.argv.slice(2)
const files = findTests(TEST_DIR).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
const results: FileResult[] = []
let next = 0
async function worker (): Promise<void> {
  while (next < files.length) {
    const file = files[next++]
    const r = await runFile(file)
    results.push(r)
    const mark = r.failed > 0 ? 'FAIL' : 'ok  '
    const counts = `${r.passed} passed${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}${r.failed > 0 ? `, ${r.failed} failed` : ''}`
    process.stdout.write(`${mark} ${relative(ROOT, file)}  ${counts}  (${(r.ms / 1000).toFixed(1)} s)\n`)
    if (r.failed > 0 || process.env.TEST_VERBOSE === '1') process.stdout.write(r.output.replace(/^/gm, '    ') + '\n')
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker))
const passed = results.reduce((a, r) => a + r.passed, 0)
const failed = results.reduce((a, r) => a + r.failed, 0)
process.stdout.write(`${passed} passed, ${failed} failed\n`)
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0
