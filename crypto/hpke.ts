/**
 * HPKE (RFC 9180) in base mode for one suite: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, ChaCha20-Poly1305, the suite of Appendix A.2, whose published
 * vectors pin every step here. Only the RFC lives in this file; bioshard's use
 * of it is `seal.ts`. Composed on node:crypto rather than `@hpke/core` because
 * X25519 and HMAC on KeyObjects are synchronous and much faster than pure
 * JavaScript; `@hpke/core` stays in the tests as the independent oracle.
 * Every secret returned as a `Uint8Array` is the caller's to wipe.
 *
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { createCipheriv, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { abytes, aint, concat, plain, utf8, wipe } from './bytes.ts'
import { DecodeError, DecryptError } from '../errors.ts'

/** §7.1: KEM id of DHKEM(X25519, HKDF-SHA256). */
export const KEM_ID = 0x0020
/** §7.2: KDF id of HKDF-SHA256. */
export const KDF_ID = 0x0001
/** §7.3: AEAD id of ChaCha20-Poly1305. */
export const AEAD_ID = 0x0003
/** §5 Table 1: mode_base. */
export const MODE_BASE = 0x00
/** §7.1 Nsecret: KEM shared secret length. */
export const N_SECRET = 32
/** §7.1 Nenc: encapsulated key length. */
export const N_ENC = 32
/** §7.1 Npk: serialized public key length. */
export const N_PK = 32
/** §7.1 Nsk: serialized private key length. */
export const N_SK = 32
/** §7.2 Nh: HKDF-SHA256 output length. */
export const N_H = 32
/** §7.3 Nk: AEAD key length. */
export const N_K = 32
/** §7.3 Nn: AEAD nonce length. */
export const N_N = 12
/** §7.3 Nt: AEAD tag length. */
export const N_T = 16

// RFC 8410 DER wrappers: node:crypto imports raw X25519 keys only as PKCS#8 / SPKI.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])

/** §3 I2OSP(n, 2). */
function i2osp2 (n: number): Uint8Array {
  return Uint8Array.from([n >>> 8, n & 0xff])
}

const HPKE_V1 = utf8('HPKE-v1')
const EMPTY = new Uint8Array(0)
const COUNTER_1 = Uint8Array.of(0x01)
/** §4.1: the KEM's suite_id, "KEM" || I2OSP(kem_id, 2). */
export const KEM_SUITE_ID = concat(utf8('KEM'), i2osp2(KEM_ID))
/** §5.1: the key schedule's suite_id, "HPKE" || kem_id || kdf_id || aead_id. */
export const HPKE_SUITE_ID = concat(utf8('HPKE'), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID))

/** An X25519 key pair: the serialized public key, the private key as a KeyObject (zeroed by Node when collected). */
export interface KemKeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: KeyObject
}

/** RFC 5869 §2.2 Extract / §2.3 one block of Expand: HMAC-SHA256 over `parts` (an empty salt pads like HashLen zeros). */
function hmac (key: Uint8Array | KeyObject, parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key instanceof Uint8Array ? createSecretKey(key) : key)
  for (const p of parts) h.update(p)
  return plain(h.digest())
}

/** §4 LabeledExtract and LabeledExpand under one `suite_id`. */
export interface LabeledKdf {
  /** LabeledExtract(salt, label, ikm) */
  extract: (salt: Uint8Array, label: string, ikm: Uint8Array) => Uint8Array
  /** LabeledExpand(prk, label, info, L), for L ≤ Nh (RFC 5869 §2.3 Expand is then the single block T(1)) */
  expand: (prk: Uint8Array | KeyObject, label: string, info: Uint8Array, length: number) => Uint8Array
}

/**
 * §4: LabeledExtract / LabeledExpand bound to `suiteId`.
 *
 * @param suiteId {@link KEM_SUITE_ID} or {@link HPKE_SUITE_ID}
 * @returns the pair of labeled functions
 * @example const prk = labeledKdf(KEM_SUITE_ID).extract(new Uint8Array(0), 'eae_prk', dh)
 */
export function labeledKdf (suiteId: Uint8Array): LabeledKdf {
  const id = suiteId.slice()
  return {
    extract: (salt, label, ikm) => hmac(salt, [HPKE_V1, id, utf8(label), ikm]),
    expand: (prk, label, info, length) => {
      aint(length, 1, N_H, 'length')
      const t1 = hmac(prk, [i2osp2(length), HPKE_V1, id, utf8(label), info, COUNTER_1])
      if (length === t1.length) return t1
      const out = t1.slice(0, length)
      wipe(t1)
      return out
    }
  }
}

const KEM = labeledKdf(KEM_SUITE_ID)
const HPKE = labeledKdf(HPKE_SUITE_ID)
// §5.1: psk_id_hash over the empty psk_id of mode_base, a constant of the suite.
const PSK_ID_HASH = HPKE.extract(EMPTY, 'psk_id_hash', EMPTY)

function rawPublicKey (key: KeyObject): Uint8Array {
  return plain(Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url'))
}

/**
 * §4 GenerateKeyPair: a fresh X25519 key pair.
 *
 * @returns the serialized public key and the private KeyObject
 * @example const pair = generateKeyPair()
 */
export function generateKeyPair (): KemKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return { privateKey, publicKey: rawPublicKey(publicKey) }
}

/**
 * §7.1.2 DeserializePrivateKey, with its public key: an X25519 key pair from
 * a raw 32-byte scalar (clamped by X25519 itself). The caller still owns and
 * should wipe `sk`.
 *
 * @param sk 32-byte serialized private key
 * @returns the key pair
 * @throws {TypeError|RangeError} when `sk` is not 32 bytes
 * @example const pair = deserializePrivateKey(skRm)
 */
export function deserializePrivateKey (sk: Uint8Array): KemKeyPair {
  abytes(sk, N_SK, 'sk')
  const der = concat(PKCS8_PREFIX, sk)
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' })
    return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) }
  } finally {
    wipe(der)
  }
}

/**
 * §7.1.1 DeserializePublicKey: every 32-byte string is an X25519 u-coordinate.
 *
 * @param pk 32-byte serialized public key
 * @returns the key as a KeyObject
 * @throws {TypeError|RangeError} when `pk` is not 32 bytes
 * @example const pkR = deserializePublicKey(pkRm)
 */
export function deserializePublicKey (pk: Uint8Array): KeyObject {
  abytes(pk, N_PK, 'pk')
  return createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, pk)), format: 'der', type: 'spki' })
}

/** §7.1.4 DH with the RFC 7748 §6.1 all-zero check; null when the peer key is low order. */
function dh (privateKey: KeyObject, publicKey: KeyObject): Uint8Array | null {
  let out: Uint8Array
  try {
    // OpenSSL itself refuses an all-zero result; the check below keeps the guarantee independent of the provider.
    out = plain(diffieHellman({ privateKey, publicKey }))
  } catch {
    return null
  }
  let acc = 0
  for (const b of out) acc |= b
  if (acc === 0) { wipe(out); return null }
  return out
}

/**
 * §4.1 ExtractAndExpand(dh, kem_context): the KEM shared secret.
 *
 * @returns Nsecret bytes (the caller wipes them)
 * @example const sharedSecret = extractAndExpand(dh, concat(enc, pkRm))
 */
export function extractAndExpand (dhOut: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = KEM.extract(EMPTY, 'eae_prk', dhOut)
  const sharedSecret = KEM.expand(eaePrk, 'shared_secret', kemContext, N_SECRET)
  wipe(eaePrk)
  return sharedSecret
}

/** What Encap returns: the shared secret (the caller wipes it) and `enc`, the serialized ephemeral public key. */
export interface Encapsulation { sharedSecret: Uint8Array, enc: Uint8Array }

/**
 * §4.1 Encap(pkR). The ephemeral key pair is fresh unless given (test vectors
 * fix it, as the RFC's DeriveKeyPair(ikmE) does).
 *
 * @param pkR 32-byte recipient public key
 * @param ephemeral the sender's ephemeral key pair (default: {@link generateKeyPair})
 * @returns `shared_secret` and `enc`
 * @throws {TypeError|RangeError} when `pkR` is not 32 bytes
 * @throws {DecodeError} ERR_DECODE when `pkR` is a low-order point (EncapError)
 * @example const { sharedSecret, enc } = encap(pkRm)
 */
export function encap (pkR: Uint8Array, ephemeral: KemKeyPair = generateKeyPair()): Encapsulation {
  const dhOut = dh(ephemeral.privateKey, deserializePublicKey(pkR))
  if (dhOut === null) throw new DecodeError('recipientPublicKey is a low-order X25519 point')
  const enc = ephemeral.publicKey.slice()
  const sharedSecret = extractAndExpand(dhOut, concat(enc, pkR))
  wipe(dhOut)
  return { sharedSecret, enc }
}

/**
 * §4.1 Decap(enc, skR).
 *
 * @param enc 32-byte encapsulated key
 * @param recipient the recipient's key pair (its public key enters kem_context)
 * @returns `shared_secret` (the caller wipes it)
 * @throws {DecryptError} ERR_DECRYPT when `enc` is malformed or low order (DecapError)
 * @example const sharedSecret = decap(enc, recipient)
 */
export function decap (enc: Uint8Array, recipient: KemKeyPair): Uint8Array {
  let pkE: KeyObject
  try {
    pkE = deserializePublicKey(enc)
  } catch {
    throw new DecryptError('HPKE enc')
  }
  const dhOut = dh(recipient.privateKey, pkE)
  if (dhOut === null) throw new DecryptError('HPKE enc')
  const sharedSecret = extractAndExpand(dhOut, concat(enc, recipient.publicKey))
  wipe(dhOut)
  return sharedSecret
}

/** The secrets of one context (§5.1); the caller wipes them. */
export interface KeySchedule { key: Uint8Array, baseNonce: Uint8Array, exporterSecret: Uint8Array }

/**
 * §5.1 KeySchedule for mode_base (empty psk and psk_id).
 *
 * @param sharedSecret the KEM shared secret
 * @param info the application's setup info
 * @returns `key`, `base_nonce` and `exporter_secret`
 * @example const { key, baseNonce, exporterSecret } = keySchedule(sharedSecret, info)
 */
export function keySchedule (sharedSecret: Uint8Array, info: Uint8Array): KeySchedule {
  abytes(sharedSecret, N_SECRET, 'sharedSecret')
  abytes(info, undefined, 'info')
  const infoHash = HPKE.extract(EMPTY, 'info_hash', info)
  const context = concat(Uint8Array.of(MODE_BASE), PSK_ID_HASH, infoHash)
  const secret = HPKE.extract(sharedSecret, 'secret', EMPTY)
  const key = HPKE.expand(secret, 'key', context, N_K)
  const baseNonce = HPKE.expand(secret, 'base_nonce', context, N_N)
  const exporterSecret = HPKE.expand(secret, 'exp', context, N_H)
  wipe(secret)
  return { key, baseNonce, exporterSecret }
}

/**
 * §5.1.1 SetupBaseS(pkR, info): encapsulate and run the key schedule.
 *
 * @param pkR 32-byte recipient public key
 * @param info setup info
 * @param ephemeral a fixed ephemeral key pair (test vectors only; default fresh)
 * @returns `enc` and the context's secrets (the caller wipes them)
 * @throws as {@link encap}
 * @example const { enc, exporterSecret } = setupBaseS(pkRm, info)
 */
export function setupBaseS (pkR: Uint8Array, info: Uint8Array, ephemeral?: KemKeyPair): KeySchedule & { enc: Uint8Array } {
  abytes(info, undefined, 'info')
  const { sharedSecret, enc } = encap(pkR, ephemeral)
  try {
    return { enc, ...keySchedule(sharedSecret, info) }
  } finally {
    wipe(sharedSecret)
  }
}

/**
 * §5.1.1 SetupBaseR(enc, skR, info): decapsulate and run the key schedule.
 *
 * @returns the context's secrets (the caller wipes them)
 * @throws as {@link decap}
 * @example const { exporterSecret } = setupBaseR(enc, recipient, info)
 */
export function setupBaseR (enc: Uint8Array, recipient: KemKeyPair, info: Uint8Array): KeySchedule {
  abytes(info, undefined, 'info')
  const sharedSecret = decap(enc, recipient)
  try {
    return keySchedule(sharedSecret, info)
  } finally {
    wipe(sharedSecret)
  }
}

/**
 * §5.3 Context.Export(exporter_context, L), for L ≤ Nh.
 *
 * @param exporterSecret the context's `exporter_secret` (a KeyObject keeps HMAC keying cheap on a hot path)
 * @param exporterContext the application's context bytes
 * @param length L, 1 to Nh
 * @returns L bytes (the caller wipes them)
 * @example const okm = exportSecret(exporterSecret, utf8('TestContext'), 32)
 */
export function exportSecret (exporterSecret: Uint8Array | KeyObject, exporterContext: Uint8Array, length: number): Uint8Array {
  if (exporterSecret instanceof Uint8Array) abytes(exporterSecret, N_H, 'exporterSecret')
  abytes(exporterContext, undefined, 'exporterContext')
  return HPKE.expand(exporterSecret, 'sec', exporterContext, length)
}

/**
 * §5.2 ComputeNonce(seq): `base_nonce XOR I2OSP(seq, Nn)`.
 *
 * @param baseNonce the context's 12-byte `base_nonce`
 * @param seq a sequence number (a safe integer)
 * @returns the 12-byte nonce
 * @example computeNonce(baseNonce, 0) // equals baseNonce
 */
export function computeNonce (baseNonce: Uint8Array, seq: number): Uint8Array {
  const out = abytes(baseNonce, N_N, 'baseNonce').slice()
  let s = BigInt(aint(seq, 0, Number.MAX_SAFE_INTEGER, 'seq'))
  for (let i = N_N - 1; i >= 0 && s > 0n; i--, s >>= 8n) out[i] ^= Number(s & 0xffn)
  return out
}

/**
 * §5.2 / §5.3 an encryption context in one direction: Seal or Open with an
 * incrementing sequence number, and Export. It owns copies of the secrets;
 * {@link Context.wipe} zeroes them.
 *
 * @example
 * const s = setupBaseS(pkR, info); const ctx = new Context(s); wipe(s.key, s.baseNonce, s.exporterSecret)
 * const ct = ctx.seal(aad, pt)
 */
export class Context {
  readonly #key: Uint8Array
  readonly #baseNonce: Uint8Array
  readonly #exporterSecret: Uint8Array
  #seq = 0

  /** @param schedule the secrets of {@link keySchedule}, copied */
  constructor (schedule: KeySchedule) {
    this.#key = abytes(schedule.key, N_K, 'schedule.key').slice()
    this.#baseNonce = abytes(schedule.baseNonce, N_N, 'schedule.baseNonce').slice()
    this.#exporterSecret = abytes(schedule.exporterSecret, N_H, 'schedule.exporterSecret').slice()
  }

  /**
   * §5.2 Context.Seal(aad, pt).
   *
   * @returns `ciphertext || tag`
   * @throws {RangeError} when the sequence number is exhausted (MessageLimitReachedError)
   */
  seal (aad: Uint8Array, pt: Uint8Array): Uint8Array {
    abytes(aad, undefined, 'aad')
    abytes(pt, undefined, 'pt')
    const cipher = createCipheriv('chacha20-poly1305', createSecretKey(this.#key), this.#nonce(), { authTagLength: N_T })
    cipher.setAAD(aad, { plaintextLength: pt.length })
    const ct = concat(cipher.update(pt), cipher.final(), cipher.getAuthTag())
    this.#seq++
    return ct
  }

  /**
   * §5.2 Context.Open(aad, ct). Decrypted by `@noble/ciphers` into a buffer of
   * ours: node:crypto's decipher frees an unwiped copy of the plaintext.
   *
   * @returns the plaintext (the caller wipes it)
   * @throws {DecryptError} ERR_DECRYPT when authentication fails (OpenError)
   */
  open (aad: Uint8Array, ct: Uint8Array): Uint8Array {
    abytes(aad, undefined, 'aad')
    abytes(ct, undefined, 'ct')
    if (ct.length < N_T) throw new DecryptError('HPKE ciphertext')
    const out = new Uint8Array(ct.length - N_T)
    try {
      chacha20poly1305(this.#key, this.#nonce(), aad).decrypt(ct, out)
    } catch {
      wipe(out)
      throw new DecryptError('HPKE ciphertext')
    }
    this.#seq++
    return out
  }

  /** §5.3 Context.Export(exporter_context, L), L ≤ Nh. */
  export (exporterContext: Uint8Array, length: number): Uint8Array {
    return exportSecret(this.#exporterSecret, exporterContext, length)
  }

  /** Zero the context's secrets; it is unusable afterwards. */
  wipe (): void { wipe(this.#key, this.#baseNonce, this.#exporterSecret) }

  /** §5.2: the nonce of the current sequence number, refusing to wrap. */
  #nonce (): Uint8Array {
    if (this.#seq >= Number.MAX_SAFE_INTEGER) throw new RangeError('HPKE context: message limit reached')
    return computeNonce(this.#baseNonce, this.#seq)
  }
}
