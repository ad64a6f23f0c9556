/**
 * Ed25519 with domain-separation tags (crypto/sign.ts): RFC 8032 §7.1 vectors,
 * @noble/curves as an independent oracle, and the tag discipline.
 */
import { createHash } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES,
  assertSignature, generateSigningKey, sign, signRaw, signingKeyFromSeed, verify, verifyRaw
} from '../../crypto/sign.ts'
import { concat, fromHex, randomBytes, toHex, u32be, utf8 } from '../../crypto/bytes.ts'
import { SignatureError } from '../../errors.ts'
import { SIG, type SigTag } from '../../crypto/tags.ts'
import RFC8032 from './vectors/rfc8032-ed25519.json' with { type: 'json' }
import { prng } from '../helpers/random.ts'

const Sign = suite('sign')

const TAGS = Object.values(SIG) as SigTag[]

function flipBit (b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice()
  out[bit >> 3] ^= 1 << (bit & 7)
  return out
}

// --- RFC 8032 §7.1 --------------------------------------------------------------

Sign('carries the five RFC 8032 §7.1 vectors it claims (TEST 1, 2, 3, 1024, SHA(abc))', () => {
  assert.equal(RFC8032.vectors.map((v) => v.name), ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'])
  assert.is(fromHex(RFC8032.vectors[3].message).length, 1023)
  // TEST SHA(abc) signs the 64-byte SHA-512 digest of "abc".
  assert.is(RFC8032.vectors[4].message, createHash('sha512').update('abc').digest('hex'))
})

for (const v of RFC8032.vectors) {
  Sign(`RFC 8032 ${v.name}: derives the public key, signs to the exact signature, verifies`, () => {
    const key = signingKeyFromSeed(fromHex(v.secretKey))
    const msg = fromHex(v.message)
    const sig = fromHex(v.signature)
    assert.is(toHex(key.publicKey), v.publicKey)
    assert.is(toHex(signRaw(msg, key)), v.signature)
    assert.ok(verifyRaw(msg, sig, key.publicKey))
    assert.not.ok(verifyRaw(concat(msg, new Uint8Array(1)), sig, key.publicKey))
  })

  Sign(`RFC 8032 ${v.name}: @noble/curves agrees`, () => {
    const seed = fromHex(v.secretKey)
    const msg = fromHex(v.message)
    assert.is(toHex(ed25519.getPublicKey(seed)), v.publicKey)
    assert.is(toHex(ed25519.sign(msg, seed)), v.signature)
    assert.ok(ed25519.verify(fromHex(v.signature), msg, fromHex(v.publicKey)))
  })
}

// --- oracle on random inputs ------------------------------------------------------

Sign('signs exactly as @noble/curves on random keys and messages, and each verifies the other', () => {
  const rnd = prng(0xed25519)
  for (let i = 0; i < 64; i++) {
    const seed = randomBytes(32)
    const msg = randomBytes(Math.floor(rnd() * 1500))
    const key = signingKeyFromSeed(seed)
    assert.equal(key.publicKey, ed25519.getPublicKey(seed))
    const ours = signRaw(msg, key)
    const theirs = ed25519.sign(msg, seed)
    assert.equal(ours, theirs)
    assert.ok(ed25519.verify(ours, msg, key.publicKey))
    assert.ok(verifyRaw(msg, theirs, key.publicKey))
  }
})

Sign('generateSigningKey returns a seed that re-imports to the same key', () => {
  const { key, seed } = generateSigningKey()
  assert.is(seed.length, SECRET_KEY_BYTES)
  assert.is(key.publicKey.length, PUBLIC_KEY_BYTES)
  assert.equal(signingKeyFromSeed(seed).publicKey, key.publicKey)
  assert.equal(ed25519.getPublicKey(seed), key.publicKey)
})

// --- tags -------------------------------------------------------------------------

const KEY = signingKeyFromSeed(randomBytes(32))
const MSG = utf8('canonical manifest bytes')

Sign('a tagged signature is Ed25519 over len(tag) || tag || message', () => {
  const sig = sign(SIG.MANIFEST, MSG, KEY)
  assert.is(sig.length, SIGNATURE_BYTES)
  const t = utf8(SIG.MANIFEST)
  assert.ok(ed25519.verify(sig, concat(u32be(t.length), t, MSG), KEY.publicKey))
  assert.ok(verify(SIG.MANIFEST, MSG, sig, KEY.publicKey))
})

Sign('a signature under one tag never verifies under another tag', () => {
  for (const signed of TAGS) {
    const sig = sign(signed, MSG, KEY)
    for (const checked of TAGS) {
      assert.is(verify(checked, MSG, sig, KEY.publicKey), signed === checked, `${signed} checked as ${checked}`)
    }
  }
})

Sign('a tagged signature is not a raw signature and a raw one is not a tagged one', () => {
  const tagged = sign(SIG.FETCH_REQUEST, MSG, KEY)
  assert.not.ok(verifyRaw(MSG, tagged, KEY.publicKey))
  const raw = signRaw(MSG, KEY)
  for (const tag of TAGS) assert.not.ok(verify(tag, MSG, raw, KEY.publicKey))
})

Sign('the tag length prefix stops tag/message boundary shifts', () => {
  // Without the length prefix, tag "…/consent" + message "X" and a message
  // starting with the tag's last byte would sign the same bytes.
  const sig = sign(SIG.CONSENT, MSG, KEY)
  const t = utf8(SIG.CONSENT)
  assert.not.ok(verifyRaw(concat(t, MSG), sig, KEY.publicKey))
})

Sign('any flipped bit in signature, message or public key fails', () => {
  const sig = sign(SIG.DECISION, MSG, KEY)
  for (let i = 0; i < SIGNATURE_BYTES * 8; i++) assert.not.ok(verify(SIG.DECISION, MSG, flipBit(sig, i), KEY.publicKey), `signature bit ${i}`)
  for (let i = 0; i < MSG.length * 8; i++) assert.not.ok(verify(SIG.DECISION, flipBit(MSG, i), sig, KEY.publicKey), `message bit ${i}`)
  for (let i = 0; i < PUBLIC_KEY_BYTES * 8; i++) assert.not.ok(verify(SIG.DECISION, MSG, sig, flipBit(KEY.publicKey, i)), `key bit ${i}`)
})

Sign('another key fails', () => {
  const sig = sign(SIG.MANIFEST, MSG, KEY)
  assert.not.ok(verify(SIG.MANIFEST, MSG, sig, signingKeyFromSeed(randomBytes(32)).publicKey))
})

Sign('rejects a malleated signature with S + L (RFC 8032 §5.1.7 requires S < L)', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  const sig = sign(SIG.MANIFEST, MSG, KEY)
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i])
  let s2 = s + L
  const bad = sig.slice()
  for (let i = 0; i < 32; i++) { bad[32 + i] = Number(s2 & 0xffn); s2 >>= 8n }
  assert.is(s2, 0n) // still fits in 32 bytes, so only the S < L check can refuse it
  assert.not.ok(verify(SIG.MANIFEST, MSG, bad, KEY.publicKey))
})

Sign('rejects the identity public key with the (identity, 0) signature', () => {
  // Would "verify" any message under a cofactorless check without a
  // small-order test; @noble/curves' ZIP 215 mode accepts it, node:crypto must not.
  const identity = new Uint8Array(32); identity[0] = 1
  const forged = new Uint8Array(64); forged[0] = 1
  assert.not.ok(verifyRaw(MSG, forged, identity))
  assert.not.ok(verify(SIG.MANIFEST, MSG, forged, identity))
})

Sign('malformed key or signature lengths return false, never throw', () => {
  const sig = sign(SIG.MANIFEST, MSG, KEY)
  for (const n of [0, 1, 31, 33, 64]) {
    assert.not.ok(verify(SIG.MANIFEST, MSG, sig, randomBytes(n)), `key of ${n} bytes`)
    assert.not.ok(verifyRaw(MSG, sig, randomBytes(n)), `raw: key of ${n} bytes`)
  }
  for (const n of [0, 1, 32, 63, 65, 128]) {
    assert.not.ok(verify(SIG.MANIFEST, MSG, randomBytes(n), KEY.publicKey), `signature of ${n} bytes`)
    assert.not.ok(verifyRaw(MSG, randomBytes(n), KEY.publicKey), `raw: signature of ${n} bytes`)
  }
  assert.not.ok(verify(SIG.MANIFEST, MSG, 'sig' as unknown as Uint8Array, KEY.publicKey))
  assert.not.ok(verify(SIG.MANIFEST, MSG, sig, null as unknown as Uint8Array))
  assert.not.ok(verifyRaw(MSG, sig, 'key' as unknown as Uint8Array))
})

Sign('random 32-byte strings as public keys return false, never throw', () => {
  const sig = sign(SIG.MANIFEST, MSG, KEY)
  for (let i = 0; i < 300; i++) assert.not.ok(verify(SIG.MANIFEST, MSG, sig, randomBytes(32)))
})

Sign('assertSignature passes a valid signature and throws ERR_BAD_SIGNATURE naming what failed', () => {
  const sig = sign(SIG.STORE_RECEIPT, MSG, KEY)
  assertSignature(SIG.STORE_RECEIPT, MSG, { signature: sig, publicKey: KEY.publicKey, what: 'store receipt' })
  try {
    assertSignature(SIG.ERASE_RECEIPT, MSG, { signature: sig, publicKey: KEY.publicKey, what: 'erase receipt' })
    assert.unreachable('wrong tag accepted')
  } catch (e) {
    assert.instance(e, SignatureError)
    assert.is((e as SignatureError).code, 'ERR_BAD_SIGNATURE')
    assert.match((e as Error).message, 'erase receipt')
  }
  const shortSignature = { signature: new Uint8Array(3), publicKey: KEY.publicKey, what: 'x' }
  assert.throws(() => assertSignature(SIG.STORE_RECEIPT, MSG, shortSignature), (e: unknown) => e instanceof SignatureError)
})

Sign('rejects malformed arguments to signing with TypeError/RangeError naming them', () => {
  assert.throws(() => signingKeyFromSeed(new Uint8Array(31)), (e: Error) => e instanceof RangeError && e.message.includes('seed'))
  assert.throws(() => signingKeyFromSeed('seed' as unknown as Uint8Array), (e: Error) => e instanceof TypeError && e.message.includes('seed'))
  assert.throws(() => sign(SIG.MANIFEST, 'message' as unknown as Uint8Array, KEY), (e: Error) => e instanceof TypeError && e.message.includes('message'))
})

Sign.run()
