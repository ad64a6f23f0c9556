/**
 * Decryption leaves no copy of its plaintext behind: once the caller wipes
 * what `open` (HPKE) or `decryptTemplate` (the envelope) returned, the
 * process's memory holds no window of that plaintext — not even in memory
 * the runtime has freed. (node:crypto's decipher fails this: it copies its
 * output into a right-sized buffer and frees the first one unwiped.)
 *
 * A child process receives only sealed shares and envelopes, decrypts and
 * wipes them; this process, which made the plaintexts, then reads the
 * child's memory from outside (test/helpers/process-memory.ts). Linux only.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { seal } from '../../crypto/seal.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { randomBytes, utf8 } from '../../crypto/bytes.ts'
import { CAN_SCAN, WINDOW, scanProcess } from '../helpers/process-memory.ts'

const Residue = suite('decryption residue')
const SEAL = fileURLToPath(new URL('../../crypto/seal.ts', import.meta.url))
const ENVELOPE = fileURLToPath(new URL('../../crypto/envelope.ts', import.meta.url))
const BYTES = fileURLToPath(new URL('../../crypto/bytes.ts', import.meta.url))
/** Distinct plaintexts per kind: every decryption would leave its own copy. */
const COUNT = 24

const CHILD = `
import { generateSealKeyPair, open } from ${JSON.stringify(SEAL)}
import { decryptTemplate } from ${JSON.stringify(ENVELOPE)}
import { wipe } from ${JSON.stringify(BYTES)}
const pair = generateSealKeyPair()
process.on('message', (m) => {
  if (m.type === 'open') for (const s of m.items) wipe(open(pair, s.sealed, s.info, s.aad))
  if (m.type === 'envelope') for (const e of m.items) { wipe(decryptTemplate(e.secret, e.ctx)); wipe(e.secret) }
  if (m.type === 'quit') process.exit(0)
  process.send({ type: 'done' })
})
process.send({ type: 'ready', key: pair.publicKey })
`

function next (child: ChildProcess, want: string, msg?: object): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => { if (m.type === want) { child.off('message', on); resolve(m) } }
    child.on('message', on)
    if (msg !== undefined) child.send(msg)
  })
}

/** A window from the middle of each plaintext (the ends could be shared structure). */
const middles = (plaintexts: Uint8Array[]): Uint8Array[] => plaintexts.map((p) => p.slice(100, 100 + WINDOW))

if (!CAN_SCAN) {
  process.stdout.write('SKIP decryption residue: needs Linux /proc/<pid>/mem\n')
  Residue.skip('after open and a wipe, no window of the opened share remains anywhere in the process')
  Residue.skip('after decryptTemplate and a wipe, no window of the template remains anywhere in the process')
} else {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  const { key } = await next(child, 'ready') as { key: Uint8Array }

  Residue.after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.send({ type: 'quit' })
    await exited
  })

  Residue('after open and a wipe, no window of the opened share remains anywhere in the process', async () => {
    const shares = Array.from({ length: COUNT }, () => randomBytes(650))
    const info = utf8('decrypt-residue')
    const items = shares.map((s) => { const aad = randomBytes(32); return { sealed: seal(key, s, info, aad), info, aad } })
    await next(child, 'done', { type: 'open', items })
    const found = scanProcess(child.pid as number, [key, ...middles(shares)])
    assert.ok(found[0], 'control: the scan finds the child\'s public key')
    assert.is(found.slice(1).filter(Boolean).length, 0, 'shares left in memory')
  })

  Residue('after decryptTemplate and a wipe, no window of the template remains anywhere in the process', async () => {
    const templates = Array.from({ length: COUNT }, () => randomBytes(2_048))
    const items = templates.map((t) => {
      const ctx = { templateId: randomBytes(32), modality: 'face' as const, model: 'residue-test' }
      return { secret: encryptTemplate(t, ctx), ctx }
    })
    await next(child, 'done', { type: 'envelope', items })
    const found = scanProcess(child.pid as number, [key, ...middles(templates)])
    assert.ok(found[0], 'control: the scan finds the child\'s public key')
    assert.is(found.slice(1).filter(Boolean).length, 0, 'templates left in memory')
  })
}

Residue.run()
