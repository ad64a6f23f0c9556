/**
 * The template envelope: AES-256-GCM under a fresh random data key, with
 * associated data binding the template id, modality and model id, so a
 * ciphertext cannot be replayed under another enrolment or model. With key
 * custody "network" the data key travels inside the secret that is split
 * ({@link encryptTemplate}); with custody "tenant" the tenant keeps it and
 * only the sealed part is split ({@link encryptTemplateWithKey}).
 *
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js'
import { createCipheriv, createSecretKey, randomFillSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { abytes, concat, randomBytes } from './bytes.ts'
import { encodeCanonical } from './canonical.ts'
import { BioshardError, DecodeError, DecryptError } from '../errors.ts'
import { AEAD } from './tags.ts'
import { TEMPLATE_ID_BYTES } from './constants.ts'

/** Biometric modality of a template. */
export type Modality = 'face' | 'voice'

/** Every accepted {@link Modality}, for decoders. */
export const MODALITIES: readonly Modality[] = ['face', 'voice']

/** What the envelope's associated data binds. */
export interface TemplateContext {
  /** 32 random bytes */
  templateId: Uint8Array
  modality: Modality
  /** model id, 1..128 characters */
  model: string
}

/** Version byte of the envelope format. */
export const ENVELOPE_VERSION = 1
/** AES-256 key length. */
export const DATA_KEY_BYTES = 32
/** GCM nonce length (the 96-bit length GCM is designed for). */
export const NONCE_BYTES = 12
/** GCM tag length; shorter tags are never accepted. */
export const TAG_BYTES = 16
/** Longest accepted model id, in characters. */
export const MAX_MODEL_CHARS = 128

const CIPHER = 'aes-256-gcm'
const KEY_OFFSET = 1
const NONCE_OFFSET = KEY_OFFSET + DATA_KEY_BYTES
const SEALED_OFFSET = NONCE_OFFSET

/**
 * Bytes an envelope adds to a template: version, data key, nonce and tag.
 *
 * @returns 61
 * @example encryptTemplate(t, ctx).length === t.length + envelopeOverhead()
 */
export function envelopeOverhead (): number {
  return 1 + DATA_KEY_BYTES + NONCE_BYTES + TAG_BYTES
}

/** Views into an envelope (no copies: wiping the envelope wipes them). */
export interface EnvelopeParts {
  version: number
  dataKey: Uint8Array
  /** `nonce || ciphertext || tag`: what custody "tenant" splits */
  sealed: Uint8Array
  nonce: Uint8Array
  /** ciphertext without the tag */
  ciphertext: Uint8Array
  tag: Uint8Array
}

function actx (ctx: unknown): TemplateContext {
  if (ctx === null || typeof ctx !== 'object') throw new TypeError('ctx must be a TemplateContext {templateId, modality, model}')
  const c = ctx as TemplateContext
  abytes(c.templateId, TEMPLATE_ID_BYTES, 'ctx.templateId')
  if (typeof c.modality !== 'string') throw new TypeError('ctx.modality must be a string')
  if (!MODALITIES.includes(c.modality)) throw new RangeError(`ctx.modality must be one of ${MODALITIES.join(', ')}`)
  if (typeof c.model !== 'string') throw new TypeError('ctx.model must be a string')
  if (c.model.length < 1 || c.model.length > MAX_MODEL_CHARS) throw new RangeError(`ctx.model must be 1..${MAX_MODEL_CHARS} characters, got ${c.model.length}`)
  return c
}

function atemplate (template: unknown): Uint8Array {
  const t = abytes(template, undefined, 'template')
  if (t.length === 0) throw new RangeError('template must not be empty')
  return t
}

/**
 * AAD = canonical CBOR of `{tag: AEAD.TEMPLATE, templateId, modality, model, v}`.
 * A random 96-bit nonce is safe because every data key encrypts one template
 * only (NIST SP 800-38D §8.2.2 bounds apply per key).
 */
function aad (ctx: TemplateContext, version: number): Uint8Array {
  return encodeCanonical({ tag: AEAD.TEMPLATE, templateId: ctx.templateId, modality: ctx.modality, model: ctx.model, v: version })
}

/**
 * Encrypt into `out` at `offset`: nonce(12) is already there; writes ciphertext || tag after it.
 * Encryption (node:crypto) takes the AES key as a `KeyObject`, much cheaper per
 * cipher than a raw key; its copy lives in native memory that JavaScript cannot
 * wipe and is released with the object. Decryption, in the enclave where the
 * template must not outlive the match, uses `@noble/ciphers` instead (see `open`).
 */
function sealInto (key: KeyObject, template: Uint8Array, ctx: TemplateContext, at: { out: Uint8Array, offset: number }): void {
  const { out, offset } = at
  const nonce = out.subarray(offset, offset + NONCE_BYTES)
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad(ctx, ENVELOPE_VERSION))
  const ct = cipher.update(template)
  const fin = cipher.final() // empty for GCM; kept for completeness
  out.set(ct, offset + NONCE_BYTES)
  out.set(fin, offset + NONCE_BYTES + ct.length)
  out.set(cipher.getAuthTag(), offset + NONCE_BYTES + ct.length + fin.length)
}

/**
 * Decrypt `nonce || ciphertext || tag`; the returned buffer is owned by the
 * caller. Decrypted by `@noble/ciphers`, whose output is the only copy of the
 * plaintext: node:crypto's decipher copies its output into a right-sized
 * buffer and frees the first one unwiped, so the template would outlive the
 * caller's wipe in freed memory (test/crypto/secret-residue.test.ts).
 */
function open (key: Uint8Array, sealed: Uint8Array, ctx: TemplateContext, version: number): Uint8Array {
  const nonce = sealed.subarray(0, NONCE_BYTES)
  try {
    return gcm(key, nonce, aad(ctx, version)).decrypt(sealed.subarray(NONCE_BYTES))
  } catch {
    throw new DecryptError('template envelope')
  }
}

/**
 * Encrypt a template under a fresh random data key.
 *
 * Layout of the secret that is split (key custody "network"):
 *
 *     version(1) || dataKey(32) || nonce(12) || ciphertext || tag(16)
 *
 * @param template - the template bytes (e.g. a float32 embedding); not modified
 * @param ctx - template id, modality and model bound as associated data
 * @returns the secret to split: `version(1) || dataKey(32) || nonce(12) || ciphertext || tag(16)` (wipe after splitting)
 * @throws {TypeError}/{RangeError} naming `template` or the `ctx` field at fault
 * @example const secret = encryptTemplate(embedding, { templateId, modality: 'face', model: 'arcface-r100' })
 */
export function encryptTemplate (template: Uint8Array, ctx: TemplateContext): Uint8Array {
  const t = atemplate(template)
  actx(ctx)
  const out = new Uint8Array(envelopeOverhead() + t.length)
  out[0] = ENVELOPE_VERSION
  // key and nonce are drawn straight into the output: no other copy of the key to wipe
  const dataKey = randomFillSync(out.subarray(KEY_OFFSET, KEY_OFFSET + DATA_KEY_BYTES))
  randomFillSync(out.subarray(NONCE_OFFSET, NONCE_OFFSET + NONCE_BYTES))
  sealInto(createSecretKey(dataKey), t, ctx, { out, offset: SEALED_OFFSET })
  return out
}

/**
 * Verify and decrypt an envelope made by {@link encryptTemplate}.
 *
 * @param secret - the envelope (e.g. from `combineShares`); not modified
 * @param ctx - the same template id, modality and model used to encrypt
 * @returns the template, a fresh buffer independent of `secret` (wipe it after use)
 * @throws {DecryptError} ERR_DECRYPT when the key, nonce, ciphertext, tag or any context field differs
 * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for an unknown version byte
 * @throws {DecodeError} ERR_DECODE when shorter than a one-byte template's envelope
 * @throws {TypeError}/{RangeError} naming `secret` or the `ctx` field at fault
 * @example const template = decryptTemplate(await combineShares(shares), ctx)
 */
export function decryptTemplate (secret: Uint8Array, ctx: TemplateContext): Uint8Array {
  const s = abytes(secret, undefined, 'secret')
  actx(ctx)
  if (s.length === 0) throw new DecodeError('template envelope is empty')
  if (s[0] !== ENVELOPE_VERSION) {
    throw new BioshardError('ERR_UNSUPPORTED_VERSION', `template envelope version ${s[0]} is not supported (expected ${ENVELOPE_VERSION})`)
  }
  if (s.length < envelopeOverhead() + 1) throw new DecodeError(`template envelope is ${s.length} bytes, at least ${envelopeOverhead() + 1} expected`)
  return open(s.subarray(KEY_OFFSET, KEY_OFFSET + DATA_KEY_BYTES), s.subarray(SEALED_OFFSET), ctx, s[0])
}

/**
 * Fresh random data key for custody "tenant".
 *
 * @returns 32 random bytes (the caller keeps and eventually wipes them)
 * @example const dataKey = newDataKey()
 */
export function newDataKey (): Uint8Array {
  return randomBytes(DATA_KEY_BYTES)
}

/**
 * Encrypt under a data key the caller keeps (custody "tenant"). The same AAD
 * as {@link encryptTemplate} (version {@link ENVELOPE_VERSION}) is bound.
 *
 * @param template - the template bytes; not modified
 * @param ctx - template id, modality and model bound as associated data
 * @param dataKey - 32-byte AES key; never reuse one for two templates; not modified
 * @returns `nonce(12) || ciphertext || tag(16)`, the part to split
 * @throws {TypeError}/{RangeError} naming `template`, `dataKey` or the `ctx` field at fault
 * @example const sealed = encryptTemplateWithKey(embedding, ctx, dataKey)
 */
export function encryptTemplateWithKey (template: Uint8Array, ctx: TemplateContext, dataKey: Uint8Array): Uint8Array {
  const t = atemplate(template)
  actx(ctx)
  const k = abytes(dataKey, DATA_KEY_BYTES, 'dataKey')
  const out = new Uint8Array(NONCE_BYTES + t.length + TAG_BYTES)
  randomFillSync(out.subarray(0, NONCE_BYTES))
  sealInto(createSecretKey(k), t, ctx, { out, offset: 0 })
  return out
}

/**
 * Verify and decrypt `nonce || ciphertext || tag` under a caller-held data key.
 *
 * @param sealed - output of {@link encryptTemplateWithKey}; not modified
 * @param ctx - the same context used to encrypt
 * @param dataKey - the 32-byte key; not modified
 * @returns the template, a fresh buffer (wipe it after use)
 * @throws {DecryptError} ERR_DECRYPT on any mismatch; {DecodeError} ERR_DECODE when too short
 * @throws {TypeError}/{RangeError} naming the malformed argument
 * @example const template = decryptTemplateWithKey(await combineShares(shares), ctx, dataKey)
 */
export function decryptTemplateWithKey (sealed: Uint8Array, ctx: TemplateContext, dataKey: Uint8Array): Uint8Array {
  const s = abytes(sealed, undefined, 'sealed')
  actx(ctx)
  const k = abytes(dataKey, DATA_KEY_BYTES, 'dataKey')
  if (s.length < NONCE_BYTES + TAG_BYTES + 1) throw new DecodeError(`sealed template is ${s.length} bytes, at least ${NONCE_BYTES + TAG_BYTES + 1} expected`)
  return open(k, s, ctx, ENVELOPE_VERSION)
}

/**
 * Views into an envelope's parts, e.g. to move from custody "network" to
 * "tenant" (keep `dataKey`, split `sealed`). No bytes are copied.
 *
 * @param secret - an envelope from {@link encryptTemplate}
 * @returns views sharing memory with `secret`
 * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for an unknown version; {DecodeError} when too short
 * @throws {TypeError} when `secret` is not a Uint8Array
 * @example const { dataKey, sealed } = splitEnvelope(secret)
 */
export function splitEnvelope (secret: Uint8Array): EnvelopeParts {
  const s = abytes(secret, undefined, 'secret')
  if (s.length === 0) throw new DecodeError('template envelope is empty')
  if (s[0] !== ENVELOPE_VERSION) {
    throw new BioshardError('ERR_UNSUPPORTED_VERSION', `template envelope version ${s[0]} is not supported (expected ${ENVELOPE_VERSION})`)
  }
  if (s.length < envelopeOverhead() + 1) throw new DecodeError(`template envelope is ${s.length} bytes, at least ${envelopeOverhead() + 1} expected`)
  const sealed = s.subarray(SEALED_OFFSET)
  return {
    version: s[0],
    dataKey: s.subarray(KEY_OFFSET, KEY_OFFSET + DATA_KEY_BYTES),
    sealed,
    nonce: sealed.subarray(0, NONCE_BYTES),
    ciphertext: sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES),
    tag: sealed.subarray(sealed.length - TAG_BYTES)
  }
}

/**
 * Inverse of {@link splitEnvelope}: `version || dataKey || sealed`.
 *
 * @param dataKey - 32-byte data key; not modified
 * @param sealed - `nonce || ciphertext || tag`; not modified
 * @returns a fresh envelope for {@link decryptTemplate} (holds the key: wipe it after use)
 * @throws {TypeError}/{RangeError} naming `dataKey` or `sealed`
 * @example decryptTemplate(joinEnvelope(dataKey, sealed), ctx)
 */
export function joinEnvelope (dataKey: Uint8Array, sealed: Uint8Array): Uint8Array {
  const k = abytes(dataKey, DATA_KEY_BYTES, 'dataKey')
  const s = abytes(sealed, undefined, 'sealed')
  if (s.length < NONCE_BYTES + TAG_BYTES + 1) throw new RangeError(`sealed must be at least ${NONCE_BYTES + TAG_BYTES + 1} bytes, got ${s.length}`)
  return concat(Uint8Array.of(ENVELOPE_VERSION), k, s)
}
