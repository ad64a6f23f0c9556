/**
 * The `bioshard` CLI as scripts and operators use it: help and version, exit
 * codes (0 ok, 2 bad command line or config), `authority init|admit`,
 * `node init|start` with every refusal naming what is wrong, and a real
 * `bioshard node start` process serving metrics and health, stopping
 * cleanly on SIGTERM.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, statSync, copyFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { runCli } from '../../cli/main.ts'
import { COMMANDS } from '../../cli/commands.ts'
import type { CliIo } from '../../cli/io.ts'
import { loadKeys, loadCert } from '../../node/keys.ts'
import { toHex, equalBytes } from '../../crypto/bytes.ts'
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.ts'
import { sharedSetup } from '../helpers/setup.ts'

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const root = mkdtempSync(join(tmpdir(), 'bioshard-cli-'))
const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

interface Run { code: number, out: string, err: string }

/** A fake terminal: captured stdout/stderr and a stop signal the test controls. */
function fakeIo (env: NodeJS.ProcessEnv = {}): { io: CliIo, out: () => string, err: () => string, stop: AbortController } {
  let out = ''
  let err = ''
  const stop = new AbortController()
  return { io: { stdout: (t) => { out += t }, stderr: (t) => { err += t }, env, stopSignal: stop.signal }, out: () => out, err: () => err, stop }
}

async function cli (argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const f = fakeIo(env)
  const code = await runCli(argv, f.io)
  return { code, out: f.out(), err: f.err() }
}

function mode (path: string): number { return statSync(path).mode & 0o777 }

let counter = 0
function fresh (name: string): string { return join(root, `${name}-${++counter}`) }

/** An authority directory made through the CLI. */
async function makeAuthority (): Promise<{ dir: string, json: string, network: string, publicKey: string }> {
  const dir = fresh('authority')
  const r = await cli(['authority', 'init', '--dir', dir])
  assert.is(r.code, 0, r.err)
  const info = JSON.parse(readFileSync(join(dir, 'authority.json'), 'utf8')) as { network: string, publicKey: string }
  return { dir, json: join(dir, 'authority.json'), ...info }
}

/** A node directory made through the CLI (listening on loopback); returns its dir and peer id. */
async function makeNode (authority: { json: string }, site: string): Promise<{ dir: string, peer: string }> {
  const dir = fresh('node')
  const r = await cli(['node', 'init', '--dir', dir, '--site', site, '--authority', authority.json, '--listen', LOOPBACK])
  assert.is(r.code, 0, r.err)
  return { dir, peer: r.out.trim() }
}

async function admit (authority: { dir: string }, node: { dir: string, peer: string }, site: string): Promise<Run> {
  return await cli(['authority', 'admit', '--dir', authority.dir, '--peer', node.peer, '--site', site, '--out', join(node.dir, 'node.cert')])
}

// ---------------------------------------------------------------------------

const top = suite('bioshard: help, version and exit codes')

top('every command\'s registry entry names and summarises it as its module does', async () => {
  for (const c of COMMANDS) {
    const loaded = await c.load()
    assert.is(loaded.name, c.name)
    assert.is(loaded.summary, c.summary)
  }
})

top('--help lists every command and exits 0', async () => {
  for (const flag of ['--help', '-h', 'help']) {
    const r = await cli([flag])
    assert.is(r.code, 0)
    assert.match(r.out, /^Usage: bioshard <command>/)
    for (const name of ['authority', 'node', 'audit']) assert.match(r.out, new RegExp(`^  ${name}\\s`, 'm'))
  }
})

top('no command prints the usage and exits 2', async () => {
  const r = await cli([])
  assert.is(r.code, 2)
  assert.match(r.out, /Usage: bioshard/)
})

top('--version prints the package version and exits 0', async () => {
  for (const flag of ['--version', '-v']) {
    const r = await cli([flag])
    assert.is(r.code, 0)
    assert.is(r.out, `${PKG.version}\n`)
  }
})

top('an unknown command exits 2 and names it', async () => {
  const r = await cli(['frobnicate'])
  assert.is(r.code, 2)
  assert.match(r.err, /unknown command 'frobnicate'/)
  assert.is(r.out, '')
})

top('every command answers --help with exit 0', async () => {
  for (const name of ['authority', 'node', 'audit']) {
    const r = await cli([name, '--help'])
    assert.is(r.code, 0, name)
    assert.match(r.out, /Usage:/)
  }
})

top('an unknown option or subcommand exits 2 and points at --help', async () => {
  let r = await cli(['node', 'start', '--dir', root, '--colour', 'blue'])
  assert.is(r.code, 2)
  assert.match(r.err, /--colour/)
  assert.match(r.err, /bioshard node --help/)
  r = await cli(['authority', 'promote', '--dir', root])
  assert.is(r.code, 2)
  assert.match(r.err, /unknown subcommand 'promote'/)
})

top.run()

// ---------------------------------------------------------------------------

const authorityInit = suite('bioshard authority init')

authorityInit('creates the key (0600) and the public authority.json', async () => {
  const dir = fresh('authority')
  const r = await cli(['authority', 'init', '--dir', dir])
  assert.is(r.code, 0, r.err)
  const key = join(dir, 'authority.key')
  assert.is(mode(key), 0o600)
  assert.is(readFileSync(key).length, 32)
  assert.is(mode(dir), 0o700)
  const info = JSON.parse(readFileSync(join(dir, 'authority.json'), 'utf8')) as { network: string, publicKey: string }
  assert.match(info.network, /^bsn-[0-9a-f]{16}$/)
  assert.match(info.publicKey, /^[0-9a-f]{64}$/)
  assert.ok(r.out.includes(info.network) && r.out.includes(info.publicKey), 'prints the network id and public key')
})

authorityInit('refuses a second init in the same directory and leaves the key alone', async () => {
  const a = await makeAuthority()
  const before = readFileSync(join(a.dir, 'authority.key'))
  const r = await cli(['authority', 'init', '--dir', a.dir])
  assert.is(r.code, 2)
  assert.match(r.err, /ERR_CONFIG/)
  assert.match(r.err, /already exists/)
  assert.ok(equalBytes(readFileSync(join(a.dir, 'authority.key')), before))
  assert.is(JSON.parse(readFileSync(a.json, 'utf8')).network, a.network)
})

authorityInit('without --dir exits 2 naming --dir', async () => {
  const r = await cli(['authority', 'init'])
  assert.is(r.code, 2)
  assert.match(r.err, /--dir is required/)
})

authorityInit.run()

// ---------------------------------------------------------------------------

const nodeInit = suite('bioshard node init')

nodeInit('writes config.json (0600) and both keys (0600), and prints the peer id', async () => {
  const a = await makeAuthority()
  const dir = fresh('node')
  const r = await cli(['node', 'init', '--dir', dir, '--site', 'clinic-a', '--authority', a.json, '--listen', LOOPBACK])
  assert.is(r.code, 0, r.err)
  for (const f of ['config.json', 'peer.key', 'storage.key']) assert.is(mode(join(dir, f)), 0o600, f)
  const peer = r.out.trim()
  assert.is(peerIdFromString(peer).type, 'Ed25519')
  assert.is((await loadKeys(dir)).peerId, peer, 'the printed id is the one peer.key derives')
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
  assert.is(config.site, 'clinic-a')
  assert.is(config.network, a.network)
  assert.equal(config.authorities, [a.publicKey])
  assert.equal(config.listen, [LOOPBACK])
  assert.match(r.err, new RegExp(`authority admit .*--peer ${peer}`), 'tells the operator the next step')
})

nodeInit('accepts the authority as a bare key with --network', async () => {
  const a = await makeAuthority()
  const dir = fresh('node')
  const r = await cli(['node', 'init', '--dir', dir, '--site', 'clinic-a', '--authority', a.publicKey, '--network', a.network])
  assert.is(r.code, 0, r.err)
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
  assert.is(config.network, a.network)
  const bare = await cli(['node', 'init', '--dir', fresh('node'), '--site', 'clinic-a', '--authority', a.publicKey])
  assert.is(bare.code, 2)
  assert.match(bare.err, /--network is required/)
})

nodeInit('refuses to overwrite an existing node: config and keys stay as they were', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  const config = readFileSync(join(node.dir, 'config.json'))
  const key = readFileSync(join(node.dir, 'peer.key'))
  const storage = readFileSync(join(node.dir, 'storage.key'))
  const r = await cli(['node', 'init', '--dir', node.dir, '--site', 'clinic-b', '--authority', a.json])
  assert.is(r.code, 2)
  assert.match(r.err, /refusing to overwrite/)
  assert.is(r.out, '', 'prints no new peer id')
  assert.ok(equalBytes(readFileSync(join(node.dir, 'config.json')), config))
  assert.ok(equalBytes(readFileSync(join(node.dir, 'peer.key')), key))
  assert.ok(equalBytes(readFileSync(join(node.dir, 'storage.key')), storage))
})

nodeInit('without --site exits 2 naming --site and writes nothing', async () => {
  const a = await makeAuthority()
  const dir = fresh('node')
  const r = await cli(['node', 'init', '--dir', dir, '--authority', a.json])
  assert.is(r.code, 2)
  assert.match(r.err, /--site is required/)
  assert.not.ok(existsSync(join(dir, 'config.json')))
  assert.not.ok(existsSync(join(dir, 'peer.key')))
})

nodeInit('an authority file that does not exist exits 2 naming it', async () => {
  const missing = join(root, 'no-such-authority.json')
  const r = await cli(['node', 'init', '--dir', fresh('node'), '--site', 'clinic-a', '--authority', missing])
  assert.is(r.code, 2)
  assert.ok(r.err.includes(missing))
})

nodeInit.run()

// ---------------------------------------------------------------------------

const admission = suite('bioshard authority admit, and node start checking its certificate')

admission('admit writes a node certificate for the peer and site, and prints the file it wrote', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  const r = await admit(a, node, 'clinic-a')
  assert.is(r.code, 0, r.err)
  assert.is(r.out.trim(), join(node.dir, 'node.cert'))
  const cert = loadCert(node.dir)
  assert.ok(cert !== undefined)
  assert.is(cert.body.peer, node.peer)
  assert.is(cert.body.site, 'clinic-a')
  assert.is(cert.body.network, a.network)
  assert.is(toHex(cert.body.issuer), a.publicKey)
  assert.ok(cert.body.nb <= Date.now() && cert.body.na > Date.now() + 300 * 86_400_000, 'valid now, for about a year')
})

admission('admit without --out files the certificate under certs/<peer>.cert', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  const r = await cli(['authority', 'admit', '--dir', a.dir, '--peer', node.peer, '--site', 'clinic-a', '--days', '7'])
  assert.is(r.code, 0, r.err)
  assert.ok(existsSync(join(a.dir, 'certs', `${node.peer}.cert`)))
})

admission('admit refuses a malformed peer id (exit 2)', async () => {
  const a = await makeAuthority()
  const r = await cli(['authority', 'admit', '--dir', a.dir, '--peer', 'not-a-peer-id', '--site', 'clinic-a'])
  assert.is(r.code, 2)
  assert.match(r.err, /peer/i)
})

admission('node start without node.cert exits 2 and says how to get one', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  const r = await cli(['node', 'start', '--dir', node.dir])
  assert.is(r.code, 2)
  assert.match(r.err, /no node\.cert/)
  assert.match(r.err, /bioshard authority admit/)
})

admission('node start with a certificate for another site exits 2 naming both sites', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  assert.is((await admit(a, node, 'clinic-b')).code, 0)
  const r = await cli(['node', 'start', '--dir', node.dir])
  assert.is(r.code, 2)
  assert.match(r.err, /node\.cert is for site clinic-b, config says clinic-a/)
})

admission('node start with another peer\'s certificate exits 2 naming both peers', async () => {
  const a = await makeAuthority()
  const one = await makeNode(a, 'clinic-a')
  const two = await makeNode(a, 'clinic-a')
  assert.is((await admit(a, one, 'clinic-a')).code, 0)
  copyFileSync(join(one.dir, 'node.cert'), join(two.dir, 'node.cert'))
  const r = await cli(['node', 'start', '--dir', two.dir])
  assert.is(r.code, 2)
  assert.ok(r.err.includes(`node.cert is for peer ${one.peer}, this node is ${two.peer}`), r.err)
})

admission('node start with a certificate from another authority exits 2', async () => {
  const a = await makeAuthority()
  const other = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  assert.is((await admit(other, node, 'clinic-a')).code, 0)
  const r = await cli(['node', 'start', '--dir', node.dir])
  assert.is(r.code, 2)
  assert.match(r.err, /node\.cert is not usable/)
})

admission('node start runs until the stop signal, then stops cleanly (exit 0)', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  assert.is((await admit(a, node, 'clinic-a')).code, 0)
  const f = fakeIo()
  const running = runCli(['node', 'start', '--dir', node.dir], f.io)
  const deadline = Date.now() + 60_000
  while (!/^ready$/m.test(f.out()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.match(f.out(), new RegExp(`^peer ${node.peer}$`, 'm'))
  assert.match(f.out(), new RegExp(`^listening /ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${node.peer}$`, 'm'))
  assert.match(f.out(), /^ready$/m)
  f.stop.abort()
  assert.is(await running, 0)
  assert.match(f.err(), /stopped\n$/)
})

admission.run()

// ---------------------------------------------------------------------------

const config = suite('bioshard node start: a hand-edited config is refused, naming the field')

const ctx = { dir: '', original: '' }

sharedSetup(config, 'an authority and an admitted node', async () => {
  const a = await makeAuthority()
  const node = await makeNode(a, 'clinic-a')
  assert.is((await admit(a, node, 'clinic-a')).code, 0)
  ctx.dir = node.dir
  ctx.original = readFileSync(join(node.dir, 'config.json'), 'utf8')
})

config.after.each(() => {
  writeFileSync(join(ctx.dir, 'config.json'), ctx.original)
})

async function startWith (edit: (c: Record<string, unknown>) => void, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const c = JSON.parse(ctx.original) as Record<string, unknown>
  edit(c)
  writeFileSync(join(ctx.dir, 'config.json'), JSON.stringify(c))
  return await cli(['node', 'start', '--dir', ctx.dir], env)
}

const cases: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
  ['a listen address that is not a string', (c) => { c.listen = [42] }, /config\.listen\[0\] must be a string/],
  ['a listen address that is not a multiaddr', (c) => { c.listen = [LOOPBACK, 'localhost:4100'] }, /config\.listen\[1\] is not a valid multiaddr/],
  ['listen that is not a list', (c) => { c.listen = LOOPBACK }, /config\.listen must be an array/],
  ['an unknown setting', (c) => { c.colour = 'blue' }, /config\.colour is not a known setting/],
  ['a malformed network id', (c) => { c.network = 'mainnet' }, /config\.network must look like bsn-/],
  ['a malformed authority key', (c) => { c.authorities = ['00ff'] }, /config\.authorities\[0\] must be 64 hex/],
  ['no authority at all', (c) => { c.authorities = [] }, /config\.authorities must list/],
  ['an unsupported version', (c) => { c.version = 2 }, /config\.version must be 1/],
  ['a bad site name', (c) => { c.site = '' }, /config\.site must be a name/],
  ['a metrics address without a port', (c) => { c.metrics = 'localhost' }, /config\.metrics must be host:port/],
  ['a zero limit', (c) => { c.limits = { invalidRequestBudget: 0 } }, /config\.limits\.invalidRequestBudget must be a positive integer/],
  ['an unknown limit', (c) => { c.limits = { maxShares: 5 } }, /config\.limits\.maxShares is not a known limit/],
  ['an audit flush delay of minutes', (c) => { c.limits = { auditFlushMs: 60_000 } }, /config\.limits\.auditFlushMs must be at most 10000/],
  ['a bootstrap peer that is not a multiaddr', (c) => { c.bootstrap = ['peer-1'] }, /config\.bootstrap\[0\] is not a valid multiaddr/]
]

for (const [name, edit, message] of cases) {
  config(`${name}: exit 2`, async () => {
    const r = await startWith(edit)
    assert.is(r.code, 2)
    assert.match(r.err, /ERR_CONFIG/)
    assert.match(r.err, message)
    assert.is(r.out, '', 'never got as far as starting')
  })
}

config('a config that is not JSON: exit 2 naming the file', async () => {
  writeFileSync(join(ctx.dir, 'config.json'), '{ "version": 1, ')
  const r = await cli(['node', 'start', '--dir', ctx.dir])
  assert.is(r.code, 2)
  assert.match(r.err, /config\.json is not valid JSON/)
})

config('a bad BIOSHARD_LISTEN override: exit 2 naming the variable', async () => {
  const r = await startWith(() => {}, { BIOSHARD_LISTEN: '/ip4/127.0.0.1/tcp/0,nonsense' })
  assert.is(r.code, 2)
  assert.match(r.err, /config\.listen \(BIOSHARD_LISTEN\)\[1\] is not a valid multiaddr/)
})

config('a bad --metrics address: exit 2 naming it, and the half-started node lets go of its database', async () => {
  const r = await cli(['node', 'start', '--dir', ctx.dir, '--metrics', 'nowhere'])
  assert.is(r.code, 2)
  assert.match(r.err, /metrics must be host:port/)
  // The database was opened before the metrics address was read; a lock
  // still held would make this ERR_BUSY (exit 1).
  const verify = await cli(['audit', 'verify', '--dir', ctx.dir])
  assert.is(verify.code, 0, verify.out + verify.err)
})

config.run()

// ---------------------------------------------------------------------------

const proc = suite('bioshard node start as a process: metrics, health, SIGTERM')

const p: { node?: NodeProcess, dir: string, authority?: Awaited<ReturnType<typeof makeAuthority>> } = { dir: '' }

async function get (url: string): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { agent: false, signal: AbortSignal.timeout(5_000) }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Node options that make a child write the URL of every module it loads to
 * `file`, one a line (a synchronous module hook, preloaded).
 */
function recordModules (file: string): NodeJS.ProcessEnv {
  const hook = join(root, 'record-modules.mjs')
  writeFileSync(hook, [
    "import { registerHooks } from 'node:module'",
    "import { appendFileSync } from 'node:fs'",
    `registerHooks({ load (url, context, next) { appendFileSync(${JSON.stringify(file)}, url + '\\n'); return next(url, context) } })`,
    ''
  ].join('\n'))
  return { NODE_OPTIONS: `--import=${hook}` }
}

/** The project's own modules among `urls`, as paths from the repository root. */
function ownModules (urls: readonly string[]): string[] {
  const base = new URL('../../', import.meta.url).href
  return urls.filter((u) => u.startsWith(base) && !u.includes('/node_modules/')).map((u) => u.slice(base.length))
}

/** What a site node never needs: the verifier library, the enclave, the matchers, the simulator, other commands. */
const NOT_IN_A_NODE = /^(client|enclave|matcher|sim)\/|^cli\/commands\/(?!node\.ts$)/

sharedSetup(proc, 'an admitted node started as a process', async () => {
  const a = await makeAuthority()
  p.authority = a
  const node = await makeNode(a, 'clinic-a')
  assert.is((await admit(a, node, 'clinic-a')).code, 0)
  p.dir = node.dir
  p.node = await startNodeProcess(node.dir, ['--metrics', '127.0.0.1:0'], { env: recordModules(join(root, 'modules-clinic-a.txt')) })
  assert.is(p.node.peer, node.peer)
})

proc('prints its peer id, loopback address and metrics URL before ready', () => {
  const node = p.node!
  assert.ok(node.addrs.length > 0)
  for (const a of node.addrs) assert.match(a, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${node.peer}$`))
  assert.match(node.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
})

proc('a node process loads neither ONNX Runtime nor the image decoder (commands are loaded on demand)', () => {
  const maps = readFileSync(`/proc/${p.node!.child.pid}/maps`, 'utf8')
  assert.not.match(maps, /onnxruntime/, 'ONNX Runtime is mapped into a site node')
  assert.not.match(maps, /libvips|sharp/, 'the image decoder is mapped into a site node')
})

proc('a node process loads nothing from client/, enclave/, matcher/, sim/ or other commands\' modules', () => {
  const loaded = readFileSync(join(root, 'modules-clinic-a.txt'), 'utf8').split('\n').filter(Boolean)
  const own = ownModules(loaded)
  assert.ok(own.includes('node/site-node.ts'), 'the recorder saw the node\'s own modules')
  assert.equal(own.filter((m) => NOT_IN_A_NODE.test(m)), [], 'modules a site node does not need')
  assert.equal(loaded.filter((u) => /\/node_modules\/(onnxruntime-node|sharp)\//.test(u)), [], 'packages of the face pipeline')
})

proc('a node process without a metrics address loads no metrics library', async () => {
  const node = await makeNode(p.authority!, 'clinic-b')
  assert.is((await admit(p.authority!, node, 'clinic-b')).code, 0)
  const file = join(root, 'modules-clinic-b.txt')
  const child = await startNodeProcess(node.dir, [], { env: recordModules(file) })
  try {
    const loaded = readFileSync(file, 'utf8').split('\n').filter(Boolean)
    assert.ok(ownModules(loaded).includes('node/site-node.ts'), 'the recorder saw the node\'s own modules')
    assert.equal(loaded.filter((u) => /\/node_modules\/(prom-client|@opentelemetry)\//.test(u)), [])
    assert.equal(ownModules(loaded).filter((m) => m.startsWith('node/metrics/metrics')), [])
  } finally {
    await child.kill('SIGTERM')
  }
})

proc('serves Prometheus metrics', async () => {
  const r = await get(p.node!.metricsUrl!)
  assert.is(r.status, 200)
  assert.match(r.type, /^text\/plain/)
  assert.match(r.body, /^bioshard_shares_held 0$/m)
  assert.match(r.body, /^# TYPE bioshard_requests_total counter$/m)
})

proc('serves /healthz as JSON with ok: true', async () => {
  const r = await get(p.node!.metricsUrl!.replace(/\/metrics$/, '/healthz'))
  assert.is(r.status, 200)
  assert.match(r.type, /json/)
  const health = JSON.parse(r.body) as { ok: boolean, peer: string, site: string, admitted: number }
  assert.is(health.ok, true)
  assert.is(health.peer, p.node!.peer)
  assert.is(health.site, 'clinic-a')
  assert.is(health.admitted, 1, 'knows itself')
})

proc('stops on SIGTERM with exit code 0 and says so on stderr', async () => {
  // The outcome (a clean exit, said on stderr) shows the shutdown works; how fast depends on the machine.
  const exit = await p.node!.kill('SIGTERM', 60_000)
  assert.equal(exit, { code: 0, signal: null }, p.node!.stderr())
  assert.match(p.node!.stderr(), /stopping…\nstopped\n$/)
})

proc('has closed its database: the audit log verifies offline afterwards', async () => {
  const r = await cli(['audit', 'verify', '--dir', p.dir])
  assert.is(r.code, 0, r.out + r.err)
  assert.match(r.out, /^audit log ok: \d+ entries/)
})

proc.after(async () => {
  await p.node?.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})

proc.run()
