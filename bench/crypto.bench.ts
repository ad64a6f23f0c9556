/**
 * The crypto layer's costs, each beside a baseline measured in the same run
 * (so a verdict is a ratio, robust to a noisy machine): split + commit and
 * verify + combine against a bare AES-256-GCM pass over the same bytes; HPKE
 * seal / open of one share against `@hpke/core`; Ed25519 sign / verify against
 * `@noble/curves` signing the same tagged bytes ({@link run}).
 *
 * Run alone: `node bench/crypto.bench.ts` (prints a table).
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync } from 'node:crypto'
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import { ed25519 } from '@noble/curves/ed25519.js'
import { encryptTemplate } from '../crypto/envelope.ts'
import { splitSecret, commitShare, reconstruct } from '../crypto/shares.ts'
import { Opener, Sealer, seal, sealKeyPairFromSecret } from '../crypto/seal.ts'
import { generateSigningKey, sign, verify } from '../crypto/sign.ts'
import { encodeCanonical } from '../crypto/canonical.ts'
import { concat, randomBytes, u32be, utf8, wipe } from '../crypto/bytes.ts'
import { SIG } from '../crypto/tags.ts'
import { shareSealInfo } from '../protocol/fetch.ts'
import { measure, compare, printTable, progress, type BenchResult, type MeasureOptions } from './harness.ts'

/** Template sizes: a 128-d and a 512-d float32 embedding. */
const TEMPLATE_BYTES = [512, 2_048] as const
const THRESHOLDS = [[3, 5], [5, 9]] as const
const SIGNED_MESSAGE_BYTES = 512
/** Per benchmark: at least this many timed operations and this much timed time. */
const OPTIONS: MeasureOptions = { iterations: 50, warmup: 20, minTimeMs: 400 }

function template (bytes: number): Uint8Array {
  return new Uint8Array(new Float32Array(Array.from({ length: bytes / 4 }, () => Math.random() - 0.5)).buffer)
}

async function splitAndCombine (results: BenchResult[]): Promise<void> {
  // The baseline's key is imported once: a KeyObject, as the envelope uses.
  const aesKey = createSecretKey(randomBytes(32))
  const nonce = new Uint8Array(12)
  for (const size of TEMPLATE_BYTES) {
    const templateId = randomBytes(32)
    const t0 = template(size)
    const secret = encryptTemplate(t0, { templateId, modality: 'face', model: 'bench-model' })
    wipe(t0)
    const len = secret.length
    const sealed = (): { ct: Uint8Array, tag: Uint8Array } => {
      randomFillSync(nonce)
      const c = createCipheriv('aes-256-gcm', aesKey, nonce)
      const ct = c.update(secret)
      c.final()
      return { ct, tag: c.getAuthTag() }
    }
    const aesEnc = await measure(`AES-256-GCM enc ${len} B`, () => sealed().ct, OPTIONS)
    const fixed = sealed()
    const fixedNonce = nonce.slice()
    const aesDec = await measure(`AES-256-GCM dec ${len} B`, () => {
      const d = createDecipheriv('aes-256-gcm', aesKey, fixedNonce)
      d.setAuthTag(fixed.tag)
      const pt = d.update(fixed.ct)
      d.final()
      return pt
    }, OPTIONS)
    aesEnc.note = 'baseline'
    aesDec.note = 'baseline'
    results.push(aesEnc, aesDec)
    for (const [t, n] of THRESHOLDS) {
      const split = await measure(`split+commit ${size} B t=${t} n=${n}`, async () => {
        const shares = await splitSecret(secret, t, n)
        for (const s of shares) commitShare(templateId, s)
        wipe(...shares.map((s) => s.bytes))
      }, OPTIONS)
      compare(split, aesEnc)
      const shares = await splitSecret(secret, t, n)
      const commitments = new Map(shares.map((s) => [s.x, commitShare(templateId, s)]))
      // The last t shares: a verifier combines whichever t holders answered first.
      const some = shares.slice(n - t)
      const combine = await measure(`verify+combine ${size} B t=${t} n=${n}`, async () => {
        const r = await reconstruct(templateId, some, commitments, t)
        if (r.secret.length !== len) throw new Error('reconstruct returned the wrong length')
        wipe(r.secret)
      }, OPTIONS)
      compare(combine, aesDec)
      wipe(...shares.map((s) => s.bytes))
      results.push(split, combine)
    }
    wipe(secret)
  }
}

async function sealAndOpen (results: BenchResult[]): Promise<void> {
  const templateId = randomBytes(32)
  const t0 = template(2_048)
  const secret = encryptTemplate(t0, { templateId, modality: 'face', model: 'bench-model' })
  const [share] = await splitSecret(secret, 3, 5)
  wipe(t0, secret)
  const info = shareSealInfo(templateId, share.x)
  const aad = randomBytes(32) // a fetch request hash
  const recipientSecret = randomBytes(32)
  const ours = sealKeyPairFromSecret(recipientSecret)
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })
  const theirKey = await suite.kem.deserializePrivateKey(recipientSecret)
  const theirPub = await suite.kem.deserializePublicKey(ours.publicKey)
  wipe(recipientSecret)
  const len = share.bytes.length

  const hpkeSeal = await measure(`@hpke/core seal ${len} B`, async () => await suite.seal({ recipientPublicKey: theirPub, info }, share.bytes, aad), OPTIONS)
  // A holder's sealer keeps its context per enclave key: every share after the first skips key encapsulation.
  const reused = new Sealer()
  const ourSeal = await measure(`seal share ${len} B, context reused`, () => reused.seal(ours.publicKey, share.bytes, info, aad), OPTIONS)
  compare(ourSeal, hpkeSeal)
  // A sealer that forgets its context before every message: the cost of each
  // holder's first share to an enclave (key encapsulation included).
  const fresh = new Sealer()
  const ourFreshSeal = await measure(`seal share ${len} B, new context`, () => { fresh.clear(); fresh.seal(ours.publicKey, share.bytes, info, aad) }, OPTIONS)
  compare(ourFreshSeal, hpkeSeal)
  const sealed = seal(ours.publicKey, share.bytes, info, aad)
  const theirs = await suite.seal({ recipientPublicKey: theirPub, info }, share.bytes, aad)
  const theirOpen = async (): Promise<ArrayBuffer> => await suite.open({ recipientKey: theirKey, enc: theirs.enc, info }, theirs.ct, aad)
  const hpkeOpen = await measure(`@hpke/core open ${len} B`, theirOpen, OPTIONS)
  // The enclave child's opener keeps its context per sender.
  const opener = new Opener(ours)
  const ourOpen = await measure(`open share ${len} B, sender known`, () => { wipe(opener.open(sealed, info, aad)) }, OPTIONS)
  compare(ourOpen, hpkeOpen)
  const ourFreshOpen = await measure(`open share ${len} B, new sender`, () => { wipe(new Opener(ours).open(sealed, info, aad)) }, OPTIONS)
  compare(ourFreshOpen, hpkeOpen)
  hpkeSeal.note = 'baseline'
  hpkeOpen.note = 'baseline'
  results.push(hpkeSeal, ourSeal, ourFreshSeal, hpkeOpen, ourOpen, ourFreshOpen)
  wipe(share.bytes)
}

/** A canonical CBOR message of exactly `bytes` bytes. */
function canonicalMessage (bytes: number): Uint8Array {
  for (let pad = bytes; pad > 0; pad--) {
    const m = encodeCanonical({ v: 1, kind: 'bench', data: randomBytes(pad) })
    if (m.length === bytes) return m
  }
  throw new Error(`no canonical message of ${bytes} bytes`)
}

async function signAndVerify (results: BenchResult[]): Promise<void> {
  const message = canonicalMessage(SIGNED_MESSAGE_BYTES)
  const { key, seed } = generateSigningKey()
  // noble signs exactly the bytes sign.ts signs: len(tag) || tag || message.
  const tag = utf8(SIG.MANIFEST)
  const tagged = concat(u32be(tag.length), tag, message)
  const nobleSign = await measure(`@noble/curves sign ${message.length} B`, () => ed25519.sign(tagged, seed), OPTIONS)
  const ourSign = await measure(`sign ${message.length} B`, () => sign(SIG.MANIFEST, message, key), OPTIONS)
  compare(ourSign, nobleSign)
  const signature = sign(SIG.MANIFEST, message, key)
  if (!ed25519.verify(signature, tagged, key.publicKey)) throw new Error('noble does not verify our signature over the tagged bytes')
  const nobleVerify = await measure(`@noble/curves verify ${message.length} B`, () => ed25519.verify(signature, tagged, key.publicKey), OPTIONS)
  const ourVerify = await measure(`verify ${message.length} B`, () => {
    if (!verify(SIG.MANIFEST, message, signature, key.publicKey)) throw new Error('signature did not verify')
  }, OPTIONS)
  compare(ourVerify, nobleVerify)
  nobleSign.note = 'baseline'
  nobleVerify.note = 'baseline'
  results.push(nobleSign, ourSign, nobleVerify, ourVerify)
  wipe(seed)
}

/**
 * Run the crypto benchmarks. HPKE is measured with the sender's context
 * reused (every share after a holder's first to an enclave) and with a new
 * context each time.
 *
 * @returns one result per operation, each compared with its baseline
 * @example printTable(await run(), 'crypto')
 */
export async function run (): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  progress('crypto: split / combine')
  await splitAndCombine(results)
  progress('crypto: seal / open')
  await sealAndOpen(results)
  progress('crypto: sign / verify')
  await signAndVerify(results)
  return results
}

if (import.meta.main) printTable(await run(), 'crypto')
