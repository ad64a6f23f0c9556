/**
 * The per-share sealing test vector of docs/protocol.md ("Per-share
 * sealing"): every value the section lists is read from the document and
 * recomputed here from its inputs (the sender's steps composed from
 * crypto/hpke.ts, with the fixed ephemeral key and salt a vector needs), and
 * the sealed bytes open with crypto/seal.ts. The document cannot drift from
 * the code without this failing.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { concat, fromHex, toHex, utf8 } from '../../crypto/bytes.ts'
import { deserializePrivateKey, exportSecret, setupBaseS } from '../../crypto/hpke.ts'
import { Opener, open, SEALED_MIN_BYTES } from '../../crypto/seal.ts'
import { AEAD } from '../../crypto/tags.ts'
import { sealBinding, shareSealInfo } from '../../protocol/seal-binding.ts'
import { REPO_ROOT } from '../../enclave/read-set.ts'

const Vector = suite('per-share sealing vector')

/** The `name: value` lines of the section's vector block. */
function documentedVector (): Record<string, string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs/protocol.md'), 'utf8')
  const start = doc.indexOf('\n## Per-share sealing')
  assert.ok(start >= 0, 'docs/protocol.md has a "## Per-share sealing" section')
  const end = doc.indexOf('\n## ', start + 1)
  const section = doc.slice(start, end < 0 ? undefined : end)
  const block = section.slice(section.indexOf('```text'), section.indexOf('```', section.indexOf('```text') + 3))
  const out: Record<string, string> = {}
  let last = ''
  for (const line of block.split('\n').slice(1)) {
    const m = /^([A-Za-z_]+)\s*=\s*(\S+)$/.exec(line.trim())
    if (m !== null) { out[m[1]] = m[2]; last = m[1] } else if (last !== '' && /^[0-9a-f]+$/.test(line.trim())) out[last] += line.trim()
  }
  return out
}

const V = documentedVector()

/** Everything the vector derives, from its inputs. */
function derive (): Record<string, string> {
  const recipient = deserializePrivateKey(fromHex(V.skR))
  const info = shareSealInfo(fromHex(V.template_id), Number(V.x))
  const aad = sealBinding(fromHex(V.request), Number(V.time), fromHex(V.manifest))
  const s = setupBaseS(recipient.publicKey, utf8(AEAD.HPKE_SEAL_CONTEXT), deserializePrivateKey(fromHex(V.skE)))
  const key = exportSecret(s.exporterSecret, concat(fromHex(V.salt), info), 32)
  const ct = chacha20poly1305(key, new Uint8Array(12), aad).encrypt(fromHex(V.share))
  return {
    pkR: toHex(recipient.publicKey),
    info: toHex(info),
    aad: toHex(aad),
    enc: toHex(s.enc),
    exporter_secret: toHex(s.exporterSecret),
    message_key: toHex(key),
    sealed: toHex(concat(s.enc, fromHex(V.salt), ct))
  }
}

Vector('the document lists every input and output', () => {
  const fields = [
    'skR', 'skE', 'template_id', 'x', 'request', 'time', 'manifest', 'salt',
    'share', 'pkR', 'info', 'aad', 'enc', 'exporter_secret', 'message_key', 'sealed'
  ]
  for (const k of fields) {
    assert.ok(V[k] !== undefined, k)
  }
})

Vector('every derived value is the one documented', () => {
  const got = derive()
  for (const [k, v] of Object.entries(got)) assert.is(v, V[k], k)
  assert.is(fromHex(got.sealed).length, SEALED_MIN_BYTES + fromHex(V.share).length)
})

Vector('the documented sealed bytes open with crypto/seal.ts to the documented share', () => {
  const recipient = deserializePrivateKey(fromHex(V.skR))
  const info = shareSealInfo(fromHex(V.template_id), Number(V.x))
  const aad = sealBinding(fromHex(V.request), Number(V.time), fromHex(V.manifest))
  assert.is(toHex(open(recipient, fromHex(V.sealed), info, aad)), V.share)
  assert.is(toHex(new Opener(recipient).open(fromHex(V.sealed), info, aad)), V.share)
})

Vector.run()
