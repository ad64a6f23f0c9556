/**
 * The at-rest formats of one held share (format 2), so that erase can destroy
 * it (docs/architecture.md, "Trust rules": "Erase destroys"): a share record
 * under a random key of that share alone, and that key wrapped under the node
 * storage key ({@link sealShare}). A record moved to another slot or x, or a
 * key moved to another slot, fails to authenticate instead of opening as the
 * wrong share; unwrapped keys live only while one share is sealed or opened.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto'
import { abytes, concat, plain, randomBytes, utf8, wipe } from '../../crypto/bytes.ts'
import { BioshardError, DecryptError } from '../../errors.ts'
import { AEAD } from '../../crypto/tags.ts'

/** The share record and wrapped-key format written by this version. */
export const SHARE_RECORD_VERSION = 2
/** Length of a share's own key (AES-256). */
export const SHARE_KEY_BYTES = 32
// GCM: a 96-bit nonce is the size the spec optimises for (NIST SP 800-38D
// §8.2); random nonces are safe far beyond any one node's share count.
const NONCE_BYTES = 12
const TAG_BYTES = 16
const RECORD_HEADER_BYTES = 2
/** Length of a wrapped share key. */
export const WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + SHARE_KEY_BYTES + TAG_BYTES
const SHARE_AAD = utf8(AEAD.SHARE_AT_REST)
const KEY_AAD = utf8(AEAD.SHARE_KEY_AT_REST)

/** A share sealed for storage: its record, and its own key wrapped under the storage key. */
export interface SealedShare {
  record: Uint8Array
  wrappedKey: Uint8Array
}

/**
 * Seal a share under a fresh key of its own and wrap that key:
 *
 * - share record: `version(1) || x(1) || nonce(12) || ciphertext || tag(16)`,
 *   AES-256-GCM under the share's own key, AAD = utf8(AEAD.SHARE_AT_REST) || slot || [x];
 * - wrapped share key: `version(1) || nonce(12) || ciphertext(32) || tag(16)`,
 *   AES-256-GCM under the node storage key, AAD = utf8(AEAD.SHARE_KEY_AT_REST) || slot.
 *
 * @param storageKey the node storage key
 * @param slot the 64-byte slot the share is stored under
 * @param x the share's x-coordinate
 * @param share the share bytes (not retained)
 * @returns the record and the wrapped key; the unwrapped key is already wiped
 * @example const { record, wrappedKey } = sealShare(storageKey, slot, 3, share)
 */
export function sealShare (storageKey: KeyObject, slot: Uint8Array, x: number, share: Uint8Array): SealedShare {
  const key = randomBytes(SHARE_KEY_BYTES)
  try {
    const record = concat(Uint8Array.of(SHARE_RECORD_VERSION, x), gcmSeal(key, share, concat(SHARE_AAD, slot, Uint8Array.of(x))))
    const wrappedKey = concat(Uint8Array.of(SHARE_RECORD_VERSION), gcmSeal(storageKey, key, concat(KEY_AAD, slot)))
    return { record, wrappedKey }
  } finally {
    wipe(key)
  }
}

/**
 * Unwrap a share's key. The caller wipes it.
 *
 * @throws {DecryptError} when the wrapped key was tampered with, moved, or the storage key is wrong
 * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for an unknown format
 * @example const key = unwrapShareKey(storageKey, slot, wrapped); try { … } finally { wipe(key) }
 */
export function unwrapShareKey (storageKey: KeyObject | Uint8Array, slot: Uint8Array, wrapped: Uint8Array, what = 'share key'): Uint8Array {
  wrapped = abytes(wrapped, undefined, 'wrapped')
  if (wrapped.length !== WRAPPED_KEY_BYTES) throw new DecryptError(what)
  checkVersion(wrapped[0], what)
  return gcmOpen(storageKey, wrapped.subarray(1), concat(KEY_AAD, slot), what)
}

/**
 * Open a share record with the share's unwrapped key.
 *
 * @returns the x-coordinate and share (the caller wipes `share`)
 * @throws {DecryptError} when the record was tampered with, moved or relabelled; never returns wrong bytes
 * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for an unknown format
 */
export function openShareRecord (key: Uint8Array, slot: Uint8Array, record: Uint8Array, what = 'share record'): { x: number, share: Uint8Array } {
  if (record.length < RECORD_HEADER_BYTES + NONCE_BYTES + 1 + TAG_BYTES) throw new DecryptError(what)
  checkVersion(record[0], what)
  const x = record[1]
  return { x, share: gcmOpen(key, record.subarray(RECORD_HEADER_BYTES), concat(SHARE_AAD, slot, Uint8Array.of(x)), what) }
}

function checkVersion (version: number, what: string): void {
  if (version !== SHARE_RECORD_VERSION) {
    throw new BioshardError('ERR_UNSUPPORTED_VERSION', `${what} has format version ${version}, this node reads ${SHARE_RECORD_VERSION}`)
  }
}

/** nonce || ciphertext || tag */
function gcmSeal (key: KeyObject | Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const ct = concat(cipher.update(plaintext), cipher.final())
  return concat(nonce, ct, cipher.getAuthTag())
}

function gcmOpen (key: KeyObject | Uint8Array, sealed: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new DecryptError(what)
  const nonce = sealed.subarray(0, NONCE_BYTES)
  const ct = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
  // GCM releases plaintext before the tag is checked; it is wiped unless final() authenticates.
  const head = decipher.update(ct)
  let tail: Buffer
  try {
    tail = decipher.final()
  } catch {
    wipe(head)
    throw new DecryptError(what)
  }
  if (tail.length === 0) return plain(head)
  const out = concat(head, tail)
  wipe(head, tail)
  return out
}
