/**
 * Signed wires and response frames spliced from known body bytes
 * (protocol/signed.ts, protocol/frame.ts) are byte for byte the canonical
 * encoding, decode back to the same body and signature, and verify.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeCanonical, encodeCanonical } from '../../crypto/canonical.ts'
import { toHex } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { SIG } from '../../crypto/tags.ts'
import { signBody, signAndEncode, encodeSigned, readSigned, toWire, checkSigned } from '../../protocol/signed.ts'
import { okFrame, errorFrame, readFrame } from '../../protocol/frame.ts'
import { RemoteError } from '../../protocol/errors.ts'
import { prng } from '../helpers/random.ts'

const Signed = suite('signed wires and frames')
const { key } = generateSigningKey()
const MAX = 1 << 20

/** A random body: nested maps, arrays, text (some not ASCII), bytes of every length class, integers at encoding edges. */
function randomBody (rnd: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const n = 1 + Math.floor(rnd() * 6)
  for (let i = 0; i < n; i++) {
    const k = ['v', 'x', 'id', 'sig', 'body', 'time', 'ok', 'ünï', 'k'.repeat(1 + Math.floor(rnd() * 30))][Math.floor(rnd() * 9)]
    const kind = Math.floor(rnd() * (depth < 3 ? 7 : 5))
    if (kind === 0) out[k] = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -25][Math.floor(rnd() * 11)]
    else if (kind === 1) out[k] = new Uint8Array([0, 1, 23, 24, 64, 300, 70_000][Math.floor(rnd() * 7)]).fill(Math.floor(rnd() * 256))
    else if (kind === 2) out[k] = ['', 'login', 'ünïcødé ✓', 'x'.repeat(300)][Math.floor(rnd() * 4)]
    else if (kind === 3) out[k] = [true, false, null, 0.5, -1.25][Math.floor(rnd() * 5)]
    else if (kind === 4) out[k] = [1, 'a', new Uint8Array(3)]
    else if (kind === 5) out[k] = randomBody(rnd, depth + 1)
    else out[k] = toWire(readSigned(decodeCanonical(encodeCanonical(signBody(SIG.VERIFIER_CERT, randomBody(rnd, depth + 1), key)), MAX), 'nested', (v) => v))
  }
  return out
}

Signed('a signed wire spliced from its body bytes is its canonical encoding, and verifies', () => {
  const rnd = prng(0x51a7)
  for (let i = 0; i < 300; i++) {
    const body = randomBody(rnd)
    const wire = signBody(SIG.FETCH_REQUEST, body, key)
    const spliced = encodeSigned(wire)
    assert.is(toHex(spliced), toHex(encodeCanonical(wire)), `body #${i}`)
    const decoded = readSigned(decodeCanonical(spliced, MAX), 'wire', (v) => v)
    checkSigned(SIG.FETCH_REQUEST, decoded, key.publicKey, 'wire')
    const { bytes, body: bodyBytes, sig } = signAndEncode(SIG.FETCH_REQUEST, body, key)
    assert.is(toHex(bytes), toHex(spliced), 'one-step sign-and-encode gives the same bytes')
    assert.is(toHex(bodyBytes), toHex(encodeCanonical(body)))
    assert.is(toHex(sig), toHex(wire.sig))
  }
})

Signed('a wire re-made from a decoded object encodes to the bytes it was decoded from', () => {
  const bytes = encodeCanonical(signBody(SIG.VERIFIER_CERT, { v: 1, name: 'n', at: new Uint8Array(32) }, key))
  const wire = toWire(readSigned(decodeCanonical(bytes, MAX), 'cert', (v) => v))
  assert.is(toHex(encodeSigned(wire)), toHex(bytes))
})

Signed('a wire built by hand (no known body bytes) is encoded afresh', () => {
  const wire = { body: { v: 1, z: 'last', a: 'first' }, sig: new Uint8Array(64).fill(9) }
  assert.is(toHex(encodeSigned(wire)), toHex(encodeCanonical(wire)))
})

Signed('a success frame around a signed wire is the canonical frame and reads back to the wire', () => {
  const rnd = prng(0xf4a3)
  for (let i = 0; i < 100; i++) {
    const wire = signBody(SIG.FETCH_RESPONSE, randomBody(rnd), key)
    const frame = okFrame(wire)
    assert.is(toHex(frame), toHex(encodeCanonical({ ok: true, body: wire })), `frame #${i}`)
    const back = readSigned(readFrame(frame, MAX, 'peer'), 'response', (v) => v)
    checkSigned(SIG.FETCH_RESPONSE, back, key.publicKey, 'response')
  }
  assert.is(toHex(okFrame({ plain: 1 })), toHex(encodeCanonical({ ok: true, body: { plain: 1 } })), 'a plain body is encoded as before')
})

Signed('a refusal frame reads back as a RemoteError with its code', () => {
  try {
    readFrame(errorFrame('ERR_REPLAY', 'nonce seen'), MAX, 'peer-a')
    assert.unreachable()
  } catch (e) {
    assert.instance(e, RemoteError)
    assert.is((e as RemoteError).code, 'ERR_REPLAY')
    assert.is((e as RemoteError).peer, 'peer-a')
  }
})

Signed.run()
