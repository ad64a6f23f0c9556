/**
 * Handling a secret leaves no copy of it behind: once the caller wipes its
 * own buffers, the process's memory holds no window of the secret — not
 * even in memory the runtime has freed.
 *
 * - decryption: what `open` (HPKE) or `decryptTemplate` (the envelope)
 *   returned (node:crypto's decipher fails this: it copies its output into
 *   a right-sized buffer and frees the first one unwiped);
 * - signing and encoding a message that carries a share, as a tenant's
 *   store request does (the body's encoding to sign, the tagged message
 *   handed to Ed25519 and the encoder's canonical check each copy it);
 * - decoding and verifying such a message, as the holder does.
 *
 * A child process receives only sealed shares, envelopes, or shares and
 * messages XOR-masked (so the IPC channel's own buffers never hold one),
 * works on them and wipes; this process, which made the plaintexts, then
 * reads the child's memory from outside (test/helpers/process-memory.ts).
 * Linux only.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { seal } from '../../crypto/seal.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { randomBytes, utf8 } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { SIG } from '../../crypto/tags.ts'
import { signAndEncode } from '../../protocol/signed.ts'
import { CAN_SCAN, WINDOW, ask, runScript, scanProcess } from '../helpers/process-memory.ts'

const Residue = suite('secret residue')
const SEAL = fileURLToPath(new URL('../../crypto/seal.ts', import.meta.url))
const ENVELOPE = fileURLToPath(new URL('../../crypto/envelope.ts', import.meta.url))
const BYTES = fileURLToPath(new URL('../../crypto/bytes.ts', import.meta.url))
const SIGN = fileURLToPath(new URL('../../crypto/sign.ts', import.meta.url))
const SIGNED = fileURLToPath(new URL('../../protocol/signed.ts', import.meta.url))
const CANONICAL = fileURLToPath(new URL('../../crypto/canonical.ts', import.meta.url))
/** Distinct plaintexts per kind: every decryption would leave its own copy. */
const COUNT = 24

const CHILD = `
import { generateSealKeyPair, open } from ${JSON.stringify(SEAL)}
import { decryptTemplate } from ${JSON.stringify(ENVELOPE)}
import { wipe } from ${JSON.stringify(BYTES)}
import { generateSigningKey, signingKeyFromSeed } from ${JSON.stringify(SIGN)}
import { signAndEncode, readSigned, checkSigned } from ${JSON.stringify(SIGNED)}
import { decodeCanonical, asMap, bytesField } from ${JSON.stringify(CANONICAL)}
const pair = generateSealKeyPair()
const signer = generateSigningKey()
const unmask = (masked, mask) => {
  const out = new Uint8Array(masked.length)
  for (let i = 0; i < out.length; i++) out[i] = masked[i] ^ mask[i % mask.length]
  return out
}
const TAG = 'bioshard/v1/sig/store-request'
process.on('message', (m) => {
  if (m.type === 'open') for (const s of m.items) wipe(open(pair, s.sealed, s.info, s.aad))
  if (m.type === 'envelope') for (const e of m.items) { wipe(decryptTemplate(e.secret, e.ctx)); wipe(e.secret) }
  if (m.type === 'sign') for (const s of m.items) {
    const share = unmask(s.masked, m.mask)
    const { bytes } = signAndEncode(TAG, { x: s.x, share }, signer.key)
    wipe(share, bytes)
  }
  if (m.type === 'verify') {
    const key = signingKeyFromSeed(m.seed)
    for (const s of m.items) {
      const msg = unmask(s.masked, m.mask)
      const readBody = (b) => ({ share: bytesField(asMap(b, 'body', ['x', 'share']), 'share', 'body') })
      const req = readSigned(decodeCanonical(msg, 1 << 20, 'message'), 'message', readBody)
      checkSigned(TAG, req, key.publicKey, 'message')
      wipe(req.body.share, req.bytes, msg)
    }
  }
  if (m.type === 'quit') process.exit(0)
  process.send({ type: 'done' })
})
process.send({ type: 'ready', key: pair.publicKey })
`

/** A window from the middle of each plaintext (the ends could be shared structure). */
const middles = (plaintexts: Uint8Array[]): Uint8Array[] => plaintexts.map((p) => p.slice(100, 100 + WINDOW))

if (!CAN_SCAN) {
  process.stdout.write('SKIP secret residue: needs Linux /proc/<pid>/mem\n')
  Residue.skip('after open and a wipe, no window of the opened share remains anywhere in the process')
  Residue.skip('after decryptTemplate and a wipe, no window of the template remains anywhere in the process')
  Residue.skip('after signing and encoding a message that carries a share, and a wipe, no window of the share remains')
  Residue.skip('after decoding and verifying such a message, and a wipe, no window of the share remains')
} else {
  const child = runScript(CHILD)
  const { key } = await ask(child, 'ready') as { key: Uint8Array }

  Residue.after(async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.send({ type: 'quit' })
    await exited
  })

  Residue('after open and a wipe, no window of the opened share remains anywhere in the process', async () => {
    const shares = Array.from({ length: COUNT }, () => randomBytes(650))
    const info = utf8('secret-residue')
    const items = shares.map((s) => { const aad = randomBytes(32); return { sealed: seal(key, s, info, aad), info, aad } })
    await ask(child, 'done', { type: 'open', items })
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
    await ask(child, 'done', { type: 'envelope', items })
    const found = scanProcess(child.pid as number, [key, ...middles(templates)])
    assert.ok(found[0], 'control: the scan finds the child\'s public key')
    assert.is(found.slice(1).filter(Boolean).length, 0, 'templates left in memory')
  })

  const MASK = randomBytes(64)
  const mask = (b: Uint8Array): Uint8Array => b.map((v, i) => v ^ MASK[i % MASK.length])

  Residue('after signing and encoding a message that carries a share, and a wipe, no window of the share remains', async () => {
    const shares = Array.from({ length: COUNT }, () => randomBytes(650))
    await ask(child, 'done', { type: 'sign', mask: MASK, items: shares.map((s, x) => ({ x: x + 1, masked: mask(s) })) })
    const found = scanProcess(child.pid as number, [key, ...middles(shares)])
    assert.ok(found[0], 'control: the scan finds the child\'s public key')
    assert.is(found.slice(1).filter(Boolean).length, 0, 'shares left in memory')
  })

  Residue('after decoding and verifying such a message, and a wipe, no window of the share remains', async () => {
    const { key: tenant, seed } = generateSigningKey()
    const shares = Array.from({ length: COUNT }, () => randomBytes(650))
    const items = shares.map((share, x) => ({ masked: mask(signAndEncode(SIG.STORE_REQUEST, { x: x + 1, share }, tenant).bytes) }))
    await ask(child, 'done', { type: 'verify', mask: MASK, seed, items })
    const found = scanProcess(child.pid as number, [key, ...middles(shares)])
    assert.ok(found[0], 'control: the scan finds the child\'s public key')
    assert.is(found.slice(1).filter(Boolean).length, 0, 'shares left in memory')
  })
}

Residue.run()
