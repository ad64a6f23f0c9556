/**
 * Threshold sharing of a template envelope: a thin wrapper over
 * `shamir-secret-sharing` (byte-wise Shamir over GF(2^8)) that adds argument
 * checks naming the argument, a typed share `{x, bytes}`, and per-share
 * commitments so a verifier can tell *which* holder returned a bad share. The
 * library does not check integrity on reconstruction (its README says so):
 * {@link reconstruct} checks every share against its commitment before
 * combining, and the AEAD tag of the envelope checks the result.
 *
 * @module
 */
import { split, combine } from 'shamir-secret-sharing'
import { abytes, aint, equalBytes, wipe } from './bytes.ts'
import { BioshardError } from '../errors.ts'
import { taggedHash } from './hash.ts'
import { HASH } from './tags.ts'
import { TEMPLATE_ID_BYTES } from './constants.ts'

/** One share: its x-coordinate and the y-values, one per secret byte. */
export interface Share {
  /** x-coordinate, 1..255, distinct within one sharing */
  x: number
  /** y-values, same length as the secret */
  bytes: Uint8Array
}

/** Result of {@link reconstruct}. */
export interface Reconstruction {
  /** the combined secret (fresh buffer; wipe it after use) */
  secret: Uint8Array
  /** x-coordinates of the shares that were combined, in input order */
  used: number[]
  /** x-coordinates of shares that failed their commitment or had no commitment */
  bad: number[]
}

/** Fewer shares than the threshold passed their commitments. */
export class NotEnoughSharesError extends BioshardError {
  /** how many distinct shares were good */
  readonly good: number
  /** the threshold that was needed */
  readonly needed: number
  /** x-coordinates of the shares that failed, as in {@link Reconstruction.bad} */
  readonly bad: number[]
  constructor (good: number, needed: number, bad: number[]) {
    super('ERR_NOT_ENOUGH_SHARES', `${good} valid share${good === 1 ? '' : 's'}, ${needed} needed` +
      (bad.length > 0 ? `; bad x: ${bad.join(', ')}` : ''))
    this.name = 'NotEnoughSharesError'
    this.good = good
    this.needed = needed
    this.bad = bad
  }
}

/** Largest share count and threshold the field allows (x in 1..255). */
export const MAX_SHARES = 255

/** Validate a share's shape; returns its bytes as a plain view. */
function ashare (share: unknown, name: string): { x: number, bytes: Uint8Array } {
  if (share === null || typeof share !== 'object') throw new TypeError(`${name} must be a share {x, bytes}`)
  const s = share as Share
  const x = aint(s.x, 1, 255, `${name}.x`)
  const bytes = abytes(s.bytes, undefined, `${name}.bytes`)
  if (bytes.length === 0) throw new RangeError(`${name}.bytes must not be empty`)
  return { x, bytes }
}

/**
 * Split `secret` into `n` shares, any `t` of which reconstruct it.
 *
 * @param secret - the bytes to split (normally an envelope from `encryptTemplate`); not modified
 * @param t - threshold, 2 ≤ t ≤ n
 * @param n - number of shares, t ≤ n ≤ 255
 * @returns `n` shares with distinct random x-coordinates; their buffers are fresh and independent
 * @throws {TypeError} when `secret` is not a Uint8Array or `t`/`n` not integers; {RangeError} for an empty secret or out-of-range `t`/`n`
 * @example const shares = await splitSecret(envelope, 3, 5)
 */
export async function splitSecret (secret: Uint8Array, t: number, n: number): Promise<Share[]> {
  const s = abytes(secret, undefined, 'secret')
  if (s.length === 0) throw new RangeError('secret must not be empty')
  aint(t, 2, MAX_SHARES, 't')
  aint(n, 2, MAX_SHARES, 'n')
  if (t > n) throw new RangeError(`t must not exceed n, got t=${t}, n=${n}`)
  const lib = await split(s, n, t)
  const out = lib.map((l) => shareFromLibrary(l))
  wipe(...lib)
  return out
}

/**
 * Commitment to one share: a tagged hash binding the template id, the
 * x-coordinate and the share bytes, so a share cannot be replayed under
 * another template or x. Published in the manifest; a share is as long as the
 * envelope and uniformly distributed, so the hash cannot be inverted by guessing.
 *
 * @param templateId - 32-byte template id
 * @param share - the share
 * @returns 32 bytes
 * @throws {TypeError}/{RangeError} naming `templateId` or `share` when malformed
 * @example const c = commitShare(templateId, shares[0])
 */
export function commitShare (templateId: Uint8Array, share: Share): Uint8Array {
  const id = abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
  const { x, bytes } = ashare(share, 'share')
  return taggedHash(HASH.SHARE_COMMITMENT, id, Uint8Array.of(x), bytes)
}

/**
 * Whether `share` matches `commitment`, compared in constant time.
 *
 * @param templateId - 32-byte template id
 * @param share - the share to check
 * @param commitment - the 32-byte commitment from the manifest
 * @returns true when the share is the one committed to
 * @throws {TypeError}/{RangeError} naming the malformed argument
 * @example if (!shareMatches(id, share, manifestCommitment)) reportBadHolder()
 */
export function shareMatches (templateId: Uint8Array, share: Share, commitment: Uint8Array): boolean {
  const c = abytes(commitment, 32, 'commitment')
  return equalBytes(commitShare(templateId, share), c)
}

/**
 * Combine shares exactly as the library does (Lagrange interpolation at 0
 * through all given shares). No integrity check: use {@link reconstruct}
 * when commitments are available.
 *
 * @param shares - at least 2, at most 255 shares with distinct x and equal lengths; not modified
 * @returns the secret, a fresh buffer
 * @throws {TypeError} for malformed shares; {RangeError} naming `shares` for too few/many, repeated x or unequal lengths
 * @example const envelope = await combineShares(shares.slice(0, 3))
 */
export async function combineShares (shares: Share[]): Promise<Uint8Array> {
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array')
  if (shares.length < 2 || shares.length > MAX_SHARES) throw new RangeError(`shares must hold 2..${MAX_SHARES} shares, got ${shares.length}`)
  const seen = new Set<number>()
  let length = -1
  for (let i = 0; i < shares.length; i++) {
    const { x, bytes } = ashare(shares[i], `shares[${i}]`)
    if (seen.has(x)) throw new RangeError(`shares must have distinct x, ${x} repeats`)
    seen.add(x)
    if (length === -1) length = bytes.length
    else if (bytes.length !== length) throw new RangeError(`shares must have equal lengths: shares[${i}] has ${bytes.length} bytes, shares[0] ${length}`)
  }
  const lib = shares.map((s) => shareToLibrary(s))
  try {
    return await combine(lib)
  } finally {
    wipe(...lib)
  }
}

/**
 * Check every share against its commitment, name the bad ones, and combine
 * `t` good ones (the first good ones in input order, so callers put their
 * preferred holders first). Shares with an x that has no commitment count as
 * bad. A second good share with an x already used is identical (the
 * commitment binds its bytes) and is skipped.
 *
 * @param templateId - 32-byte template id
 * @param shares - shares as returned by holders; not modified
 * @param commitments - x → 32-byte commitment, from the manifest
 * @param t - the threshold, 2..255
 * @returns the secret and which x were used and which were bad
 * @throws {NotEnoughSharesError} ERR_NOT_ENOUGH_SHARES when fewer than `t` shares are good (with `good` and `bad`)
 * @throws {TypeError}/{RangeError} naming a malformed argument
 * @example const { secret, bad } = await reconstruct(id, fetched, manifestCommitments, 3)
 */
export async function reconstruct (templateId: Uint8Array, shares: Share[], commitments: ReadonlyMap<number, Uint8Array>, t: number): Promise<Reconstruction> {
  abytes(templateId, TEMPLATE_ID_BYTES, 'templateId')
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array')
  if (!(commitments instanceof Map)) throw new TypeError('commitments must be a Map of x to commitment')
  aint(t, 2, MAX_SHARES, 't')
  const good: Share[] = []
  const used: number[] = []
  const bad: number[] = []
  for (let i = 0; i < shares.length; i++) {
    const { x } = ashare(shares[i], `shares[${i}]`)
    const c = commitments.get(x)
    const ok = c !== undefined && shareMatches(templateId, shares[i], c)
    if (!ok) {
      if (!bad.includes(x)) bad.push(x)
    } else if (!used.includes(x) && good.length < t) {
      good.push(shares[i])
      used.push(x)
    }
  }
  if (good.length < t) throw new NotEnoughSharesError(good.length, t, bad)
  const secret = await combineShares(good)
  return { secret, used, bad }
}

/**
 * Convert to the library's format: y-bytes followed by x. The library rejects
 * Node `Buffer`s (it compares constructors), so it only ever sees plain
 * `Uint8Array` views.
 *
 * @returns a fresh buffer (holds share bytes: wipe it after use)
 * @throws {TypeError}/{RangeError} naming `share` when malformed
 * @example await combine(shares.map(shareToLibrary))
 */
export function shareToLibrary (share: Share): Uint8Array {
  const { x, bytes } = ashare(share, 'share')
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  out[bytes.length] = x
  return out
}

/**
 * Convert from the library's format (y-bytes then x).
 *
 * @param bytes - at least 2 bytes, last byte non-zero; not modified
 * @returns a share whose `bytes` is a fresh copy
 * @throws {TypeError} when not a Uint8Array; {RangeError} when shorter than 2 bytes or x is 0
 * @example const share = shareFromLibrary((await split(secret, 5, 3))[0])
 */
export function shareFromLibrary (bytes: Uint8Array): Share {
  const b = abytes(bytes, undefined, 'bytes')
  if (b.length < 2) throw new RangeError(`bytes must hold at least 2 bytes (y then x), got ${b.length}`)
  const x = b[b.length - 1]
  if (x === 0) throw new RangeError('bytes must end in a non-zero x-coordinate')
  return { x, bytes: b.slice(0, b.length - 1) }
}
