/**
 * The README's commands, run as the README shows them: every `sh` block is
 * executed by bash (the quick start in this checkout, the three-site network
 * in a temporary directory with `npx bioshard` mapped to this checkout's CLI
 * and its ports chosen free), checked against the output the README's
 * comments promise; every command of the CLI table answers `--help`. A new
 * shell block fails the test until it is given a way to run here.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFile, spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../enclave/read-set.ts'
import { runCli } from '../../cli/main.ts'
import { BIN } from '../helpers/node-process.ts'
import { freePortRun } from './free-ports.ts'

interface Run { code: number, out: string, err: string }

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string)
const work = mkdtempSync(join(tmpdir(), 'bioshard-readme-'))

/** `npx bioshard …` and `npx node …` on this checkout, for a directory outside it (where npx would ask the registry). */
const NPX = `npx () { case "$1" in
  bioshard) shift; "${process.execPath}" "${BIN}" "$@" ;;
  node) shift; "${process.execPath}" "$@" ;;
  *) echo "npx $1 is not mapped" >&2; return 127 ;;
esac; }
`
/** `npm ci` made this checkout (its node_modules is there); `npm test` is the suite this test belongs to. */
const NPM = `npm () { case "$1" in
  ci) test -d node_modules ;;
  test) echo "npm test: the suite running this test" ;;
  *) command npm "$@" ;;
esac; }
`

function env (): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { FORCE_COLOR: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BIOSHARD_')) out[k] = v
  return out
}

async function bash (script: string, cwd: string): Promise<Run> {
  return await new Promise((resolve) => {
    execFile('bash', ['-e', '-c', script], { cwd, env: env(), timeout: 600_000, killSignal: 'SIGKILL' }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err })
    })
  })
}

const Readme = suite('README: every command it shows runs as documented')

Readme.after(() => { rmSync(work, { recursive: true, force: true }) })

Readme('the README has exactly the shell blocks this test runs', () => {
  assert.is(blocks.length, 3, 'a new sh block in the README needs a test here')
  assert.match(blocks[0] ?? '', /^npm ci && npm start/)
  assert.match(blocks[1] ?? '', /^npx bioshard network init/)
  assert.match(blocks[2] ?? '', /^npx bioshard sim --list/)
})

Readme('the simulator: --list names every built-in scenario; a seeded run writes its result, report and picture', async () => {
  // The README's run, on a smaller network so the suite stays quick: the same command, scenario and seed.
  const block = (blocks[2] ?? '').replace('--seed 11', '--seed 11 --nodes 6 --sites 3 --templates 6 --hours 2 --transport memory')
  assert.not.equal(block, blocks[2], 'the network was made smaller')
  const dir = join(work, 'sim')
  mkdirSync(dir)
  const r = await bash(NPX + block, dir)
  assert.is(r.code, 0, r.err.slice(-3000) + r.out.slice(-2000))
  for (const name of ['baseline', 'churn', 'partition', 'clog', 'byzantine', 'collusion', 'mass-erase']) assert.match(r.out, new RegExp(`^${name}$`, 'm'))
  assert.match(r.out, /^scenario {4}churn, seed 11$/m)
  const result = JSON.parse(readFileSync(join(dir, 'sim', 'result.json'), 'utf8')) as { params: { seed: number } }
  assert.is(result.params.seed, 11)
  assert.match(readFileSync(join(dir, 'sim', 'report.html'), 'utf8'), /<svg/)
  assert.match(readFileSync(join(dir, 'sim', 'overview.svg'), 'utf8'), /^<svg /)
})

Readme('quick start: npm start runs the whole flow and exits 0; a single test file runs on the pinned Node', async () => {
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  assert.match(scripts.test ?? '', /^node test\/run\.ts --checks$/, 'npm test is typecheck + lint + every test, as the README says')
  const r = await bash(NPM + (blocks[0] ?? ''), REPO_ROOT)
  assert.is(r.code, 0, r.err.slice(-3000))
  assert.match(r.out, /== summary ==/)
  assert.match(r.out, /\d+ passed, 0 failed/)
  // A first run reads cleanly: no Node warning (the enclave's addon flag) and no npm config warning on either stream.
  assert.not.match(r.out + r.err, /\w+Warning:|Unknown (project|env) config/)
})

Readme('a multi-site network: network init, three nodes, a tenant, enroll, verify, erase, audit verify', async () => {
  const port = await freePortRun(3)
  const metrics = await freePortRun(3)
  // The README's paths are relative to a checkout: give the temporary directory the checkout's node_modules and bin.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(work, 'node_modules'))
  symlinkSync(join(REPO_ROOT, 'bin'), join(work, 'bin'))
  const block = (blocks[1] ?? '').replace('--sites 3', `--sites 3 --port ${port} --metrics-port ${metrics}`)
  assert.not.equal(block, blocks[1], 'the ports were mapped')
  const r = await bash(NPX + block, work)
  assert.is(r.code, 0, r.err.slice(-3000) + r.out.slice(-2000))
  assert.match(r.out, /"accept": true/)
  assert.match(r.out, /"complete": true/)
  assert.match(r.out, /^audit log ok: \d+ entries, head /m)
})

Readme('the library quickstart runs against `bioshard devnet --keep --dir ./devnet` and prints what the README says', async () => {
  const source = /```ts\n([\s\S]*?)```/.exec(README)?.[1] ?? ''
  assert.ok(source.includes("from './index.ts'"), 'the quickstart imports the checkout\'s index.ts')
  const dir = join(work, 'library')
  mkdirSync(dir)
  writeFileSync(join(dir, 'quickstart.ts'), source.replace("from './index.ts'", `from '${join(REPO_ROOT, 'index.ts')}'`))
  // The README's devnet with the smallest demo (npm start, above, runs the whole one): the quickstart enrols its own template.
  const devnet = spawn(process.execPath, [BIN, 'devnet', '--keep', '--dir', './devnet', '--identities', '2', '--synthetic'],
    { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  devnet.stdout.on('data', (d: Buffer) => { log += d.toString() })
  devnet.stderr.on('data', (d: Buffer) => { log += d.toString() })
  const exited = new Promise((resolve) => devnet.once('exit', resolve))
  try {
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { resolve(false) }, 300_000)
      devnet.stdout.on('data', () => { if (log.includes('the network stays up')) { clearTimeout(timer); resolve(true) } })
      void exited.then(() => { clearTimeout(timer); resolve(false) })
    })
    assert.ok(up, log.slice(-3000))
    const r = await bash(`"${process.execPath}" quickstart.ts`, dir)
    assert.is(r.code, 0, r.err.slice(-3000))
    assert.match(r.out, /^enrolled at (site-\d+, ){4}site-\d+$/m)
    assert.match(r.out, /^genuine: true \d+\.\d ms$/m)
    assert.match(r.out, /^erased everywhere: true$/m)
    assert.match(r.out, /^after erase: ERR_ERASED$/m)
  } finally {
    devnet.kill('SIGINT')
    const timer = setTimeout(() => devnet.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
})

Readme('every command in the CLI table answers --help', async () => {
  const table = README.slice(README.indexOf('## CLI'), README.indexOf('Exit codes:'))
  const commands = [...table.matchAll(/`bioshard ([a-z]+)(?: (init|admit|tenant|start|verify|add))?[ `]/g)].map((m) => [m[1] as string, m[2]])
  assert.ok(commands.length >= 12, `the table was read (${commands.length} commands)`)
  for (const [name, sub] of commands) {
    let out = ''
    const io = { stdout: (t: string) => { out += t }, stderr: () => {}, env: {}, stopSignal: new AbortController().signal }
    const code = await runCli([name as string, ...(sub !== undefined ? [sub] : []), '--help'], io)
    assert.is(code, 0, `bioshard ${name} --help`)
    assert.match(out, /Usage/, `bioshard ${name} --help prints its usage`)
  }
})

Readme.run()
