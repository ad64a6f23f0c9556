/**
 * `bioshard enroll|verify|erase` against a running network: JSON out, exit
 * codes scripts can rely on (0 accepted/complete, 1 rejected, 2 usage).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from '../../sim/local-network.ts'
import { admitTenant } from '../../keys/authority.ts'
import { runCli } from '../../cli/main.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const tenantDir = join(mkdtempSync(join(tmpdir(), 'bioshard-tenant-')), 'tenant')
writeTenantCredentials(tenantDir, admitTenant(net.authority, 'cli-tenant'), net.info)

async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await runCli(argv, { stdout: (s) => { out += s }, stderr: (s) => { err += s }, env: {}, stopSignal: new AbortController().signal })
  return { code, out, err }
}
const common = (): string[] => ['--tenant', tenantDir, '--bootstrap', net.bootstrap[0]]

const Cli = suite('client CLI commands')

Cli('enroll prints the template id and holders; verify accepts the same identity (exit 0) and rejects another (exit 1); erase completes', async () => {
  const e = await cli('enroll', ...common(), '--synthetic', '7')
  assert.is(e.code, 0, e.err)
  const enrolled = JSON.parse(e.out) as { templateId: string, holders: unknown[] }
  assert.is(enrolled.holders.length, 5)
  const ok = await cli('verify', ...common(), '--template', enrolled.templateId, '--synthetic', '7')
  assert.is(ok.code, 0, ok.err)
  assert.is((JSON.parse(ok.out) as { accept: boolean }).accept, true)
  const no = await cli('verify', ...common(), '--template', enrolled.templateId, '--synthetic', '8')
  assert.is(no.code, 1)
  const gone = await cli('erase', ...common(), '--template', enrolled.templateId)
  assert.is(gone.code, 0, gone.err)
  assert.is((JSON.parse(gone.out) as { complete: boolean }).complete, true)
})

Cli('bad command lines exit 2 and name the problem', async () => {
  const noBootstrap = await cli('enroll', '--tenant', tenantDir, '--synthetic', '1')
  assert.is(noBootstrap.code, 2)
  assert.match(noBootstrap.err, /--bootstrap/)
  const badSeed = await cli('enroll', ...common(), '--synthetic', 'x')
  assert.is(badSeed.code, 2)
  assert.match(badSeed.err, /--synthetic/)
  const badId = await cli('verify', ...common(), '--template', 'zz', '--synthetic', '1')
  assert.is(badId.code, 2)
})

Cli.after(async () => { await net.stop() })

Cli.run()
