/**
 * Sealing a share to an enclave key: HPKE (RFC 9180) base mode, single shot,
 * suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305
 * (kem 0x0020, kdf 0x0001, aead 0x0003 — the suite of RFC 9180 Appendix A.2,
 * so its published vectors pin this code).
 *
 * Why composed here rather than calling `@hpke/core`: this is the hot path —
 * every fetch seals one share and the enclave opens t of them — and
 * node:crypto X25519 on KeyObjects costs ≈30 µs against ≈1 ms in pure
 * JavaScript, with a synchronous API. The composition follows the RFC step by
 * step (sections cited inline); `@hpke/core` + `@hpke/chacha20poly1305` stay
 * in the tests as the independent oracle, in both directions.
 *
 * Wire format: `enc (32) || ciphertext || tag (16)`, the single-shot form of
 * RFC 9180 §6.1 with sequence number 0.
 *
 * Keys and secrets are handed to OpenSSL as KeyObjects: both faster here than
 * raw buffers (HMAC ≈3 µs vs ≈10 µs) and zeroed by Node when collected; the
 * `Uint8Array` copies we own (DH output, PRKs, shared secret, key, nonce)
 * are wiped as soon as they are used. Opening decrypts with
 * `@noble/ciphers` instead of node:crypto (≈14 µs against ≈6 µs for a
 * share), because a node:crypto decipher leaves a copy of the plaintext in
 * freed memory that no wipe reaches (see {@link open}).
 *
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { createCipheriv, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { abytes, concat, plain, utf8, wipe } from './bytes.ts'
import { DecodeError, DecryptError } from './errors.ts'

/** RFC 9180 §7.1: KEM id of DHKEM(X25519, HKDF-SHA256). */
export const KEM_ID = 0x0020
/** RFC 9180 §7.2: KDF id of HKDF-SHA256. */
export const KDF_ID = 0x0001
/** RFC 9180 §7.3: AEAD id of ChaCha20-Poly1305. */
export const AEAD_ID = 0x0003
/** Raw X25519 public key length (Npk). */
export const SEAL_PUBLIC_KEY_BYTES = 32
/** Raw X25519 private key length (Nsk). */
export const SEAL_SECRET_KEY_BYTES = 32
/** Encapsulated key length (Nenc), the prefix of every sealed message. */
export const ENC_BYTES = 32
/** Poly1305 tag length (Nt). */
export const TAG_BYTES = 16
/** Shortest possible sealed message: enc and tag around an empty plaintext. */
export const SEALED_MIN_BYTES = ENC_BYTES + TAG_BYTES

const N_SECRET = 32 // §7.1 Nsecret for DHKEM(X25519, HKDF-SHA256)
const N_K = 32 // §7.3 Nk for ChaCha20-Poly1305
const N_N = 12 // §7.3 Nn for ChaCha20-Poly1305
const MODE_BASE = 0x00 // §5 Table 1

// RFC 8410 DER wrappers: node:crypto imports raw X25519 keys only as PKCS#8 / SPKI.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])

function i2osp2 (n: number): Uint8Array {
  return Uint8Array.from([n >>> 8, n & 0xff])
}

// §4.1: the KEM's own suite_id is "KEM" || I2OSP(kem_id, 2); §5.1: the key
// schedule's is "HPKE" || kem_id || kdf_id || aead_id. Labels per §4 / §5.1.
const HPKE_V1 = utf8('HPKE-v1')
const KEM_SUITE_ID = concat(utf8('KEM'), i2osp2(KEM_ID))
const HPKE_SUITE_ID = concat(utf8('HPKE'), i2osp2(KEM_ID), i2osp2(KDF_ID), i2osp2(AEAD_ID))
const LABEL_EAE_PRK = utf8('eae_prk')
const LABEL_SHARED_SECRET = utf8('shared_secret')
const LABEL_PSK_ID_HASH = utf8('psk_id_hash')
const LABEL_INFO_HASH = utf8('info_hash')
const LABEL_SECRET = utf8('secret')
const LABEL_KEY = utf8('key')
const LABEL_BASE_NONCE = utf8('base_nonce')
const EMPTY = new Uint8Array(0)
const COUNTER_1 = Uint8Array.from([0x01])

/** An X25519 key pair: the raw public key to publish, the private key as a KeyObject. */
export interface SealKeyPair {
  readonly publicKey: Uint8Array
  readonly privateKey: KeyObject
}

// RFC 5869 §2.2 Extract = HMAC-Hash(salt, IKM); an empty salt is an empty
// HMAC key, which HMAC pads to the same block as HashLen zeros.
function hmac (key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', createSecretKey(key))
  for (const p of parts) h.update(p)
  return plain(h.digest())
}

/** RFC 9180 §4: LabeledExtract(salt, label, ikm). */
function labeledExtract (suiteId: Uint8Array, salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmac(salt, [HPKE_V1, suiteId, label, ikm])
}

/**
 * RFC 9180 §4: LabeledExpand(prk, label, info, L). Every L used here is at
 * most HashLen, so RFC 5869 §2.3 Expand is the single block T(1).
 */
function labeledExpand (suiteId: Uint8Array, prk: Uint8Array, label: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const t1 = hmac(prk, [i2osp2(length), HPKE_V1, suiteId, label, info, COUNTER_1])
  if (length === t1.length) return t1
  const out = t1.slice(0, length)
  wipe(t1)
  return out
}

// §5.1: psk_id_hash = LabeledExtract("", "psk_id_hash", psk_id) with the
// empty psk_id of mode_base: a constant of the suite, computed once.
const PSK_ID_HASH = labeledExtract(HPKE_SUITE_ID, EMPTY, LABEL_PSK_ID_HASH, EMPTY)

/** X25519 with the RFC 7748 §6.1 / RFC 9180 §7.1.4 all-zero check; null when the peer key is low order. */
function dh (privateKey: KeyObject, publicKey: KeyObject): Uint8Array | null {
  let out: Uint8Array
  try {
    // OpenSSL itself refuses an all-zero result; the check below keeps the
    // guarantee independent of the provider.
    out = plain(diffieHellman({ privateKey, publicKey }))
  } catch {
    return null
  }
  let acc = 0
  for (const b of out) acc |= b
  if (acc === 0) { wipe(out); return null }
  return out
}

/** RFC 9180 §4.1 ExtractAndExpand(dh, kem_context) → shared_secret. */
function extractAndExpand (dhOut: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, LABEL_EAE_PRK, dhOut)
  const sharedSecret = labeledExpand(KEM_SUITE_ID, eaePrk, LABEL_SHARED_SECRET, kemContext, N_SECRET)
  wipe(eaePrk)
  return sharedSecret
}

/** RFC 9180 §5.1 KeySchedule for mode_base (empty psk and psk_id): key and base_nonce. */
function keySchedule (sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array, baseNonce: Uint8Array } {
  const infoHash = labeledExtract(HPKE_SUITE_ID, EMPTY, LABEL_INFO_HASH, info)
  const context = concat(Uint8Array.of(MODE_BASE), PSK_ID_HASH, infoHash)
  const secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, LABEL_SECRET, EMPTY)
  const key = labeledExpand(HPKE_SUITE_ID, secret, LABEL_KEY, context, N_K)
  const baseNonce = labeledExpand(HPKE_SUITE_ID, secret, LABEL_BASE_NONCE, context, N_N)
  wipe(secret)
  // exporter_secret is not derived: single-shot sealing never exports.
  return { key, baseNonce }
}

function rawPublicKey (key: KeyObject): Uint8Array {
  return plain(Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url'))
}

function importPublicKey (raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, raw)), format: 'der', type: 'spki' })
}

// A holder seals to the same enclave key for every fetch that enclave makes;
// importing the key costs about as much as the DH, so keep a bounded cache.
const RECIPIENT_KEY_CACHE = new Map<string, KeyObject>()
const RECIPIENT_KEY_CACHE_MAX = 1024

function recipientKeyObject (raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')
  let key = RECIPIENT_KEY_CACHE.get(id)
  if (key === undefined) {
    key = importPublicKey(raw)
    if (RECIPIENT_KEY_CACHE.size >= RECIPIENT_KEY_CACHE_MAX) RECIPIENT_KEY_CACHE.delete(RECIPIENT_KEY_CACHE.keys().next().value as string)
    RECIPIENT_KEY_CACHE.set(id, key)
  }
  return key
}

function isX25519Private (k: unknown): k is KeyObject {
  return typeof k === 'object' && k !== null && (k as KeyObject).type === 'private' && (k as KeyObject).asymmetricKeyType === 'x25519'
}

/**
 * Generate a fresh X25519 key pair (an enclave's ephemeral key).
 *
 * @returns the raw 32-byte public key and the private KeyObject
 * @example const enclaveKey = generateSealKeyPair()
 */
export function generateSealKeyPair (): SealKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return { privateKey, publicKey: rawPublicKey(publicKey) }
}

/**
 * Import an X25519 key pair from a raw 32-byte private key (RFC 7748 scalar,
 * clamped by X25519 itself). The caller still owns and should wipe `secret`.
 *
 * @param secret 32-byte raw private key
 * @returns the key pair
 * @throws {TypeError|RangeError} when `secret` is not 32 bytes
 * @example const pair = sealKeyPairFromSecret(randomBytes(32))
 */
export function sealKeyPairFromSecret (secret: Uint8Array): SealKeyPair {
  abytes(secret, SEAL_SECRET_KEY_BYTES, 'secret')
  const der = concat(PKCS8_PREFIX, secret)
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' })
    return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) }
  } finally {
    wipe(der)
  }
}

/** Intermediate values of one sender setup, exposed only so the RFC vectors can pin each step. */
export interface SenderSetupForTesting {
  enc: Uint8Array
  sharedSecret: Uint8Array
  key: Uint8Array
  baseNonce: Uint8Array
}

/** RFC 9180 §4.1 Encap + §5.1.1 SetupBaseS, keeping every intermediate (the caller wipes). */
function setupBaseSender (ephemeral: SealKeyPair, recipientPublicKey: Uint8Array, info: Uint8Array): SenderSetupForTesting {
  const dhOut = dh(ephemeral.privateKey, recipientKeyObject(recipientPublicKey))
  if (dhOut === null) throw new DecodeError('recipientPublicKey is a low-order X25519 point')
  const enc = ephemeral.publicKey
  const sharedSecret = extractAndExpand(dhOut, concat(enc, recipientPublicKey))
  wipe(dhOut)
  const { key, baseNonce } = keySchedule(sharedSecret, info)
  return { enc, sharedSecret, key, baseNonce }
}

function sealWith (ephemeral: SealKeyPair, recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  abytes(recipientPublicKey, SEAL_PUBLIC_KEY_BYTES, 'recipientPublicKey')
  abytes(plaintext, undefined, 'plaintext')
  abytes(info, undefined, 'info')
  abytes(aad, undefined, 'aad')
  const s = setupBaseSender(ephemeral, recipientPublicKey, info)
  try {
    // §5.2 ComputeNonce(seq = 0) = base_nonce XOR I2OSP(0, Nn) = base_nonce.
    const cipher = createCipheriv('chacha20-poly1305', createSecretKey(s.key), s.baseNonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(aad, { plaintextLength: plaintext.length })
    const out = new Uint8Array(ENC_BYTES + plaintext.length + TAG_BYTES)
    out.set(s.enc, 0)
    const body = cipher.update(plaintext)
    const tail = cipher.final()
    out.set(body, ENC_BYTES)
    out.set(tail, ENC_BYTES + body.length)
    out.set(cipher.getAuthTag(), ENC_BYTES + plaintext.length)
    return out
  } finally {
    wipe(s.sharedSecret, s.key, s.baseNonce)
  }
}

/**
 * Seal `plaintext` to `recipientPublicKey` (RFC 9180 §6.1 SealBase with a
 * fresh ephemeral key).
 *
 * @param recipientPublicKey raw 32-byte X25519 public key of the recipient
 * @param plaintext bytes to seal
 * @param info HPKE `info`, binding the context (e.g. a tag from `tags.ts`)
 * @param aad associated data authenticated but not encrypted
 * @returns `enc (32) || ciphertext || tag (16)`
 * @throws {TypeError|RangeError} on a malformed argument
 * @throws {DecodeError} ERR_DECODE when `recipientPublicKey` is a low-order point
 * @example const sealed = seal(enclave.publicKey, share, utf8(AEAD.HPKE_SHARE_SEAL), requestId)
 */
export function seal (recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  return sealWith(generateSealKeyPair(), recipientPublicKey, plaintext, info, aad)
}

/**
 * Open a message made by {@link seal} (RFC 9180 §6.1 OpenBase). Every
 * failure after the length check — wrong key, info or aad, tampering, a
 * low-order `enc` — is the same {@link DecryptError}, so the error says
 * nothing about which part was wrong.
 *
 * @param recipient the recipient's key pair
 * @param sealed `enc || ciphertext || tag`
 * @param info the `info` used to seal
 * @param aad the associated data used to seal
 * @returns the plaintext (a secret: the caller wipes it)
 * @throws {TypeError|RangeError} on a malformed argument
 * @throws {DecodeError} ERR_DECODE when `sealed` is shorter than {@link SEALED_MIN_BYTES}
 * @throws {DecryptError} ERR_DECRYPT when authentication fails
 * @example const share = open(enclaveKey, sealed, utf8(AEAD.HPKE_SHARE_SEAL), requestId)
 */
export function open (recipient: SealKeyPair, sealed: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  if (typeof recipient !== 'object' || recipient === null || !isX25519Private(recipient.privateKey)) {
    throw new TypeError('recipient must be a SealKeyPair with an X25519 private key')
  }
  const pkR = abytes(recipient.publicKey, SEAL_PUBLIC_KEY_BYTES, 'recipient.publicKey')
  const bytes = abytes(sealed, undefined, 'sealed')
  abytes(info, undefined, 'info')
  abytes(aad, undefined, 'aad')
  if (bytes.length < SEALED_MIN_BYTES) throw new DecodeError(`sealed message is ${bytes.length} bytes, shorter than ${SEALED_MIN_BYTES}`)
  const enc = bytes.subarray(0, ENC_BYTES)

  // §4.1 Decap: pkE = DeserializePublicKey(enc); every 32-byte string is an
  // X25519 u-coordinate, so only the DH output can be invalid.
  let pkE: KeyObject
  try {
    pkE = importPublicKey(enc)
  } catch {
    throw new DecryptError('sealed message')
  }
  const dhOut = dh(recipient.privateKey, pkE)
  if (dhOut === null) throw new DecryptError('sealed message')
  const sharedSecret = extractAndExpand(dhOut, concat(enc, pkR))
  wipe(dhOut)
  const { key, baseNonce } = keySchedule(sharedSecret, info)
  wipe(sharedSecret)
  // Decrypted by @noble/ciphers straight into a buffer of ours: node:crypto's
  // decipher copies its output into a right-sized buffer and frees the first
  // one unwiped, leaving plaintext in the heap after the caller wipes its copy.
  const out = new Uint8Array(bytes.length - ENC_BYTES - TAG_BYTES)
  try {
    chacha20poly1305(key, baseNonce, aad).decrypt(bytes.subarray(ENC_BYTES), out)
    return out
  } catch {
    wipe(out)
    throw new DecryptError('sealed message')
  } finally {
    wipe(key, baseNonce)
  }
}

/**
 * Seal with a caller-chosen ephemeral private key — for RFC 9180 test vectors
 * only. Reusing an ephemeral key across messages breaks HPKE's security; use
 * {@link seal}.
 *
 * @param ephemeralSecret 32-byte raw X25519 private key (skEm)
 * @returns `enc || ciphertext || tag`, as {@link seal}
 * @throws as {@link seal}
 * @example sealWithEphemeralForTesting(skEm, pkRm, pt, info, aad)
 */
export function sealWithEphemeralForTesting (ephemeralSecret: Uint8Array, recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  return sealWith(sealKeyPairFromSecret(ephemeralSecret), recipientPublicKey, plaintext, info, aad)
}

/**
 * The sender's setup (RFC 9180 §5.1.1 SetupBaseS) with a chosen ephemeral
 * key, returning `enc`, `shared_secret`, `key` and `base_nonce` — for test
 * vectors only. The returned secrets are the caller's to wipe.
 *
 * @throws as {@link seal}
 * @example const { sharedSecret } = setupBaseSenderForTesting(skEm, pkRm, info)
 */
export function setupBaseSenderForTesting (ephemeralSecret: Uint8Array, recipientPublicKey: Uint8Array, info: Uint8Array): SenderSetupForTesting {
  abytes(recipientPublicKey, SEAL_PUBLIC_KEY_BYTES, 'recipientPublicKey')
  abytes(info, undefined, 'info')
  return setupBaseSender(sealKeyPairFromSecret(ephemeralSecret), recipientPublicKey, info)
}
