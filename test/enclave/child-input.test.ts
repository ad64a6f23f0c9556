/**
 * The enclave child, spoken to directly over its IPC channel (the host class
 * validates what it sends; this checks the child does not rely on that):
 * hostile or malformed `open` hints and match messages are dropped or
 * answered with an error, the child keeps serving, and a hint that names a
 * session with garbage never changes a later match.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { planLaunch } from '../../enclave/launch.ts'
import { REPO_ROOT } from '../../enclave/read-set.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { enrol, near, request } from '../helpers/match-request.ts'

const Child = suite('enclave child input')

const plan = await planLaunch()
const child: ChildProcess = spawn(process.execPath, plan.args, {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  serialization: 'advanced',
  env: {},
  cwd: REPO_ROOT
})
const results = new Map<number, (m: Record<string, unknown>) => void>()
let onReady: (m: Record<string, unknown>) => void = () => {}
child.on('message', (m: Record<string, unknown>) => {
  if (m.type === 'ready') onReady(m)
  else if (m.type === 'result') results.get(m.id as number)?.(m)
})
const ready = await new Promise<Record<string, unknown>>((resolve) => {
  onReady = resolve
  child.send({ type: 'init', measurement: randomBytes(32), canary: realpathSync(process.execPath) })
})
const key = ready.key as Uint8Array

let nextId = 1
async function match (req: unknown): Promise<Record<string, unknown>> {
  const id = nextId++
  return await new Promise((resolve) => {
    results.set(id, resolve)
    child.send({ type: 'match', id, req })
  })
}

Child('malformed and hostile messages are dropped or refused, and the child keeps matching', async () => {
  const e = await enrol()
  const good = request({ publicKey: key }, e, near(e.vector))
  const hostile: unknown[] = [
    null, 42, 'open', { type: 'unknown' },
    { type: 'open' },
    { type: 'open', session: -1, templateId: e.templateId, manifest: e.digest, share: good.shares[0] },
    { type: 'open', session: 1, templateId: new Uint8Array(3), manifest: e.digest, share: good.shares[0] },
    { type: 'open', session: 1, templateId: e.templateId, share: good.shares[0] },
    { type: 'open', session: 1, templateId: e.templateId, manifest: e.digest, share: { ...good.shares[0], x: 0 } },
    { type: 'open', session: 1, templateId: e.templateId, manifest: e.digest, share: { ...good.shares[0], sealed: new Uint8Array(1 << 20) } },
    { type: 'open', session: 1, templateId: e.templateId, manifest: e.digest, share: { ...good.shares[0], sealed: randomBytes(100) } },
    { type: 'open', session: 1, templateId: e.templateId, manifest: e.digest, share: { ...good.shares[0], time: 'now' } },
    { type: 'open', session: 1, templateId: e.templateId, manifest: randomBytes(32), share: good.shares[0] },
    { type: 'match', id: 'x' }
  ]
  for (const m of hostile) child.send(m as never)
  const refused = await match({ ...good, session: 'nope', shares: [] })
  assert.is(refused.ok, false)
  assert.is((refused.error as { name: string }).name, 'RangeError')
  // Session 1 received only hints that were malformed or did not open: the match opens every share itself.
  const r = await match({ ...good, session: 1 })
  assert.is(r.ok, true, JSON.stringify(r.error))
  assert.is((r.result as { accept: boolean }).accept, true)
  assert.is(child.exitCode, null, 'the child is still running')
})

Child('a hint for the right session but other bytes is not used: the listed share is opened (and named bad)', async () => {
  const e = await enrol({ t: 2, n: 4 })
  const req = request({ publicKey: key }, e, near(e.vector))
  // The same shares sealed again for another request: a valid hint, but not the bytes the match lists.
  const spare = request({ publicKey: key }, e, e.vector).shares
  assert.is(spare[0].x, req.shares[0].x)
  child.send({ type: 'open', session: 7, templateId: e.templateId, manifest: e.digest, share: spare[0] })
  const tampered = { ...req.shares[0], sealed: req.shares[0].sealed.slice() }
  tampered.sealed[40] ^= 1
  const r = await match({ ...req, shares: [tampered, req.shares[1]], session: 7 })
  assert.is(r.ok, false, 'the valid hint for x was not taken in place of the listed (tampered) share')
  assert.equal((r.error as { bad: number[] }).bad, [req.shares[0].x])
})

Child.after(() => { child.disconnect() })

Child.run()
