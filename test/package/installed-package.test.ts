/**
 * The package as an application gets it: `npm pack`, install the tarball into
 * a fresh app (no .npmrc of its own; the npm cache serves the dependencies),
 * type-check a strict TypeScript consumer, run enroll/verify/erase against a
 * local network from the installed code, and run the installed CLI. The
 * optional face stack (onnxruntime-node, sharp) is not installed, so this
 * also proves the library runs without it and names it when it is needed.
 * Skips with a message when npm is not available.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
// A clean npm environment: the pinned Node first on PATH (npm and npx start `node`), and none of the
// npm_* variables `npm test` sets, which would point the app's install back at this repository.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
ENV.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`

function run (cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: 600_000 })
}
function ok (r: SpawnSyncReturns<string>, what: string): string {
  assert.is(r.status, 0, `${what} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`)
  return r.stdout
}

const CONSUMER = `import { BioshardError, createClient, type Client, type VerifyResult } from 'bioshard'
import { LocalNetwork } from 'bioshard/local-network'

function unit (seed: number): Float32Array {
  const v = new Float32Array(128)
  let x = seed
  for (let i = 0; i < v.length; i++) { x = (x * 1103515245 + 12345) % 2147483648; v[i] = x / 2147483648 - 0.5 }
  const n = Math.hypot(...v)
  return v.map((e) => e / n)
}

const net = await LocalNetwork.start({ nodes: 3 })
let client: Client | undefined
try {
  await net.converged()
  const tenant = net.tenant('app')
  client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  const { templateId } = await client.enroll({ template: unit(7), modality: 'face', model: 'app-model', t: 2, n: 3 })
  const same: VerifyResult = await client.verify({ templateId, probe: unit(7), purpose: 'login' })
  const other = await client.verify({ templateId, probe: unit(8), purpose: 'login' })
  // Photos need the optional face stack, which this app did not install.
  let face = 'none'
  const faceClient = await createClient({ bootstrap: net.bootstrap, authority: net.info, enclave: { faceModel: { modelDir: '/nonexistent' } },
    credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  try {
    await faceClient.verify({ templateId, probe: { image: new Uint8Array([0xff, 0xd8, 0xff, 0xe0]) }, purpose: 'login' })
  } catch (e) {
    face = e instanceof BioshardError ? \`\${e.code}: \${e.message}\` : String(e)
  } finally {
    await faceClient.close()
  }
  const erased = await client.erase(templateId)
  const first = erased.receipts[0]
  console.log(JSON.stringify({ same: same.accept, other: other.accept, erased: erased.complete, holder: typeof first, face }))
} finally {
  await client?.close()
  await net.stop()
}
`

const TSCONFIG = {
  compilerOptions: {
    target: 'es2024',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    // libp2p's declarations use DOM event types (EventInit, AddEventListenerOptions).
    lib: ['es2024', 'dom'],
    types: ['node'],
    typeRoots: [join(REPO, 'node_modules', '@types')],
    strict: true,
    noUncheckedIndexedAccess: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    // Check the package's declarations too, under the app's strict options.
    skipLibCheck: false
  },
  files: ['consumer.ts']
}

const Pkg = suite('installed package')

const npm = spawnSync('npm', ['--version'], { env: ENV, encoding: 'utf8' })
if (npm.status !== 0) {
  console.log(`SKIP installed-package: npm is not available (${npm.error?.message ?? npm.stderr.trim()})`)
} else {
  Pkg('packs, installs offline into a fresh app, type-checks a strict consumer, runs enroll/verify/erase and the CLI', () => {
    const work = mkdtempSync(join(tmpdir(), 'bioshard-pkg-'))
    try {
      ok(run('npm', ['pack', '--silent', '--pack-destination', work], REPO), 'npm pack')
      const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))
      assert.ok(tarball, 'npm pack wrote no tarball')
      const app = join(work, 'app')
      mkdirSync(app)
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { bioshard: `file:../${tarball}` } }))
      ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app), 'npm install')
      const installed = join(app, 'node_modules', 'bioshard')
      assert.not.ok(existsSync(join(installed, 'cli', 'main.ts')), 'the package ships TypeScript sources')
      assert.not.ok(existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node was installed though optional')
      assert.not.ok(existsSync(join(app, 'node_modules', 'sharp')), 'sharp was installed though optional')

      writeFileSync(join(app, 'consumer.ts'), CONSUMER)
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG))
      ok(run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app), 'tsc on the consumer')

      const out = ok(run(process.execPath, ['consumer.ts'], app), 'the consumer')
      const result = JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>
      assert.equal({ ...result, face: undefined }, { same: true, other: false, erased: true, holder: 'object', face: undefined })
      assert.match(String(result.face), /^ERR_MODEL: .*npm install onnxruntime-node/)

      const help = ok(run('npx', ['--no-install', 'bioshard', '--help'], app), 'npx bioshard --help')
      assert.match(help, /Usage: bioshard <command>/)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  })
}

Pkg.run()
