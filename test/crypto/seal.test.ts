/**
 * Per-share sealing (crypto/seal.ts): every message cross-checked in both
 * directions against @hpke/core + @hpke/chacha20poly1305, with node:crypto
 * doing the AEAD step on the oracle's side; contexts, limits and refusals.
 * The RFC 9180 steps themselves are pinned in hpke.test.ts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import {
  ENC_BYTES, SALT_BYTES, SEAL_PUBLIC_KEY_BYTES, SEALED_MIN_BYTES, TAG_BYTES,
  Opener, Sealer, generateSealKeyPair, open, seal, sealKeyPairFromSecret, type SealKeyPair
} from '../../crypto/seal.ts'
import { encap } from '../../crypto/hpke.ts'
import { concat, fromHex, randomBytes, toHex, utf8 } from '../../crypto/bytes.ts'
import { DecodeError, DecryptError } from '../../errors.ts'
import { AEAD } from '../../crypto/tags.ts'
import { prng } from '../helpers/random.ts'
import { codeOf } from '../helpers/assert.ts'

const Seal = suite('seal')

const INFO = utf8(AEAD.HPKE_SHARE_SEAL)
const SETUP_INFO = utf8(AEAD.HPKE_SEAL_CONTEXT)

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
const ZERO_NONCE = new Uint8Array(12)

/** A manual clock for the context lifetimes. */
function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

const encOf = (sealed: Uint8Array): string => toHex(sealed.subarray(0, ENC_BYTES))

// --- @hpke/core as an independent oracle --------------------------------------

type OracleKey = Awaited<ReturnType<typeof oracle.kem.deserializePrivateKey>>

async function oracleRecipient (): Promise<{ ours: SealKeyPair, theirs: OracleKey }> {
  const secret = randomBytes(32)
  const ours = sealKeyPairFromSecret(secret)
  const theirs = await oracle.kem.deserializePrivateKey(secret)
  return { ours, theirs }
}

function sizes (seed: number): number[] {
  const rnd = prng(seed)
  const out = [0, 1, 15, 16, 17, 63, 64, 65, 4096, 65_537]
  for (let i = 0; i < 40; i++) out.push(Math.floor(rnd() * 2048))
  return out
}

Seal('what it seals, @hpke/core and node:crypto open: Export(salt || info) is the key, the nonce zero', async () => {
  const r = await oracleRecipient()
  const sealer = new Sealer()
  const contexts = new Map<string, Awaited<ReturnType<typeof oracle.createRecipientContext>>>()
  for (const n of sizes(0x5ea1)) {
    const pt = randomBytes(n)
    const info = randomBytes(n % 128)
    const aad = randomBytes(n % 200)
    const sealed = (n % 2 === 0 ? sealer.seal.bind(sealer) : seal)(r.ours.publicKey, pt, info, aad)
    assert.is(sealed.length, SEALED_MIN_BYTES + n)
    const enc = sealed.subarray(0, ENC_BYTES)
    const salt = sealed.subarray(ENC_BYTES, ENC_BYTES + SALT_BYTES)
    const id = toHex(enc)
    if (!contexts.has(id)) contexts.set(id, await oracle.createRecipientContext({ recipientKey: r.theirs, enc, info: SETUP_INFO }))
    const key = new Uint8Array(await contexts.get(id)!.export(concat(salt, info), 32))
    const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad, { plaintextLength: n })
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const got = concat(decipher.update(sealed.subarray(ENC_BYTES + SALT_BYTES, sealed.length - TAG_BYTES)), decipher.final())
    assert.ok(toHex(got) === toHex(pt), `size ${n}`)
  }
  const fresh = sizes(0x5ea1).filter((n) => n % 2 !== 0).length
  assert.is(contexts.size, 1 + fresh, 'one Sealer context served every even message, seal() a fresh one each odd message')
})

Seal('what @hpke/core and node:crypto seal that way, it opens', async () => {
  const r = await oracleRecipient()
  const recipientPublicKey = await oracle.kem.deserializePublicKey(r.ours.publicKey)
  const theirs = await oracle.createSenderContext({ recipientPublicKey, info: SETUP_INFO })
  const enc = new Uint8Array(theirs.enc)
  for (const n of sizes(0x0bad)) {
    const pt = randomBytes(n)
    const info = randomBytes(n % 128)
    const aad = randomBytes(n % 200)
    const salt = randomBytes(SALT_BYTES)
    const key = new Uint8Array(await theirs.export(concat(salt, info), 32))
    const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: TAG_BYTES })
    cipher.setAAD(aad, { plaintextLength: n })
    const ct = concat(cipher.update(pt), cipher.final(), cipher.getAuthTag())
    const got = open(r.ours, concat(enc, salt, ct), info, aad)
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

Seal('seals to one recipient under one context, each message with its own salt and ciphertext', () => {
  const r = generateSealKeyPair()
  const sealer = new Sealer()
  const pt = randomBytes(32)
  const a = sealer.seal(r.publicKey, pt, INFO, new Uint8Array(0))
  const b = sealer.seal(r.publicKey, pt, INFO, new Uint8Array(0))
  assert.is(encOf(a), encOf(b))
  assert.is.not(toHex(a.subarray(ENC_BYTES, ENC_BYTES + SALT_BYTES)), toHex(b.subarray(ENC_BYTES, ENC_BYTES + SALT_BYTES)))
  assert.is.not(toHex(a.subarray(ENC_BYTES + SALT_BYTES)), toHex(b.subarray(ENC_BYTES + SALT_BYTES)))
  assert.is.not(encOf(sealer.seal(generateSealKeyPair().publicKey, pt, INFO, new Uint8Array(0))), encOf(a), 'another recipient, another context')
})

Seal('a sender encapsulates a fresh key after maxMessages messages or maxAgeMs, and each new context opens', () => {
  const r = generateSealKeyPair()
  const c = clock()
  const sealer = new Sealer({ maxMessages: 3, maxAgeMs: 1_000, now: c.now })
  const encs = [0, 1, 2, 3].map(() => sealer.seal(r.publicKey, INFO, INFO, INFO)).map(encOf)
  assert.equal(encs.slice(0, 3), [encs[0], encs[0], encs[0]])
  assert.is.not(encs[3], encs[0], 'the fourth message starts a new context')
  c.advance(999)
  const before = sealer.seal(r.publicKey, INFO, INFO, INFO)
  assert.is(encOf(before), encs[3])
  c.advance(1)
  const after = sealer.seal(r.publicKey, INFO, INFO, INFO)
  assert.is.not(encOf(after), encs[3], 'a context a second old is not used again')
  for (const m of [before, after]) assert.equal(open(r, m, INFO, INFO), INFO)
  sealer.clear()
  assert.is.not(encOf(sealer.seal(r.publicKey, INFO, INFO, INFO)), encOf(after), 'clear() forgets every context')
})

Seal('a sender forgets its oldest recipient beyond maxRecipients', () => {
  const sealer = new Sealer({ maxRecipients: 2 })
  const [a, b, c] = [generateSealKeyPair(), generateSealKeyPair(), generateSealKeyPair()]
  const first = encOf(sealer.seal(a.publicKey, INFO, INFO, INFO))
  sealer.seal(b.publicKey, INFO, INFO, INFO)
  assert.is(encOf(sealer.seal(a.publicKey, INFO, INFO, INFO)), first)
  sealer.seal(c.publicKey, INFO, INFO, INFO)
  assert.is.not(encOf(sealer.seal(a.publicKey, INFO, INFO, INFO)), first)
})

Seal('a recipient remembers a sender only once one of its messages opened, within maxSenders and maxAgeMs', () => {
  const r = generateSealKeyPair()
  const c = clock()
  const opener = new Opener(r, { maxSenders: 2, maxAgeMs: 5_000, now: c.now })
  const sealed = seal(r.publicKey, INFO, INFO, INFO)
  const forged = concat(generateSealKeyPair().publicKey, sealed.subarray(ENC_BYTES))
  assert.is(codeOf(() => opener.open(forged, INFO, INFO)), 'ERR_DECRYPT')
  assert.is(codeOf(() => opener.open(sealed, INFO, utf8('other'))), 'ERR_DECRYPT')
  assert.is(opener.senders, 0, 'nothing that failed to open is remembered')
  assert.equal(opener.open(sealed, INFO, INFO), INFO)
  assert.is(opener.senders, 1)
  const others = [new Sealer(), new Sealer()].map((s) => s.seal(r.publicKey, INFO, INFO, INFO))
  for (const m of others) assert.equal(opener.open(m, INFO, INFO), INFO)
  assert.is(opener.senders, 2, 'bounded by maxSenders')
  c.advance(5_000)
  assert.equal(opener.open(sealed, INFO, INFO), INFO, 'an expired sender still opens, with a fresh setup')
  opener.clear()
  assert.is(opener.senders, 0)
})

Seal('open() remembers nothing and opens under the key pair it is given only; a wrong public key beside it opens nothing', () => {
  const r = generateSealKeyPair()
  const sealed = seal(r.publicKey, PT, INFO, AAD)
  assert.equal(open(r, sealed, INFO, AAD), PT)
  assert.is(codeOf(() => open({ privateKey: r.privateKey, publicKey: generateSealKeyPair().publicKey }, sealed, INFO, AAD)), 'ERR_DECRYPT')
  assert.is(codeOf(() => open({ privateKey: generateSealKeyPair().privateKey, publicKey: r.publicKey }, sealed, INFO, AAD)), 'ERR_DECRYPT')
  assert.equal(open(r, sealed, INFO, AAD), PT)
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

// Each refusal below runs with R's opener already knowing SEALED's sender,
// so the remembered-context path is what must bind info, aad, salt and body.
const knowsSender = (): void => { assert.equal(open(R, SEALED, INFO, AAD), PT) }

Seal('refuses another info with ERR_DECRYPT, also from a sender it knows', () => {
  knowsSender()
  assert.is(codeOf(() => open(R, SEALED, utf8(AEAD.SHARE_AT_REST), AAD)), 'ERR_DECRYPT')
  assert.is(codeOf(() => open(R, SEALED, new Uint8Array(0), AAD)), 'ERR_DECRYPT')
})

Seal('refuses another aad with ERR_DECRYPT, also from a sender it knows', () => {
  knowsSender()
  assert.is(codeOf(() => open(R, SEALED, INFO, utf8('request-nonce!'))), 'ERR_DECRYPT')
  assert.is(codeOf(() => open(R, SEALED, INFO, new Uint8Array(0))), 'ERR_DECRYPT')
})

Seal('refuses a message shorter than enc + salt + tag with ERR_DECODE, and any other truncation with ERR_DECRYPT', () => {
  for (let n = 0; n < SEALED_MIN_BYTES; n++) assert.is(codeOf(() => open(R, SEALED.subarray(0, n), INFO, AAD)), 'ERR_DECODE', `length ${n}`)
  for (let n = SEALED_MIN_BYTES; n < SEALED.length; n++) assert.is(codeOf(() => open(R, SEALED.subarray(0, n), INFO, AAD)), 'ERR_DECRYPT', `length ${n}`)
  assert.is(codeOf(() => open(R, concat(SEALED, new Uint8Array(1)), INFO, AAD)), 'ERR_DECRYPT')
})

Seal('refuses every single flipped bit with ERR_DECRYPT, also from a sender it knows', () => {
  knowsSender()
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
    assert.is(codeOf(() => new Sealer().seal(point, PT, INFO, AAD)), 'ERR_DECODE', toHex(point))
    assert.is(codeOf(() => encap(point)), 'ERR_DECODE', toHex(point))
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
  const shortPublic = { privateKey: R.privateKey, publicKey: new Uint8Array(5) }
  assert.throws(() => open(shortPublic, SEALED, INFO, AAD), (e: Error) => e instanceof RangeError && e.message.includes('recipient.publicKey'))
  assert.throws(() => sealKeyPairFromSecret(new Uint8Array(33)), (e: Error) => e instanceof RangeError && e.message.includes('secret'))
  assert.throws(() => new Sealer({ maxAgeMs: Number.NaN }), (e: Error) => e instanceof TypeError && e.message.includes('maxAgeMs'))
  assert.throws(() => new Sealer({ maxMessages: 0 }), (e: Error) => e instanceof RangeError && e.message.includes('maxMessages'))
  assert.throws(() => new Opener(R, { maxSenders: 0 }), (e: Error) => e instanceof RangeError && e.message.includes('maxSenders'))
  assert.throws(() => new Opener(shortPublic), (e: Error) => e instanceof RangeError && e.message.includes('recipient.publicKey'))
})

Seal.run()
