/**
 * The operator recipe of docs/operations.md, end to end: `bioshard network
 * init --sites 3` writes an authority, three node directories and their
 * systemd units; each node is started with exactly the unit's ExecStart
 * line; a tenant enrols, verifies and erases through the CLI; `network add`
 * writes a fourth site that joins the running network and takes a share; a
 * retired (stopped) site leaves its templates verifiable by the others.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN } from '../helpers/node-process.ts'
import { freePortRun } from './free-ports.ts'

interface Run { code: number, out: string, err: string }

const root = mkdtempSync(join(tmpdir(), 'bioshard-recipe-'))
const net = join(root, 'net')
const live = new Map<string, ChildProcess>()
process.on('exit', () => { for (const c of live.values()) c.kill('SIGKILL') })

function env (): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { FORCE_COLOR: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BIOSHARD_')) out[k] = v
  return out
}

async function bioshard (...args: string[]): Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: env(), timeout: 60_000 }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err })
    })
  })
}

/** Start a site the way systemd would: the unit's ExecStart, split on spaces (the paths hold none). */
async function startUnit (site: string): Promise<void> {
  const unit = readFileSync(join(net, 'systemd', `bioshard-${site}.service`), 'utf8')
  const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1]
  assert.ok(exec !== undefined, 'the unit has an ExecStart line')
  const [cmd, ...args] = exec.split(' ')
  const child = spawn(cmd as string, args, { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
  live.set(site, child)
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { resolve(false) }, 30_000)
    child.stdout.on('data', () => { if (/^ready$/m.test(out)) { clearTimeout(timer); resolve(true) } })
    child.once('exit', () => { clearTimeout(timer); resolve(false) })
  })
  assert.ok(ready, `${site} did not start:\n${err}${out}`)
}

async function stopUnit (site: string): Promise<void> {
  const child = live.get(site)
  if (child === undefined || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
  live.delete(site)
}

/** Sites retired so far: the recipe drops them from the bootstrap list, since dialling a stopped site costs a dial timeout. */
const retired = new Set<string>()

function bootstrap (): string[] {
  const lines = readFileSync(join(net, 'bootstrap.txt'), 'utf8').split('\n').filter(Boolean)
  const layout = JSON.parse(readFileSync(join(net, 'network.json'), 'utf8')) as { sites: Array<{ site: string, addr: string }> }
  const gone = new Set(layout.sites.filter((s) => retired.has(s.site)).map((s) => s.addr))
  return lines.filter((a) => !gone.has(a)).flatMap((a) => ['--bootstrap', a])
}

function tenantArgs (): string[] { return ['--tenant', join(net, 'acme'), ...bootstrap()] }

/** Enrol, retrying while the network is still learning its sites (a new node needs a moment to be in every roster). */
async function enrollUntil (args: string[], tries = 15): Promise<{ templateId: string, holders: Array<{ site: string }> }> {
  let last: Run | undefined
  for (let i = 0; i < tries; i++) {
    last = await bioshard('enroll', ...tenantArgs(), ...args)
    if (last.code === 0) return JSON.parse(last.out) as { templateId: string, holders: Array<{ site: string }> }
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  throw new Error(`enroll kept failing: ${last?.err ?? ''}`)
}

const Recipe = suite('operator recipe: bioshard network init|add and the systemd units it writes')

Recipe.after(async () => {
  for (const site of [...live.keys()]) await stopUnit(site)
  rmSync(root, { recursive: true, force: true })
})

Recipe('network init writes an authority, three admitted sites and their units; enroll, verify and erase work; a 4th site joins', async () => {
  const port = await freePortRun(4)
  const metrics = await freePortRun(4)
  const init = await bioshard('network', 'init', '--dir', net, '--sites', '3', '--port', String(port), '--metrics-port', String(metrics))
  assert.is(init.code, 0, init.err)
  assert.equal(readdirSync(join(net, 'sites')).sort(), ['site-1', 'site-2', 'site-3'])
  assert.equal(readdirSync(join(net, 'systemd')).sort(), ['bioshard-site-1.service', 'bioshard-site-2.service', 'bioshard-site-3.service'])
  for (const f of ['config.json', 'peer.key', 'storage.key']) assert.is(statSync(join(net, 'sites', 'site-1', f)).mode & 0o777, 0o600, f)
  assert.is(statSync(join(net, 'authority', 'authority.key')).mode & 0o777, 0o600)
  assert.match(readFileSync(join(net, 'systemd', 'bioshard-site-1.service'), 'utf8'), /^KillSignal=SIGTERM$/m)

  // Started together, as systemd starts them at boot: each site's bootstrap peers come up alongside it.
  await Promise.all(['site-1', 'site-2', 'site-3'].map(startUnit))
  const health = await fetch(`http://127.0.0.1:${metrics}/healthz`)
  assert.is(health.status, 200)

  const tenant = await bioshard('authority', 'tenant', '--dir', join(net, 'authority'), '--name', 'acme', '--out', join(net, 'acme'))
  assert.is(tenant.code, 0, tenant.err)
  const first = await enrollUntil(['--synthetic', '7', '--t', '2', '--n', '3'])
  assert.equal(first.holders.map((h) => h.site).sort(), ['site-1', 'site-2', 'site-3'])
  const verified = await bioshard('verify', ...tenantArgs(), '--template', first.templateId, '--synthetic', '7')
  assert.is(verified.code, 0, verified.err + verified.out)
  const erased = await bioshard('erase', ...tenantArgs(), '--template', first.templateId)
  assert.is(erased.code, 0, erased.err + erased.out)
  assert.is((JSON.parse(erased.out) as { complete: boolean }).complete, true)

  // Add a site to the running network: n = 4 needs four distinct sites, so it succeeds only once site-4 has joined.
  const added = await bioshard('network', 'add', '--dir', net, '--site', 'site-4')
  assert.is(added.code, 0, added.err)
  await startUnit('site-4')
  const wide = await enrollUntil(['--synthetic', '8', '--t', '2', '--n', '4'])
  assert.equal(wide.holders.map((h) => h.site).sort(), ['site-1', 'site-2', 'site-3', 'site-4'])

  // Retire a site: stop it; its templates stay verifiable while t holders remain.
  await stopUnit('site-2')
  retired.add('site-2')
  const after = await bioshard('verify', ...tenantArgs(), '--template', wide.templateId, '--synthetic', '8')
  assert.is(after.code, 0, after.err + after.out)
})

Recipe('network init refuses a directory that is not empty, and add refuses a site name already taken', async () => {
  const again = await bioshard('network', 'init', '--dir', net, '--sites', '3')
  assert.is(again.code, 2, again.err)
  assert.match(again.err, /not empty/)
  const dup = await bioshard('network', 'add', '--dir', net, '--site', 'site-1')
  assert.is(dup.code, 2, dup.err)
  assert.match(dup.err, /already exists/)
})

Recipe.run()
