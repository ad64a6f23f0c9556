/**
 * HPKE sealing (crypto/seal.ts): pinned by RFC 9180 Appendix A.2.1 and
 * cross-checked in both directions against @hpke/core + @hpke/chacha20poly1305.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import {
  AEAD_ID, ENC_BYTES, KDF_ID, KEM_ID, SEAL_PUBLIC_KEY_BYTES, SEALED_MIN_BYTES, TAG_BYTES,
  generateSealKeyPair, open, seal, sealKeyPairFromSecret, sealWithEphemeralForTesting, setupBaseSenderForTesting,
  type SealKeyPair
} from '../../crypto/seal.ts'
import { concat, fromHex, randomBytes, toHex, utf8 } from '../../crypto/bytes.ts'
import { DecodeError, DecryptError } from '../../crypto/errors.ts'
import { AEAD } from '../../crypto/tags.ts'
import A21 from './vectors/rfc9180-a2-1.json' with { type: 'json' }
import { prng } from '../helpers/random.ts'
import { codeOf } from '../helpers/assert.ts'

const Seal = suite('seal')

const INFO = utf8(AEAD.HPKE_SHARE_SEAL)
const E0 = A21.encryptions[0]



// RFC 7748 §6.1 / libsodium's blocklist: u-coordinates whose X25519 output is
// all-zero for every scalar (order 1, 2, 4, 8, and the non-canonical p, p+1).
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
].map((h) => fromHex(h))

const oracle = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })

// --- RFC 9180 Appendix A.2.1 -------------------------------------------------

Seal('uses the suite of RFC 9180 A.2: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305', () => {
  assert.is(KEM_ID, A21.kem_id)
  assert.is(KDF_ID, A21.kdf_id)
  assert.is(AEAD_ID, A21.aead_id)
  assert.is(SEAL_PUBLIC_KEY_BYTES, 32)
  assert.is(ENC_BYTES, 32)
  assert.is(SEALED_MIN_BYTES, ENC_BYTES + TAG_BYTES)
})

Seal('derives pkRm and pkEm from skRm and skEm (A.2.1)', () => {
  assert.is(toHex(sealKeyPairFromSecret(fromHex(A21.skRm)).publicKey), A21.pkRm)
  assert.is(toHex(sealKeyPairFromSecret(fromHex(A21.skEm)).publicKey), A21.pkEm)
})

Seal('derives the A.2.1 enc, shared_secret, key and base_nonce', () => {
  const s = setupBaseSenderForTesting(fromHex(A21.skEm), fromHex(A21.pkRm), fromHex(A21.info))
  assert.is(toHex(s.enc), A21.enc)
  assert.is(toHex(s.sharedSecret), A21.shared_secret)
  assert.is(toHex(s.key), A21.key)
  assert.is(toHex(s.baseNonce), A21.base_nonce)
  // Sequence 0: ComputeNonce is the base nonce itself.
  assert.is(E0.sequence_number, 0)
  assert.is(toHex(s.baseNonce), E0.nonce)
})

Seal('seals the A.2.1 first message (sequence 0) to exactly enc || ct', () => {
  const sealed = sealWithEphemeralForTesting(fromHex(A21.skEm), fromHex(A21.pkRm), fromHex(E0.pt), fromHex(A21.info), fromHex(E0.aad))
  assert.is(toHex(sealed), A21.enc + E0.ct)
})

Seal('opens the A.2.1 first message with skRm', () => {
  const recipient = sealKeyPairFromSecret(fromHex(A21.skRm))
  const pt = open(recipient, fromHex(A21.enc + E0.ct), fromHex(A21.info), fromHex(E0.aad))
  assert.is(toHex(pt), E0.pt)
  assert.is(Object.getPrototypeOf(pt), Uint8Array.prototype)
})

Seal('the oracle reproduces the A.2.1 ciphertext too (the vector copy is right)', async () => {
  const ekm = {
    privateKey: await oracle.kem.deserializePrivateKey(fromHex(A21.skEm)),
    publicKey: await oracle.kem.deserializePublicKey(fromHex(A21.pkEm))
  }
  const recipientPublicKey = await oracle.kem.deserializePublicKey(fromHex(A21.pkRm))
  const res = await oracle.seal({ recipientPublicKey, info: fromHex(A21.info), ekm }, fromHex(E0.pt), fromHex(E0.aad))
  assert.is(toHex(new Uint8Array(res.enc)) + toHex(new Uint8Array(res.ct)), A21.enc + E0.ct)
})

// --- @hpke/core as an independent oracle --------------------------------------

type OracleKey = Awaited<ReturnType<typeof oracle.kem.deserializePrivateKey>>

async function oracleRecipient (): Promise<{ ours: SealKeyPair, theirs: OracleKey }> {
  const secret = randomBytes(32)
  const ours = sealKeyPairFromSecret(secret)
  const theirs = await oracle.kem.deserializePrivateKey(secret)
  return { ours, theirs }
}

Seal('what it seals, @hpke/core opens (random sizes, info and aad)', async () => {
  const rnd = prng(0x5ea1)
  const r = await oracleRecipient()
  const sizes = [0, 1, 15, 16, 17, 63, 64, 65, 4096, 65_537]
  for (let i = 0; i < 40; i++) sizes.push(Math.floor(rnd() * 2048))
  for (const n of sizes) {
    const pt = randomBytes(n)
    const info = randomBytes(Math.floor(rnd() * 128))
    const aad = randomBytes(Math.floor(rnd() * 200))
    const sealed = seal(r.ours.publicKey, pt, info, aad)
    assert.is(sealed.length, ENC_BYTES + n + TAG_BYTES)
    const got = await oracle.open({ recipientKey: r.theirs, enc: sealed.subarray(0, ENC_BYTES), info }, sealed.subarray(ENC_BYTES), aad)
    assert.ok(toHex(new Uint8Array(got)) === toHex(pt), `size ${n}`)
  }
})

Seal('what @hpke/core seals, it opens (random sizes, info and aad)', async () => {
  const rnd = prng(0x0bad)
  const r = await oracleRecipient()
  const pkR = await oracle.kem.deserializePublicKey(r.ours.publicKey)
  const sizes = [0, 1, 16, 4096, 65_537]
  for (let i = 0; i < 40; i++) sizes.push(Math.floor(rnd() * 2048))
  for (const n of sizes) {
    const pt = randomBytes(n)
    const info = randomBytes(Math.floor(rnd() * 128))
    const aad = randomBytes(Math.floor(rnd() * 200))
    const { enc, ct } = await oracle.seal({ recipientPublicKey: pkR, info }, pt, aad)
    const got = open(r.ours, concat(new Uint8Array(enc), new Uint8Array(ct)), info, aad)
    assert.ok(toHex(got) === toHex(pt), `size ${n}`)
  }
})

// --- behaviour -----------------------------------------------------------------

Seal('round-trips with generated keys and accepts Buffer inputs', () => {
  const r = generateSealKeyPair()
  assert.is(r.publicKey.length, SEAL_PUBLIC_KEY_BYTES)
  const pt = randomBytes(300)
  const sealed = seal(Buffer.from(r.publicKey), Buffer.from(pt), Buffer.from(INFO), Buffer.from('fetch-1'))
  assert.equal(open(r, Buffer.from(sealed), INFO, utf8('fetch-1')), pt)
})

Seal('uses a fresh ephemeral key for every seal', () => {
  const r = generateSealKeyPair()
  const pt = randomBytes(32)
  const a = seal(r.publicKey, pt, INFO, new Uint8Array(0))
  const b = seal(r.publicKey, pt, INFO, new Uint8Array(0))
  assert.is.not(toHex(a.subarray(0, ENC_BYTES)), toHex(b.subarray(0, ENC_BYTES)))
  assert.is.not(toHex(a.subarray(ENC_BYTES)), toHex(b.subarray(ENC_BYTES)))
})

Seal('a key pair imported from the same secret opens what was sealed to it', () => {
  const secret = randomBytes(32)
  const a = sealKeyPairFromSecret(secret)
  const b = sealKeyPairFromSecret(secret)
  assert.equal(a.publicKey, b.publicKey)
  assert.equal(open(b, seal(a.publicKey, utf8('x'), INFO, utf8('a')), INFO, utf8('a')), utf8('x'))
})

Seal('does not modify its inputs', () => {
  const r = generateSealKeyPair()
  const pt = randomBytes(64); const ptCopy = pt.slice()
  const aad = randomBytes(8); const aadCopy = aad.slice()
  const sealed = seal(r.publicKey, pt, INFO, aad); const sealedCopy = sealed.slice()
  open(r, sealed, INFO, aad)
  assert.equal(pt, ptCopy); assert.equal(aad, aadCopy); assert.equal(sealed, sealedCopy)
})

// --- rejection -----------------------------------------------------------------

const R = generateSealKeyPair()
const PT = randomBytes(100)
const AAD = utf8('request-nonce')
const SEALED = seal(R.publicKey, PT, INFO, AAD)

Seal('refuses to open under another recipient key with ERR_DECRYPT', () => {
  assert.is(codeOf(() => open(generateSealKeyPair(), SEALED, INFO, AAD)), 'ERR_DECRYPT')
  // The right private key with a wrong public key breaks the KEM context binding.
  assert.is(codeOf(() => open({ privateKey: R.privateKey, publicKey: generateSealKeyPair().publicKey }, SEALED, INFO, AAD)), 'ERR_DECRYPT')
})

Seal('refuses another info with ERR_DECRYPT', () => {
  assert.is(codeOf(() => open(R, SEALED, utf8(AEAD.SHARE_AT_REST), AAD)), 'ERR_DECRYPT')
  assert.is(codeOf(() => open(R, SEALED, new Uint8Array(0), AAD)), 'ERR_DECRYPT')
})

Seal('refuses another aad with ERR_DECRYPT', () => {
  assert.is(codeOf(() => open(R, SEALED, INFO, utf8('request-nonce!'))), 'ERR_DECRYPT')
  assert.is(codeOf(() => open(R, SEALED, INFO, new Uint8Array(0))), 'ERR_DECRYPT')
})

Seal('refuses a message shorter than enc + tag with ERR_DECODE, and any other truncation with ERR_DECRYPT', () => {
  for (let n = 0; n < SEALED_MIN_BYTES; n++) assert.is(codeOf(() => open(R, SEALED.subarray(0, n), INFO, AAD)), 'ERR_DECODE', `length ${n}`)
  for (let n = SEALED_MIN_BYTES; n < SEALED.length; n++) assert.is(codeOf(() => open(R, SEALED.subarray(0, n), INFO, AAD)), 'ERR_DECRYPT', `length ${n}`)
  assert.is(codeOf(() => open(R, concat(SEALED, new Uint8Array(1)), INFO, AAD)), 'ERR_DECRYPT')
})

Seal('refuses every single flipped bit with ERR_DECRYPT', () => {
  for (let i = 0; i < SEALED.length * 8; i++) {
    const bad = SEALED.slice()
    bad[i >> 3] ^= 1 << (i & 7)
    // The top bit of enc's last byte is masked by X25519 (RFC 7748 §5), so
    // flipping it keeps the DH result; the KEM context still binds the raw enc.
    assert.is(codeOf(() => open(R, bad, INFO, AAD)), 'ERR_DECRYPT', `bit ${i}`)
  }
})

Seal('turns garbage into DecodeError or DecryptError, never anything else', () => {
  const rnd = prng(0x6a7b)
  for (let i = 0; i < 500; i++) {
    const bytes = randomBytes(Math.floor(rnd() * 200))
    try {
      open(R, bytes, INFO, AAD)
      assert.unreachable('garbage opened')
    } catch (e) {
      assert.ok(e instanceof DecodeError || e instanceof DecryptError, String(e))
    }
  }
})

Seal('refuses a low-order enc (all-zero shared secret) with ERR_DECRYPT', () => {
  const body = SEALED.subarray(ENC_BYTES)
  for (const point of LOW_ORDER) {
    assert.is(codeOf(() => open(R, concat(point, body), INFO, AAD)), 'ERR_DECRYPT', toHex(point))
  }
})

Seal('refuses to seal to a low-order public key with ERR_DECODE', () => {
  for (const point of LOW_ORDER) {
    assert.is(codeOf(() => seal(point, PT, INFO, AAD)), 'ERR_DECODE', toHex(point))
    assert.is(codeOf(() => sealWithEphemeralForTesting(randomBytes(32), point, PT, INFO, AAD)), 'ERR_DECODE', toHex(point))
  }
})

Seal('rejects malformed arguments with TypeError/RangeError naming them', () => {
  assert.throws(() => seal(new Uint8Array(31), PT, INFO, AAD), (e: Error) => e instanceof RangeError && e.message.includes('recipientPublicKey'))
  assert.throws(() => seal('key' as unknown as Uint8Array, PT, INFO, AAD), (e: Error) => e instanceof TypeError && e.message.includes('recipientPublicKey'))
  assert.throws(() => seal(R.publicKey, 'pt' as unknown as Uint8Array, INFO, AAD), (e: Error) => e instanceof TypeError && e.message.includes('plaintext'))
  assert.throws(() => seal(R.publicKey, PT, null as unknown as Uint8Array, AAD), (e: Error) => e instanceof TypeError && e.message.includes('info'))
  assert.throws(() => open(R, SEALED, INFO, undefined as unknown as Uint8Array), (e: Error) => e instanceof TypeError && e.message.includes('aad'))
  assert.throws(() => open(R, [1, 2, 3] as unknown as Uint8Array, INFO, AAD), (e: Error) => e instanceof TypeError && e.message.includes('sealed'))
  assert.throws(() => open({} as SealKeyPair, SEALED, INFO, AAD), (e: Error) => e instanceof TypeError && e.message.includes('recipient'))
  assert.throws(() => open({ privateKey: R.privateKey, publicKey: new Uint8Array(5) }, SEALED, INFO, AAD), (e: Error) => e instanceof RangeError && e.message.includes('recipient.publicKey'))
  assert.throws(() => sealKeyPairFromSecret(new Uint8Array(33)), (e: Error) => e instanceof RangeError && e.message.includes('secret'))
})

Seal.run()
