/**
 * `bioshard enroll|verify|erase` where a new user first stumbles: a photo
 * probe verified through the CLI (the client's enclave gets the face
 * models), a tenant of another network or authority told so, and help and
 * option checks that say what each command takes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalNetwork } from '../../sim/local-network.ts'
import { admitTenant, initAuthority, loadAuthority } from '../../keys/authority.ts'
import { runCli } from '../../cli/main.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'
import { requireShared, sharedDir, sharedPath } from '../../matcher/shared-path.ts'

const HAVE_FACES = requireShared('verify --face through the CLI', [
  'models/face-detect-yunet.onnx', 'models/face-embed-mobilefacenet.onnx', 'data/faces/raw/amy/amy1.png', 'data/faces/raw/amy/amy2.png'
])

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const root = mkdtempSync(join(tmpdir(), 'bioshard-cli-defects-'))
const tenantDir = join(root, 'tenant')
writeTenantCredentials(tenantDir, admitTenant(net.authority, 'cli-tenant'), net.info)

async function cli (...argv: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const env = { BIOSHARD_SHARED: sharedDir() }
  const code = await runCli(argv, { stdout: (s) => { out += s }, stderr: (s) => { err += s }, env, stopSignal: new AbortController().signal })
  return { code, out, err }
}
const bootstrap = (): string[] => ['--bootstrap', net.bootstrap[0]]

const Cli = suite('client CLI: first-use defects')

const face = HAVE_FACES ? Cli : Cli.skip
face('enroll --face and verify --face work from the command line with the face models (--model-dir)', async () => {
  const models = ['--model-dir', sharedPath('models')]
  const e = await cli('enroll', '--tenant', tenantDir, ...bootstrap(), '--face', sharedPath('data/faces/raw/amy/amy1.png'), ...models)
  assert.is(e.code, 0, e.err)
  const { templateId } = JSON.parse(e.out) as { templateId: string }
  const v = await cli('verify', '--tenant', tenantDir, ...bootstrap(), '--template', templateId, '--face', sharedPath('data/faces/raw/amy/amy2.png'), ...models)
  assert.is(v.code, 0, v.err)
  assert.is((JSON.parse(v.out) as { accept: boolean }).accept, true)
})

Cli('a tenant of another network is told the network does not match, not that the roster is empty', async () => {
  const other = initAuthority(join(root, 'other-authority'))
  const otherAuthority = loadAuthority(join(root, 'other-authority'))
  const dir = join(root, 'other-tenant')
  writeTenantCredentials(dir, admitTenant(otherAuthority, 'stranger'), other)
  const r = await cli('enroll', '--tenant', dir, ...bootstrap(), '--synthetic', '1')
  assert.is.not(r.code, 0)
  assert.match(r.err, /ERR_NOT_ADMITTED/)
  assert.match(r.err, /network/)
  assert.ok(r.err.includes(net.info.network) && r.err.includes(other.network), r.err)
  assert.not.match(r.err, /ERR_NOT_ENOUGH_SITES|roster has 0/)
})

Cli('a tenant whose authority.json names the right network but another authority is told the authority does not match', async () => {
  const mine = initAuthority(join(root, 'impostor-authority'))
  const key = loadAuthority(join(root, 'impostor-authority')).key
  const forged = { network: net.info.network, publicKey: mine.publicKey }
  const dir = join(root, 'impostor-tenant')
  writeTenantCredentials(dir, admitTenant({ info: forged, key }, 'impostor'), forged)
  const r = await cli('verify', '--tenant', dir, ...bootstrap(), '--template', '00'.repeat(32), '--synthetic', '1')
  assert.is.not(r.code, 0)
  assert.match(r.err, /ERR_NOT_ADMITTED: .*authority/)
  assert.not.match(r.err, /ERR_NOT_ENOUGH_SITES|roster has 0/)
})

Cli('help lists each command\'s own options: erase no probe options, enroll --t/--n, verify --template/--purpose', async () => {
  const erase = await cli('erase', '--help')
  assert.is(erase.code, 0)
  assert.not.match(erase.out, /--embedding|--face|--synthetic/)
  assert.match(erase.out, /--template <hex id> +the template id/)
  const enroll = await cli('enroll', '--help')
  assert.match(enroll.out, /^ {2}--t <k> /m)
  assert.match(enroll.out, /^ {2}--n <m> /m)
  assert.match(enroll.out, /^ {2}--model-dir <dir> /m)
  const verify = await cli('verify', '--help')
  assert.match(verify.out, /^ {2}--template <hex id> /m)
  assert.match(verify.out, /^ {2}--purpose <word> /m)
  assert.match(verify.out, /^ {2}--model-dir <dir> /m)
  const stray = await cli('erase', '--tenant', tenantDir, ...bootstrap(), '--template', '00', '--face', 'x.jpg')
  assert.is(stray.code, 2)
  assert.match(stray.err, /--face/)
})

Cli('--t above --n says t must be at most n, before any network work', async () => {
  const r = await cli('enroll', '--tenant', join(root, 'absent'), ...bootstrap(), '--synthetic', '1', '--t', '3', '--n', '2')
  assert.is(r.code, 2)
  assert.match(r.err, /--t \(3\) must be at most --n \(2\)/)
})

Cli('a photo command without the face models names --model-dir', async () => {
  const missing = ['--model-dir', join(root, 'no-models')]
  const photo = join(root, 'photo.jpg')
  writeFileSync(photo, new Uint8Array(64))
  const v = await cli('enroll', '--tenant', tenantDir, ...bootstrap(), '--face', photo, ...missing)
  assert.is(v.code, 1, v.err)
  assert.match(v.err, /ERR_(MODEL|ENCLAVE): .*--model-dir/, v.err)
  const e = await cli('embed', '--face', photo, ...missing)
  assert.match(e.err, /ERR_MODEL: .*--model-dir/)
})

Cli.after(async () => { await net.stop() })

Cli.run()
