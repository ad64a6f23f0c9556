/**
 * Proactive refresh of one holder's share. Every holder deals a random
 * sharing of zero over all holders' x-coordinates ({@link refreshContribution})
 * and adds the n sub-shares it receives to its share: the secret (the value
 * at 0) is unchanged, every share is re-randomised, and shares stolen before
 * the refresh no longer combine with shares taken after it.
 *
 * {@link ShareRefresh} keeps old and new apart: until {@link ShareRefresh.commit}
 * only the new share's commitments leave it (for the new manifest), and
 * `commit` hands out the new share in the same call that wipes the old one,
 * so a caller never holds both; {@link ShareRefresh.abort} wipes the new one
 * and leaves the old share as it was.
 *
 * @module
 */
import { zeroSharing, addBytes } from './gf256.ts'
import { abytes, aint, wipe } from './bytes.ts'
import { commitShare, type Share } from './shares.ts'
import { auditCommitment } from './possession.ts'

/** Check a list of holders' x-coordinates: 2..255 distinct integers in 1..255. */
function holderXs (xs: unknown, name: string): number[] {
  if (!Array.isArray(xs)) throw new TypeError(`${name} must be an array of x-coordinates`)
  if (xs.length < 2 || xs.length > 255) throw new RangeError(`${name} must list 2..255 holders, got ${xs.length}`)
  const seen = new Set<number>()
  xs.forEach((x, i) => {
    aint(x, 1, 255, `${name}[${i}]`)
    if (seen.has(x)) throw new RangeError(`${name} must be distinct, ${String(x)} repeats`)
    seen.add(x)
  })
  return [...xs] as number[]
}

/**
 * One holder's refresh contribution: a fresh random sharing of zero (degree
 * `t − 1`, constant term 0, independently per byte) evaluated at every
 * holder's x, one sub-share per recipient (the dealer's own included).
 *
 * @param xs - the x-coordinates of all holders of the template (distinct, 1..255)
 * @param t - the threshold, 2..xs.length
 * @param length - bytes per share
 * @returns x → sub-share (fresh buffers; seal each to its recipient, then wipe)
 * @throws {TypeError}/{RangeError} naming a malformed argument
 * @example const subShares = refreshContribution([3, 77, 190, 201, 250], 3, share.bytes.length)
 */
export function refreshContribution (xs: number[], t: number, length: number): Map<number, Uint8Array> {
  const list = holderXs(xs, 'xs')
  aint(t, 2, list.length, 't')
  const parts = zeroSharing(list, t, length)
  return new Map(list.map((x, i) => [x, parts[i]]))
}

/** What a refreshed share is published as: its hash commitment and its audit commitment. */
export interface RefreshCommitments {
  /** `commitShare(templateId, newShare)`: the manifest's `commitment` */
  commitment: Uint8Array
  /** `auditCommitment(templateId, newShare)`: the manifest's `audit` */
  audit: Uint8Array
}

type Phase = 'collecting' | 'committed' | 'aborted'

/**
 * One holder's side of one refresh round. It collects a sub-share from every
 * holder (its own included), then publishes only commitments to the new share
 * until the new manifest is out; see the module doc for how old and new never mix.
 *
 * @example
 * const r = new ShareRefresh(held, manifestXs, t)
 * for (const [x, sub] of r.contribute()) send(x, sub) // own sub-share is kept inside
 * r.receive(fromX, sub) // for every other holder
 * const { commitment, audit } = r.commitments(templateId) // into the new manifest
 * const fresh = r.commit() // after the manifest is published: old share wiped here
 */
export class ShareRefresh {
  readonly x: number
  readonly xs: readonly number[]
  readonly t: number
  private readonly old: Share
  private readonly sum: Uint8Array
  private readonly heard = new Set<number>()
  private contributed = false
  private phase: Phase = 'collecting'

  /**
   * @param old - this holder's current share; its bytes are wiped by {@link commit}
   * @param xs - every holder's x-coordinate (this holder's among them)
   * @param t - the threshold
   * @throws {TypeError}/{RangeError} naming a malformed argument, or when `old.x` is not in `xs`
   */
  constructor (old: Share, xs: number[], t: number) {
    if (old === null || typeof old !== 'object') throw new TypeError('old must be a share')
    this.xs = holderXs(xs, 'xs')
    this.x = aint(old.x, 1, 255, 'old.x')
    if (!this.xs.includes(this.x)) throw new RangeError(`old.x ${this.x} is not among xs`)
    this.t = aint(t, 2, this.xs.length, 't')
    abytes(old.bytes, undefined, 'old.bytes')
    if (old.bytes.length === 0) throw new RangeError('old.bytes must not be empty')
    this.old = old
    this.sum = old.bytes.slice()
  }

  /** Share length in bytes (every sub-share must have it). */
  get length (): number { return this.sum.length }

  /** Whether a sub-share from every holder has been added. */
  get complete (): boolean { return this.heard.size === this.xs.length }

  /**
   * Deal this holder's sharing of zero. Its own sub-share is added here; the
   * others are returned to be sealed to their recipients. Once per round.
   *
   * @returns recipient x → sub-share (the caller wipes them after sealing)
   * @throws {RangeError} when called twice or after the round ended
   */
  contribute (): Map<number, Uint8Array> {
    this.open('contribute')
    if (this.contributed) throw new RangeError('this holder has already contributed to the round')
    this.contributed = true
    const parts = refreshContribution([...this.xs], this.t, this.length)
    const own = parts.get(this.x) as Uint8Array
    parts.delete(this.x)
    this.add(this.x, own)
    return parts
  }

  /**
   * Add the sub-share dealt by holder `from`.
   *
   * @param from - the dealer's x (one of `xs`, each at most once; this holder's own comes from {@link contribute})
   * @param subShare - `length` bytes; copied in, not kept
   * @throws {TypeError}/{RangeError} for an unknown or repeated dealer, a wrong length, or a round that ended
   */
  receive (from: number, subShare: Uint8Array): void {
    this.open('receive')
    aint(from, 1, 255, 'from')
    if (from === this.x) throw new RangeError('a holder adds its own sub-share through contribute()')
    if (!this.xs.includes(from)) throw new RangeError(`from ${from} is not a holder of this template`)
    abytes(subShare, this.length, 'subShare')
    this.add(from, subShare)
  }

  /**
   * Commitments to the new share, for the new manifest (the share itself stays inside).
   *
   * @param templateId - 32-byte template id
   * @throws {RangeError} before every holder's sub-share was added, or after the round ended
   */
  commitments (templateId: Uint8Array): RefreshCommitments {
    this.ready('commitments')
    const fresh = { x: this.x, bytes: this.sum }
    return { commitment: commitShare(templateId, fresh), audit: auditCommitment(templateId, fresh) }
  }

  /**
   * End the round once the new manifest is published: the old share's bytes
   * are wiped in place and the new share is returned (the caller's to keep and wipe).
   *
   * @throws {RangeError} before every holder's sub-share was added, or after the round ended
   */
  commit (): Share {
    this.ready('commit')
    this.phase = 'committed'
    wipe(this.old.bytes)
    return { x: this.x, bytes: this.sum }
  }

  /** Abandon the round: the partial new share is wiped; the old share is untouched. Idempotent. */
  abort (): void {
    if (this.phase === 'committed') return
    this.phase = 'aborted'
    wipe(this.sum)
  }

  private add (from: number, subShare: Uint8Array): void {
    if (this.heard.has(from)) throw new RangeError(`a sub-share from ${from} was already added`)
    const next = addBytes(this.sum, subShare)
    this.sum.set(next)
    wipe(next)
    this.heard.add(from)
  }

  private open (what: string): void {
    if (this.phase !== 'collecting') throw new RangeError(`cannot ${what}: the refresh round was ${this.phase}`)
  }

  private ready (what: string): void {
    this.open(what)
    if (!this.complete) throw new RangeError(`cannot ${what}: ${this.heard.size} of ${this.xs.length} sub-shares added`)
  }
}
