/**
 * `bioshard node init|start` and `devnet` where an operator first stumbles:
 * bad paths and ports give one line and exit 2 (never a stack trace), a
 * failed init leaves the directory as it found it, `init --metrics` is
 * kept, and a node whose bootstrap peers are unreachable warns, says so in
 * /healthz, and joins once one comes up.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, existsSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../../cli/main.ts'
import type { CliIo } from '../../cli/io.ts'

const root = mkdtempSync(join(tmpdir(), 'bioshard-node-cli-'))
let counter = 0
function fresh (name: string): string { return join(root, `${name}-${++counter}`) }

interface Running { io: CliIo, out: () => string, err: () => string, stop: AbortController }
function fakeIo (): Running {
  let out = ''
  let err = ''
  const stop = new AbortController()
  return { io: { stdout: (t) => { out += t }, stderr: (t) => { err += t }, env: {}, stopSignal: stop.signal }, out: () => out, err: () => err, stop }
}
async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  const f = fakeIo()
  const code = await runCli(argv, f.io)
  return { code, out: f.out(), err: f.err() }
}

/** A TCP port held open by another listener, and how to release it. */
async function heldPort (): Promise<{ port: number, server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}
async function freePort (): Promise<number> {
  const { port, server } = await heldPort()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function getJson (url: string): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve(JSON.parse(body) as Record<string, unknown>) })
    }).on('error', reject).end()
  })
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const authorityDir = fresh('authority')
assert.is((await cli('authority', 'init', '--dir', authorityDir)).code, 0)
const authorityJson = join(authorityDir, 'authority.json')

/** Init and admit a node; returns its dir and peer id. */
async function node (site: string, ...extra: string[]): Promise<{ dir: string, peer: string }> {
  const dir = fresh('node')
  const r = await cli('node', 'init', '--dir', dir, '--site', site, '--authority', authorityJson, ...extra)
  assert.is(r.code, 0, r.err)
  const peer = r.out.trim()
  const a = await cli('authority', 'admit', '--dir', authorityDir, '--peer', peer, '--site', site, '--out', join(dir, 'node.cert'))
  assert.is(a.code, 0, a.err)
  return { dir, peer }
}

/** `node start` in this process until `stop` is aborted. */
function start (dir: string, ...extra: string[]): Running & { done: Promise<number> } {
  const f = fakeIo()
  return { ...f, done: runCli(['node', 'start', '--dir', dir, ...extra], f.io) }
}

function oneLine (text: string): void {
  assert.is(text.trim().split('\n').filter((l) => !l.startsWith('(see ')).length, 1, text)
  assert.not.match(text, /^\s+at /m)
}

const Init = suite('node init: one-line errors, nothing left behind, --metrics kept')

Init('--authority naming a directory is a one-line usage error pointing at its authority.json, and no node directory is made', async () => {
  const dir = fresh('node')
  const r = await cli('node', 'init', '--dir', dir, '--site', 's', '--authority', authorityDir)
  assert.is(r.code, 2)
  assert.match(r.err, /is a directory; give the authority.json file/)
  assert.ok(r.err.includes(authorityJson), r.err)
  oneLine(r.err)
  assert.not.ok(existsSync(dir))
})

Init('a failed init leaves no directory behind, or only what was there before', async () => {
  const dir = fresh('node')
  const bad = await cli('node', 'init', '--dir', dir, '--site', 's', '--authority', authorityJson, '--listen', 'not-a-multiaddr')
  assert.is(bad.code, 2)
  assert.not.ok(existsSync(dir), 'no directory left by a failed init')
  const metrics = await cli('node', 'init', '--dir', dir, '--site', 's', '--authority', authorityJson, '--metrics', 'nohostport')
  assert.is(metrics.code, 2)
  assert.match(metrics.err, /metrics/)
  assert.not.ok(existsSync(dir))
  // A directory that already held a key: the init fails at the keys, and takes back only its config.
  const used = fresh('node')
  mkdirSync(used)
  writeFileSync(join(used, 'peer.key'), 'kept')
  const r = await cli('node', 'init', '--dir', used, '--site', 's', '--authority', authorityJson)
  assert.is(r.code, 2, r.err)
  assert.equal(readdirSync(used), ['peer.key'])
  assert.is(readFileSync(join(used, 'peer.key'), 'utf8'), 'kept')
})

Init('init --metrics host:port is written to the config', async () => {
  const dir = fresh('node')
  const r = await cli('node', 'init', '--dir', dir, '--site', 's', '--authority', authorityJson, '--metrics', '127.0.0.1:9464')
  assert.is(r.code, 0, r.err)
  assert.is((JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { metrics: unknown }).metrics, '127.0.0.1:9464')
})

Init('devnet --dir on the directory of an earlier run says what to do instead', async () => {
  const dir = fresh('devnet')
  assert.is((await cli('authority', 'init', '--dir', join(dir, 'authority'))).code, 0)
  const r = await cli('devnet', '--dir', dir, '--synthetic')
  assert.is(r.code, 2)
  assert.match(r.err, /earlier devnet run.*choose another --dir.*rm -r/)
})

Init('devnet --identities 1 is refused before any node starts: an impostor probe needs a second identity', async () => {
  const dir = fresh('devnet')
  const r = await cli('devnet', '--dir', dir, '--identities', '1', '--synthetic')
  assert.is(r.code, 2)
  assert.is(r.err.trim().split('\n').length, 1, r.err)
  assert.match(r.err, /--identities must be at least 2/)
  assert.not.ok(existsSync(dir), 'no network was made')
})

Init('authority admit prints the certificate file and names the peer, not the certificate in hex; authority.json is readable by all', async () => {
  const n = await node('printed')
  const out = join(n.dir, 'again.cert')
  const r = await cli('authority', 'admit', '--dir', authorityDir, '--peer', n.peer, '--site', 'printed', '--out', out)
  assert.is(r.code, 0, r.err)
  assert.is(r.out, `${out}\n`)
  assert.ok(r.err.includes(n.peer) && r.err.includes(out), r.err)
  assert.not.match(r.out + r.err, /[0-9a-f]{200}/)
  assert.is(statSync(authorityJson).mode & 0o777, 0o644)
})

Init.run()

const Start = suite('node start: ports in use, unreachable bootstrap peers')

Start('a listen port in use is one line and exit 2 naming the address', async () => {
  const held = await heldPort()
  try {
    const n = await node('busy-listen', '--listen', `/ip4/127.0.0.1/tcp/${held.port}`)
    const s = start(n.dir)
    assert.is(await s.done, 2, s.err())
    assert.match(s.err(), new RegExp(`ERR_CONFIG: cannot listen on listen /ip4/127.0.0.1/tcp/${held.port}: the port is already in use`))
    oneLine(s.err())
  } finally { held.server.close() }
})

Start('a metrics port in use is one line and exit 2 naming the address', async () => {
  const held = await heldPort()
  try {
    const n = await node('busy-metrics', '--listen', '/ip4/127.0.0.1/tcp/0')
    const s = start(n.dir, '--metrics', `127.0.0.1:${held.port}`)
    assert.is(await s.done, 2, s.err())
    assert.match(s.err(), new RegExp(`ERR_CONFIG: cannot listen on metrics 127.0.0.1:${held.port}: the port is already in use`))
    oneLine(s.err())
  } finally { held.server.close() }
})

Start('a node whose bootstrap peer is down warns, reports it in /healthz, keeps retrying, and joins when the peer comes up', async () => {
  const port = await freePort()
  const first = await node('site-a', '--listen', `/ip4/127.0.0.1/tcp/${port}`)
  const second = await node('site-b', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', `/ip4/127.0.0.1/tcp/${port}/p2p/${first.peer}`)
  const b = start(second.dir, '--metrics', '127.0.0.1:0')
  let a: ReturnType<typeof start> | undefined
  try {
    await until('ready', () => /^ready$/m.test(b.out()))
    await until('a warning', () => /warning: no bootstrap peer reachable/.test(b.err()))
    const url = /metrics (http:\/\/\S+)\/metrics/.exec(b.out())?.[1] ?? ''
    const health = async (): Promise<{ ok: boolean, connected: number, bootstrap: { joined: boolean, failedRounds: number, lastError?: string } }> =>
      await getJson(`${url}/healthz`) as never
    let h = await health()
    assert.is(h.bootstrap.joined, false)
    assert.ok(h.bootstrap.failedRounds >= 1)
    assert.match(h.bootstrap.lastError ?? '', new RegExp(String(port)))
    await until('a second round', async () => (await health()).bootstrap.failedRounds >= 2)
    a = start(first.dir)
    await until('the first node ready', () => /^ready$/m.test(a?.out() ?? ''))
    await until('the joined state', async () => (await health()).bootstrap.joined)
    h = await health()
    assert.ok(h.connected >= 1)
    assert.is(h.bootstrap.failedRounds, 0)
    await until('the joined notice', () => /warning: a bootstrap peer answered/.test(b.err()))
  } finally {
    b.stop.abort()
    a?.stop.abort()
    assert.is(await b.done, 0)
    if (a !== undefined) assert.is(await a.done, 0)
  }
})

Start('start --reconcile-now reconciles once the node is ready and says so, then keeps serving', async () => {
  const lone = await node('site-r', '--listen', '/ip4/127.0.0.1/tcp/0')
  const r = start(lone.dir, '--reconcile-now')
  try {
    await until('the reconciled line', () => /^reconciled republished \d+, /m.test(r.out()))
    assert.ok(r.out().indexOf('\nready\n') < r.out().indexOf('reconciled'), r.out())
    assert.is(r.err(), '')
  } finally {
    r.stop.abort()
    assert.is(await r.done, 0)
  }
})

Start.run()
