/**
 * Ed25519 (RFC 8032) signatures over canonical bytes, always prefixed by a
 * domain-separation tag from `tags.ts`, so a signature made for one message
 * type can never be replayed as another. node:crypto does the work (several
 * times faster than pure JavaScript); @noble/curves checks it in the tests.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { abytes, concat, plain, utf8, u32be, wipe } from './bytes.ts'
import { PublicKeyCache } from './key-cache.ts'
import { SignatureError } from '../errors.ts'
import type { SigTag } from './tags.ts'

/** Raw Ed25519 public key length. */
export const PUBLIC_KEY_BYTES = 32
/** Raw Ed25519 private key (seed) length. */
export const SECRET_KEY_BYTES = 32
/** Ed25519 signature length. */
export const SIGNATURE_BYTES = 64

// DER prefixes that wrap a raw RFC 8032 key as PKCS#8 / SPKI (RFC 8410), the
// only raw-key import node:crypto offers for Ed25519.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

/** An Ed25519 key pair held as KeyObjects (made once) plus the raw public key. */
export interface SigningKey {
  readonly publicKey: Uint8Array
  readonly privateKey: KeyObject
}

/** Verification keys held at once: the authority, tenants, verifiers and nodes of a large network, with room to spare. */
export const VERIFY_KEY_CACHE_MAX = 4096

/**
 * The verification keys {@link verify} has imported, owned by this module for
 * the process's life (every caller verifies against the same few keys, and
 * importing one costs more than a verify). Bounded by
 * {@link VERIFY_KEY_CACHE_MAX}; public keys only, nothing to wipe.
 */
export const verifyKeyCache = new PublicKeyCache({
  max: VERIFY_KEY_CACHE_MAX,
  importKey: (raw) => createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, raw)), format: 'der', type: 'spki' })
})

/**
 * Import a signing key from its 32-byte RFC 8032 seed.
 *
 * @throws {TypeError|RangeError} when `seed` is not 32 bytes
 * @example const key = signingKeyFromSeed(seed)
 */
export function signingKeyFromSeed (seed: Uint8Array): SigningKey {
  abytes(seed, SECRET_KEY_BYTES, 'seed')
  const der = Buffer.from(concat(PKCS8_PREFIX, seed))
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  der.fill(0)
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  return { privateKey, publicKey: plain(Buffer.from(jwk.x as string, 'base64url')) }
}

/** Generate a fresh signing key; returns its seed too, for storing on disk. */
export function generateSigningKey (): { key: SigningKey, seed: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ed25519')
  const seed = plain(Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url'))
  return { key: signingKeyFromSeed(seed), seed }
}

function tagged (tag: SigTag, message: Uint8Array): Uint8Array {
  const t = utf8(tag)
  return concat(u32be(t.length), t, message)
}

/**
 * Sign `message` under the domain-separation `tag`.
 *
 * @returns a 64-byte Ed25519 signature over `len(tag) || tag || message`
 * @example const sig = sign(SIG.MANIFEST, bytes, key)
 */
export function sign (tag: SigTag, message: Uint8Array, key: SigningKey): Uint8Array {
  abytes(message, undefined, 'message')
  const m = tagged(tag, message)
  try {
    return signRaw(m, key)
  } finally {
    // A copy of the message, which may hold a secret (a store request carries a share).
    wipe(m)
  }
}

/**
 * Verify a signature made by {@link sign} with the same tag. Never throws on a
 * bad signature or a malformed key; returns false.
 */
export function verify (tag: SigTag, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false
  const m = tagged(tag, message)
  try {
    return verifyRaw(m, signature, publicKey)
  } finally {
    wipe(m)
  }
}

/** What {@link assertSignature} checks: a signature, the key it must verify under, and what it signs (for the error). */
export interface SignatureCheck {
  signature: Uint8Array
  publicKey: Uint8Array
  what: string
}

/**
 * Verify or throw {@link SignatureError} (`ERR_BAD_SIGNATURE`) naming `check.what`.
 *
 * @example assertSignature(SIG.MANIFEST, bytes, { signature, publicKey: tenant, what: 'manifest' })
 */
export function assertSignature (tag: SigTag, message: Uint8Array, check: SignatureCheck): void {
  if (!verify(tag, message, check.signature, check.publicKey)) throw new SignatureError(check.what)
}

/**
 * RFC 8032 §5.1.6 Ed25519 signing of `message` as is, with no tag: the
 * primitive {@link sign} composes on (and what the RFC vectors pin).
 *
 * @example const sig = signRaw(message, key)
 */
export function signRaw (message: Uint8Array, key: SigningKey): Uint8Array {
  return plain(nodeSign(null, message, key.privateKey))
}

/**
 * RFC 8032 §5.1.7 Ed25519 verification of `message` as is, with no tag: the
 * primitive {@link verify} composes on. Never throws; false on anything malformed.
 *
 * @example verifyRaw(message, sig, publicKey)
 */
export function verifyRaw (message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nodeVerify(null, message, verifyKeyCache.get(publicKey), signature)
  } catch {
    return false
  }
}
