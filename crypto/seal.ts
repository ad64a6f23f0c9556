/**
 * Per-share sealing: how a holder seals a share to an enclave key, built on
 * HPKE (`hpke.ts`, RFC 9180 base mode) through its secret-export interface
 * (§5.3), so one key encapsulation serves many shares. Each message draws a
 * random salt and is encrypted under its own key `Export(salt || info, 32)`
 * with a zero nonce; `info` names the share, `aad` is its seal binding.
 * docs/protocol.md "Per-share sealing" specifies the construction.
 *
 * Wire format: `enc (32) || salt (16) || ciphertext || tag (16)`.
 *
 * @module
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { createCipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto'
import { abytes, aint, concat, equalBytes, utf8, wipe } from './bytes.ts'
import { DecodeError, DecryptError } from '../errors.ts'
import { AEAD } from './tags.ts'
import { setBounded } from './bounded-map.ts'
import {
  N_ENC, N_K, N_N, N_PK, N_SK, N_T, deserializePrivateKey, exportSecret, generateKeyPair, setupBaseR, setupBaseS,
  type KemKeyPair, type KeySchedule
} from './hpke.ts'

/** Raw X25519 public key length (RFC 9180 Npk). */
export const SEAL_PUBLIC_KEY_BYTES = N_PK
/** Raw X25519 private key length (RFC 9180 Nsk). */
export const SEAL_SECRET_KEY_BYTES = N_SK
/** Encapsulated key length (RFC 9180 Nenc), the prefix of every sealed message. */
export const ENC_BYTES = N_ENC
/** Poly1305 tag length (RFC 9180 Nt). */
export const TAG_BYTES = N_T
/** Random salt per message, the exporter context's prefix: every message key is distinct (128 bits: no collision in 2^64 messages). */
export const SALT_BYTES = 16
/** Shortest possible sealed message: enc, salt and tag around an empty plaintext. */
export const SEALED_MIN_BYTES = ENC_BYTES + SALT_BYTES + TAG_BYTES
/** A sender's HPKE context serves at most this many messages… */
export const SENDER_MAX_MESSAGES = 100_000
/** …and at most this long (ms), before the next message encapsulates a fresh key. */
export const SENDER_MAX_AGE_MS = 60_000
/** Recipients a {@link Sealer} keeps a context for by default: more enclaves than one holder serves at once. */
export const SEALER_MAX_RECIPIENTS = 1024
/** Senders an {@link Opener} remembers by default: more holders than one enclave fetches from within a context's lifetime. */
export const OPENER_MAX_SENDERS = 256

/** RFC 9180 setup `info` of every sender context: the context is not tied to one share. */
const SETUP_INFO = utf8(AEAD.HPKE_SEAL_CONTEXT)
// Every message key seals exactly one message (its salt is random), so the nonce can be fixed.
const ZERO_NONCE = new Uint8Array(N_N)

/** An X25519 key pair: the raw public key to publish, the private key as a KeyObject. */
export type SealKeyPair = KemKeyPair

/**
 * Generate a fresh X25519 key pair (an enclave's ephemeral key).
 *
 * @returns the raw 32-byte public key and the private KeyObject
 * @example const enclaveKey = generateSealKeyPair()
 */
export function generateSealKeyPair (): SealKeyPair {
  return generateKeyPair()
}

/**
 * Import an X25519 key pair from a raw 32-byte private key. The caller still
 * owns and should wipe `secret`.
 *
 * @param secret 32-byte raw private key
 * @returns the key pair
 * @throws {TypeError|RangeError} naming `secret` when it is not 32 bytes
 * @example const pair = sealKeyPairFromSecret(randomBytes(32))
 */
export function sealKeyPairFromSecret (secret: Uint8Array): SealKeyPair {
  abytes(secret, SEAL_SECRET_KEY_BYTES, 'secret')
  return deserializePrivateKey(secret)
}

/** The recipient argument of {@link open} and {@link Opener}, checked. */
function checkRecipient (recipient: SealKeyPair): SealKeyPair {
  const k = (recipient as Partial<SealKeyPair> | null)?.privateKey as KeyObject | undefined
  if (typeof k !== 'object' || k === null || k.type !== 'private' || k.asymmetricKeyType !== 'x25519') {
    throw new TypeError('recipient must be a SealKeyPair with an X25519 private key')
  }
  abytes(recipient.publicKey, SEAL_PUBLIC_KEY_BYTES, 'recipient.publicKey')
  return recipient
}

/** The sealed message's parts a sender or a recipient knows: `enc` and the context's exporter secret. */
interface ExporterContext { readonly enc: Uint8Array, readonly exporter: KeyObject | Uint8Array }

/** One message: its plaintext (or sealed bytes), info and aad. */
interface Message { readonly bytes: Uint8Array, readonly info: Uint8Array, readonly aad: Uint8Array }

/** A setup's exporter secret as a KeyObject (cheap HMAC keying); every other secret of the setup is wiped. */
function keepExporter (s: KeySchedule): KeyObject {
  const exporter = createSecretKey(s.exporterSecret)
  wipe(s.key, s.baseNonce, s.exporterSecret)
  return exporter
}

/** The message key: `Export(salt || info, Nk)` (RFC 9180 §5.3). */
function messageKey (exporter: KeyObject | Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  return exportSecret(exporter, concat(salt, info), N_K)
}

/** `enc || salt || ChaCha20-Poly1305(key, 0, aad, plaintext) || tag` under a fresh salt. */
function sealWith (context: ExporterContext, m: Message): Uint8Array {
  const out = new Uint8Array(ENC_BYTES + SALT_BYTES + m.bytes.length + TAG_BYTES)
  out.set(context.enc, 0)
  const salt = out.subarray(ENC_BYTES, ENC_BYTES + SALT_BYTES)
  randomFillSync(salt)
  const key = messageKey(context.exporter, salt, m.info)
  try {
    const cipher = createCipheriv('chacha20-poly1305', createSecretKey(key), ZERO_NONCE, { authTagLength: TAG_BYTES })
    cipher.setAAD(m.aad, { plaintextLength: m.bytes.length })
    const at = ENC_BYTES + SALT_BYTES
    const body = cipher.update(m.bytes)
    out.set(body, at)
    out.set(cipher.final(), at + body.length)
    out.set(cipher.getAuthTag(), at + m.bytes.length)
    return out
  } finally {
    wipe(key)
  }
}

/**
 * Decrypt `m.bytes` (a whole sealed message) under `exporter`. Decrypted by
 * `@noble/ciphers` straight into a buffer of ours: node:crypto's decipher
 * copies its output and frees the first buffer unwiped.
 */
function openWith (exporter: KeyObject | Uint8Array, m: Message): Uint8Array {
  const key = messageKey(exporter, m.bytes.subarray(ENC_BYTES, ENC_BYTES + SALT_BYTES), m.info)
  const out = new Uint8Array(m.bytes.length - SEALED_MIN_BYTES)
  try {
    chacha20poly1305(key, ZERO_NONCE, m.aad).decrypt(m.bytes.subarray(ENC_BYTES + SALT_BYTES), out)
  } catch {
    wipe(out)
    throw new DecryptError('sealed message')
  } finally {
    wipe(key)
  }
  return out
}

/** Argument checks shared by every seal entry point. */
function checkSealArgs (recipientPublicKey: Uint8Array, m: Message): void {
  abytes(recipientPublicKey, SEAL_PUBLIC_KEY_BYTES, 'recipientPublicKey')
  abytes(m.bytes, undefined, 'plaintext')
  abytes(m.info, undefined, 'info')
  abytes(m.aad, undefined, 'aad')
}

/** Argument checks shared by every open entry point; returns the sealed bytes. */
function checkOpenArgs (m: Message): Uint8Array {
  const bytes = abytes(m.bytes, undefined, 'sealed')
  abytes(m.info, undefined, 'info')
  abytes(m.aad, undefined, 'aad')
  if (bytes.length < SEALED_MIN_BYTES) throw new DecodeError(`sealed message is ${bytes.length} bytes, shorter than ${SEALED_MIN_BYTES}`)
  return bytes
}

/** RFC 9180 SetupBaseR for a sealed message's `enc`; every failure is the one {@link DecryptError}. */
function recipientExporter (recipient: SealKeyPair, enc: Uint8Array): KeyObject {
  try {
    return keepExporter(setupBaseR(enc, recipient, SETUP_INFO))
  } catch {
    throw new DecryptError('sealed message')
  }
}

interface SenderContext extends ExporterContext { readonly exporter: KeyObject, readonly expires: number, left: number }

/** Limits of a {@link Sealer}'s contexts. */
export interface SealerOptions {
  /** messages per context (default {@link SENDER_MAX_MESSAGES}) */
  maxMessages?: number
  /** a context's lifetime in ms (default {@link SENDER_MAX_AGE_MS}) */
  maxAgeMs?: number
  /** recipients remembered at once; the oldest context is dropped first (default {@link SEALER_MAX_RECIPIENTS}) */
  maxRecipients?: number
  /** clock, ms (default `Date.now`) */
  now?: () => number
}

/**
 * The sending side: seals messages to recipient keys, one HPKE context per
 * recipient, renewed after {@link SealerOptions.maxMessages} messages or
 * {@link SealerOptions.maxAgeMs}. Its owner (a holder node) keeps one for its
 * life; each context's exporter secret opens what was sealed under it, so it
 * lives no longer than a context and {@link Sealer.clear} drops them all.
 *
 * @example
 * const sealer = new Sealer()
 * const sealed = sealer.seal(enclaveKey, share, shareSealInfo(templateId, x), binding)
 */
export class Sealer {
  readonly #contexts = new Map<string, SenderContext>()
  readonly #maxMessages: number
  readonly #maxAgeMs: number
  readonly #maxRecipients: number
  readonly #now: () => number

  constructor (options: SealerOptions = {}) {
    this.#maxMessages = aint(options.maxMessages ?? SENDER_MAX_MESSAGES, 1, Number.MAX_SAFE_INTEGER, 'maxMessages')
    this.#maxAgeMs = aint(options.maxAgeMs ?? SENDER_MAX_AGE_MS, 1, Number.MAX_SAFE_INTEGER, 'maxAgeMs')
    this.#maxRecipients = aint(options.maxRecipients ?? SEALER_MAX_RECIPIENTS, 1, Number.MAX_SAFE_INTEGER, 'maxRecipients')
    this.#now = options.now ?? Date.now
  }

  /**
   * Seal `plaintext` to `recipientPublicKey`.
   *
   * @param recipientPublicKey raw 32-byte X25519 public key of the recipient
   * @param plaintext bytes to seal
   * @param info binds the context of this message (which share of which template)
   * @param aad associated data authenticated but not encrypted
   * @returns `enc (32) || salt (16) || ciphertext || tag (16)`
   * @throws {TypeError|RangeError} on a malformed argument
   * @throws {DecodeError} ERR_DECODE when `recipientPublicKey` is a low-order point
   */
  seal (recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
    const m = { bytes: plaintext, info, aad }
    checkSealArgs(recipientPublicKey, m)
    return sealWith(this.#context(recipientPublicKey), m)
  }

  /** Forget every context: the next message to each recipient encapsulates a fresh key. */
  clear (): void { this.#contexts.clear() }

  #context (recipientPublicKey: Uint8Array): SenderContext {
    const id = Buffer.from(recipientPublicKey).toString('base64')
    const now = this.#now()
    let context = this.#contexts.get(id)
    if (context !== undefined && (context.left <= 0 || now >= context.expires)) {
      this.#contexts.delete(id)
      context = undefined
    }
    if (context === undefined) {
      const s = setupBaseS(recipientPublicKey, SETUP_INFO)
      context = { enc: s.enc, exporter: keepExporter(s), expires: now + this.#maxAgeMs, left: this.#maxMessages }
      setBounded(this.#contexts, id, context, this.#maxRecipients)
    }
    context.left--
    return context
  }
}

/** Limits of an {@link Opener}'s memory of senders. */
export interface OpenerOptions {
  /** senders' contexts remembered at once; the oldest is dropped first (default {@link OPENER_MAX_SENDERS}) */
  maxSenders?: number
  /** how long one is remembered, ms (default twice {@link SENDER_MAX_AGE_MS}) */
  maxAgeMs?: number
  /** clock, ms (default `Date.now`) */
  now?: () => number
}

/**
 * The receiving side for one key pair: opens what {@link Sealer} sealed to
 * it, remembering the exporter secret of each `enc` that opened a message
 * (never of one that did not), so a sender's later messages cost no X25519.
 * Its owner (the enclave child) keeps one for its key pair's life;
 * {@link Opener.clear} drops every remembered secret.
 *
 * @example
 * const opener = new Opener(enclaveKey)
 * const share = opener.open(sealed, shareSealInfo(templateId, x), binding)
 */
export class Opener {
  readonly #recipient: SealKeyPair
  readonly #senders = new Map<string, { exporter: KeyObject, expires: number }>()
  readonly #maxSenders: number
  readonly #maxAgeMs: number
  readonly #now: () => number

  /**
   * @param recipient the recipient's key pair
   * @throws {TypeError|RangeError} when it is not an X25519 key pair
   */
  constructor (recipient: SealKeyPair, options: OpenerOptions = {}) {
    const checked = checkRecipient(recipient)
    this.#recipient = { privateKey: checked.privateKey, publicKey: checked.publicKey.slice() }
    this.#maxSenders = aint(options.maxSenders ?? OPENER_MAX_SENDERS, 1, Number.MAX_SAFE_INTEGER, 'maxSenders')
    this.#maxAgeMs = aint(options.maxAgeMs ?? 2 * SENDER_MAX_AGE_MS, 1, Number.MAX_SAFE_INTEGER, 'maxAgeMs')
    this.#now = options.now ?? Date.now
  }

  /** Whether this opener is for the key pair whose public key is `publicKey`. */
  isFor (publicKey: Uint8Array): boolean { return equalBytes(this.#recipient.publicKey, publicKey) }

  /** Senders' contexts remembered now. */
  get senders (): number { return this.#senders.size }

  /**
   * Open a message made by {@link Sealer.seal}. Every failure after the
   * length check — wrong key, info or aad, tampering, a low-order `enc` —
   * is the same {@link DecryptError}, so the error says nothing about which
   * part was wrong.
   *
   * @param sealed `enc || salt || ciphertext || tag`
   * @param info the `info` used to seal
   * @param aad the associated data used to seal
   * @returns the plaintext (a secret: the caller wipes it)
   * @throws {TypeError|RangeError} on a malformed argument
   * @throws {DecodeError} ERR_DECODE when `sealed` is shorter than {@link SEALED_MIN_BYTES}
   * @throws {DecryptError} ERR_DECRYPT when authentication fails
   */
  open (sealed: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
    const m = { bytes: sealed, info, aad }
    const bytes = checkOpenArgs(m)
    const enc = bytes.subarray(0, ENC_BYTES)
    const id = Buffer.from(enc).toString('base64')
    const now = this.#now()
    const known = this.#senders.get(id)
    const exporter = known !== undefined && now < known.expires ? known.exporter : recipientExporter(this.#recipient, enc)
    const out = openWith(exporter, m)
    if (known?.exporter !== exporter) setBounded(this.#senders, id, { exporter, expires: now + this.#maxAgeMs }, this.#maxSenders)
    return out
  }

  /** Forget every sender's context. */
  clear (): void { this.#senders.clear() }
}

/**
 * Seal one message under a fresh context (one X25519 key generation and
 * agreement); nothing is kept. A holder sealing many shares uses a
 * {@link Sealer}.
 *
 * @returns `enc (32) || salt (16) || ciphertext || tag (16)`
 * @throws as {@link Sealer.seal}
 * @example const sealed = seal(enclave.publicKey, share, shareSealInfo(templateId, x), binding)
 */
export function seal (recipientPublicKey: Uint8Array, plaintext: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  const m = { bytes: plaintext, info, aad }
  checkSealArgs(recipientPublicKey, m)
  const s = setupBaseS(recipientPublicKey, SETUP_INFO)
  try {
    return sealWith({ enc: s.enc, exporter: s.exporterSecret }, m)
  } finally {
    wipe(s.key, s.baseNonce, s.exporterSecret)
  }
}

/**
 * Open one message made by {@link seal} or a {@link Sealer}, remembering
 * nothing; a recipient opening many uses an {@link Opener}.
 *
 * @param recipient the recipient's key pair
 * @returns the plaintext (a secret: the caller wipes it)
 * @throws as {@link Opener.open}
 * @example const share = open(enclaveKey, sealed, shareSealInfo(templateId, x), binding)
 */
export function open (recipient: SealKeyPair, sealed: Uint8Array, info: Uint8Array, aad: Uint8Array): Uint8Array {
  checkRecipient(recipient)
  const m = { bytes: sealed, info, aad }
  const bytes = checkOpenArgs(m)
  let s: KeySchedule
  try {
    s = setupBaseR(bytes.subarray(0, ENC_BYTES), recipient, SETUP_INFO)
  } catch {
    throw new DecryptError('sealed message')
  }
  try {
    return openWith(s.exporterSecret, m)
  } finally {
    wipe(s.key, s.baseNonce, s.exporterSecret)
  }
}
