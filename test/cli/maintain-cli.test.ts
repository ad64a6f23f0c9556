/**
 * `bioshard maintain` over real nodes: enroll records the template id in the
 * tenant directory, a pass audits every holder, a stopped holder is repaired
 * (the output names its replacement) and verify still accepts; a pass runs
 * every period until the stop signal; erase drops the id; bad command lines are one line with exit 2.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from '../../sim/local-network.ts'
import { admitTenant } from '../../keys/authority.ts'
import { runCli } from '../../cli/main.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'

// Six sites for five shares, so a repair has a new site to place a share at.
const net = await LocalNetwork.start({ nodes: 6, sites: 6 })
await net.converged()
const tenantDir = join(mkdtempSync(join(tmpdir(), 'bioshard-tenant-')), 'tenant')
writeTenantCredentials(tenantDir, admitTenant(net.authority, 'maintain-tenant'), net.info)
const templatesFile = join(tenantDir, 'templates.txt')

async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(argv, { stdout: (s) => { out += s }, stderr: (s) => { err += s }, env: {}, stopSignal: new AbortController().signal })
  return { code, out, err }
}
const common = (): string[] => ['--tenant', tenantDir, '--bootstrap', net.bootstrap[0]]
const listed = (): string[] => readFileSync(templatesFile, 'utf8').split('\n').filter((l) => l !== '')

const Maintain = suite('bioshard maintain')
let id = ''
let holders: string[] = []

Maintain('enroll records the template id in templates.txt (0600)', async () => {
  const e = await cli('enroll', ...common(), '--synthetic', '11')
  assert.is(e.code, 0, e.err)
  const enrolled = JSON.parse(e.out) as { templateId: string, holders: Array<{ peer: string }> }
  id = enrolled.templateId
  holders = enrolled.holders.map((h) => h.peer)
  assert.equal(listed(), [id])
  assert.is(statSync(templatesFile).mode & 0o777, 0o600)
})

Maintain('maintain --once audits every holder, passes and changes nothing', async () => {
  const r = await cli('maintain', ...common(), '--once')
  assert.is(r.code, 0, r.err)
  assert.match(r.out, /templates 1 · audits passed 5 failed 0 no-answer 0 · repairs 0 · refreshes 0 · errors 0/)
})

Maintain('after a holder stops, maintain --once repairs the template, names the replacement, and verify still accepts', async () => {
  const gone = holders.find((p) => net.nodes.findIndex((n) => n.cert.body.peer === p) > 0) as string
  await net.stopNode(net.nodes.findIndex((n) => n.cert.body.peer === gone))
  const r = await cli('maintain', ...common(), '--once')
  assert.is(r.code, 0, r.err)
  assert.match(r.out, /repairs 1 · refreshes 0 · errors 0/)
  const line = r.out.split('\n').find((l) => l.startsWith(`repair ${id}`))
  assert.ok(line !== undefined, r.out)
  const spare = net.nodes.map((n) => n.cert.body.peer).find((p) => !holders.includes(p)) as string
  assert.ok(line.includes(`${gone} → ${spare}`), line)
  const ok = await cli('verify', ...common(), '--template', id, '--synthetic', '11')
  assert.is(ok.code, 0, ok.err)
  const again = await cli('maintain', ...common(), '--once')
  assert.is(again.code, 0, again.err)
  assert.match(again.out, /audits passed 5 failed 0 no-answer 0 · repairs 0/)
})

Maintain('maintain --every runs a pass per period until the stop signal, then leaves cleanly (exit 0)', async () => {
  const stop = new AbortController()
  let out = ''
  const io = {
    stdout: (t: string) => { out += t; if ((out.match(/ templates \d+ · /g) ?? []).length >= 2) stop.abort() },
    stderr: (t: string) => { out += t },
    env: {},
    stopSignal: stop.signal
  }
  const code = await runCli(['maintain', ...common(), '--every', '1s'], io)
  assert.is(code, 0, out)
  assert.is((out.match(/ templates 1 · audits passed 5 /g) ?? []).length, 2, out)
})

Maintain('erase removes the id from templates.txt once complete; a listed template with no manifest is an error line and exit 1', async () => {
  const unknown = 'ab'.repeat(32)
  writeFileSync(templatesFile, `${unknown}\n${id}\n`)
  const gone = await cli('erase', ...common(), '--template', id)
  assert.is(gone.code, 0, gone.err)
  assert.equal(listed(), [unknown])
  const r = await cli('maintain', ...common(), '--once')
  assert.is(r.code, 1, r.err)
  assert.match(r.err, new RegExp(`^error ${unknown}: ERR_NOT_FOUND: `))
  assert.match(r.out, /templates 1 · .* errors 1 /)
})

Maintain('bad command lines are one line with exit 2', async () => {
  const cases = [
    { argv: ['maintain', '--bootstrap', net.bootstrap[0], '--once'], names: /--tenant/ },
    { argv: ['maintain', ...common(), '--every', '10 minutes'], names: /--every/ },
    { argv: ['maintain', ...common(), '--every', '0m'], names: /--every/ },
    { argv: ['maintain', ...common(), '--every', '30d'], names: /--every/ },
    { argv: ['maintain', ...common(), '--refresh-every', '1.5h'], names: /--refresh-every/ },
    { argv: ['maintain', ...common(), '--floor-gap', '0'], names: /--floor-gap/ },
    { argv: ['maintain', ...common(), '--once', '--every', '1m'], names: /--once/ }
  ]
  for (const c of cases) {
    const r = await cli(...c.argv)
    assert.is(r.code, 2, `${c.argv.join(' ')}: ${r.err}`)
    assert.match(r.err, c.names)
    assert.is(r.err.split('\n')[0].includes('    at '), false)
    assert.ok(r.err.split('\n').filter((l) => l !== '').length <= 2, r.err)
  }
  writeFileSync(templatesFile, 'not an id\n')
  const corrupt = await cli('maintain', ...common(), '--once')
  assert.is(corrupt.code, 2)
  assert.match(corrupt.err, /templates\.txt line 1/)
  assert.is(corrupt.err.trim().split('\n').length, 1, corrupt.err)
})

Maintain.after(async () => { await net.stop() })

Maintain.run()
