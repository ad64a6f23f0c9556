/**
 * Repair of a lost holder at a new x without reconstructing anything. Each of
 * t helpers computes its Lagrange contribution `c_i = λ_i(x_new) · s_i`, splits
 * it into t uniformly random additive masks (one per helper, its own kept),
 * adds up the masks it receives into one masked sum, and sends only that sum
 * to the new holder, which adds the t sums to get `s(x_new) = Σ c_i` and
 * nothing else: every mask a helper sees is uniform, and the t sums the new
 * holder sees are uniform subject only to adding up to its own share.
 *
 * Traffic per repair: t(t − 1) masks among helpers plus t sums, t² share
 * sizes in all. {@link RepairHelper} and {@link RepairRecipient} are the two
 * parties' steps; {@link runRepair} drives them in one process for tests and
 * records every message each party receives.
 *
 * @module
 */
import { lagrangeCoefficient, scaleBytes, addBytes } from './gf256.ts'
import { abytes, aint, randomBytes, wipe } from './bytes.ts'
import type { Share } from './shares.ts'

/** One repair round: the t helpers' x-coordinates and the x of the new share. */
export interface RepairPlan {
  /** The helpers' x-coordinates (exactly t of them, distinct, 1..255). */
  helpers: readonly number[]
  /** The new holder's x (1..255, not a helper's). */
  newX: number
}

function checkPlan (plan: RepairPlan): number[] {
  if (plan === null || typeof plan !== 'object') throw new TypeError('plan must be {helpers, newX}')
  if (!Array.isArray(plan.helpers)) throw new TypeError('plan.helpers must be an array')
  if (plan.helpers.length < 2 || plan.helpers.length > 255) throw new RangeError(`plan.helpers must list 2..255 helpers, got ${plan.helpers.length}`)
  const xs = plan.helpers.map((x, i) => aint(x, 1, 255, `plan.helpers[${i}]`))
  if (new Set(xs).size !== xs.length) throw new RangeError('plan.helpers must be distinct')
  aint(plan.newX, 1, 255, 'plan.newX')
  if (xs.includes(plan.newX)) throw new RangeError(`plan.newX ${plan.newX} is a helper's x`)
  return xs
}

/** Accumulates one vector from parts keyed by sender x, each sender once. */
class Accumulator {
  readonly sum: Uint8Array
  private readonly expected: readonly number[]
  private readonly heard = new Set<number>()

  constructor (length: number, expected: readonly number[]) {
    this.sum = new Uint8Array(length)
    this.expected = expected
  }

  get complete (): boolean { return this.heard.size === this.expected.length }

  add (from: number, part: Uint8Array): void {
    aint(from, 1, 255, 'from')
    if (!this.expected.includes(from)) throw new RangeError(`from ${from} is not a helper of this repair`)
    if (this.heard.has(from)) throw new RangeError(`a part from ${from} was already added`)
    abytes(part, this.sum.length, 'part')
    const next = addBytes(this.sum, part)
    this.sum.set(next)
    wipe(next)
    this.heard.add(from)
  }
}

/**
 * One helper's side of a repair round.
 *
 * @example
 * const h = new RepairHelper(held, { helpers: [3, 77, 190], newX: 41 })
 * for (const [x, mask] of h.masks()) send(x, mask) // to the other helpers, sealed
 * h.receive(fromX, mask) // from each other helper
 * sendToNewHolder(h.maskedSum())
 */
export class RepairHelper {
  readonly x: number
  private readonly helpers: number[]
  private readonly newX: number
  private readonly share: Share
  private acc?: Accumulator
  private done = false

  /**
   * @param share - this helper's share (not modified; its x must be one of `plan.helpers`)
   * @param plan - the helpers and the new x
   * @throws {TypeError}/{RangeError} naming a malformed argument
   */
  constructor (share: Share, plan: RepairPlan) {
    this.helpers = checkPlan(plan)
    if (share === null || typeof share !== 'object') throw new TypeError('share must be a share')
    this.x = aint(share.x, 1, 255, 'share.x')
    if (!this.helpers.includes(this.x)) throw new RangeError(`share.x ${this.x} is not among plan.helpers`)
    abytes(share.bytes, undefined, 'share.bytes')
    if (share.bytes.length === 0) throw new RangeError('share.bytes must not be empty')
    this.newX = plan.newX
    this.share = share
  }

  /**
   * Split this helper's contribution λ_i(x_new)·s_i into t additive masks:
   * t − 1 uniformly random ones go to the other helpers, the remainder is
   * kept. Once per round.
   *
   * @returns other helper's x → mask (the caller seals each to its recipient, then wipes it)
   * @throws {RangeError} when called twice
   */
  masks (): Map<number, Uint8Array> {
    if (this.acc !== undefined) throw new RangeError('masks were already dealt in this round')
    const i = this.helpers.indexOf(this.x)
    const own = scaleBytes(lagrangeCoefficient(this.helpers, i, this.newX), this.share.bytes)
    const out = new Map<number, Uint8Array>()
    for (const x of this.helpers) {
      if (x === this.x) continue
      const mask = randomBytes(own.length)
      const rest = addBytes(own, mask)
      own.set(rest)
      wipe(rest)
      out.set(x, mask)
    }
    this.acc = new Accumulator(own.length, this.helpers)
    this.acc.add(this.x, own)
    wipe(own)
    return out
  }

  /**
   * Add the mask dealt to this helper by helper `from`.
   *
   * @throws {RangeError} before {@link masks}, for an unknown or repeated sender or a wrong length
   */
  receive (from: number, mask: Uint8Array): void {
    if (this.acc === undefined) throw new RangeError('deal masks() before receiving')
    if (from === this.x) throw new RangeError('a helper keeps its own mask')
    this.acc.add(from, mask)
  }

  /**
   * The masked sum for the new holder, once every other helper's mask is in.
   * The helper's state is wiped; the returned bytes are the caller's.
   *
   * @throws {RangeError} before every mask is in, or when called twice
   */
  maskedSum (): Uint8Array {
    if (this.acc === undefined || !this.acc.complete) throw new RangeError('not every helper\'s mask is in')
    if (this.done) throw new RangeError('the masked sum was already taken')
    this.done = true
    const out = this.acc.sum.slice()
    wipe(this.acc.sum)
    return out
  }
}

/**
 * The new holder's side: adds the t masked sums into its share.
 *
 * @example
 * const r = new RepairRecipient({ helpers: [3, 77, 190], newX: 41 }, length)
 * r.receive(3, sum3); r.receive(77, sum77); r.receive(190, sum190)
 * const share = r.finish()
 */
export class RepairRecipient {
  readonly x: number
  private readonly acc: Accumulator
  private done = false

  /**
   * @param plan - the helpers and this holder's new x
   * @param length - bytes per share
   */
  constructor (plan: RepairPlan, length: number) {
    const helpers = checkPlan(plan)
    aint(length, 1, 0x7fff_ffff, 'length')
    this.x = plan.newX
    this.acc = new Accumulator(length, helpers)
  }

  /** Add helper `from`'s masked sum. @throws {RangeError} for an unknown or repeated helper or a wrong length */
  receive (from: number, maskedSum: Uint8Array): void {
    if (this.done) throw new RangeError('the repair already finished')
    this.acc.add(from, maskedSum)
  }

  /** The repaired share, once every helper's sum is in. @throws {RangeError} before that, or when called twice */
  finish (): Share {
    if (!this.acc.complete) throw new RangeError('not every helper\'s masked sum is in')
    if (this.done) throw new RangeError('the repair already finished')
    this.done = true
    return { x: this.x, bytes: this.acc.sum }
  }
}

/** One message of a repair round as its recipient saw it. */
export interface RepairMessage { from: number, to: number | 'new', bytes: Uint8Array }

/** What {@link runRepair} returns: the repaired share, every party's received messages, and the traffic. */
export interface RepairRun {
  share: Share
  /** Messages received, by recipient (a helper's x, or 'new' for the new holder). */
  views: Map<number | 'new', RepairMessage[]>
  /** Bytes of share-sized payload sent in all (masks plus masked sums). */
  payloadBytes: number
  /** Messages sent in all. */
  messages: number
}

/**
 * Run one repair round in this process: the t helpers' shares in, the new
 * share out, with every message recorded (copies). For tests and the
 * simulator's cost model; a real round exchanges the same messages sealed
 * over `/bioshard/maintain/1.0.0`.
 *
 * @param shares - exactly the t helpers' shares (not modified)
 * @param newX - the new holder's x
 * @returns the repaired share and the recorded round
 * @throws {TypeError}/{RangeError} naming a malformed argument
 * @example const { share, payloadBytes } = runRepair(threeShares, 41)
 */
export function runRepair (shares: Share[], newX: number): RepairRun {
  if (!Array.isArray(shares)) throw new TypeError('shares must be an array')
  const plan = { helpers: shares.map((s) => s.x), newX }
  const helpers = shares.map((s) => new RepairHelper(s, plan))
  const views = new Map<number | 'new', RepairMessage[]>([...plan.helpers.map((x) => [x, []] as [number, RepairMessage[]]), ['new', []]])
  let payloadBytes = 0
  let messages = 0
  const record = (m: RepairMessage): void => {
    views.get(m.to)?.push({ ...m, bytes: m.bytes.slice() })
    payloadBytes += m.bytes.length
    messages++
  }
  const dealt = helpers.map((h) => h.masks())
  helpers.forEach((h, i) => {
    for (const [to, mask] of dealt[i]) {
      record({ from: h.x, to, bytes: mask })
      helpers.find((r) => r.x === to)?.receive(h.x, mask)
      wipe(mask)
    }
  })
  const recipient = new RepairRecipient(plan, shares[0].bytes.length)
  for (const h of helpers) {
    const sum = h.maskedSum()
    record({ from: h.x, to: 'new', bytes: sum })
    recipient.receive(h.x, sum)
    wipe(sum)
  }
  return { share: recipient.finish(), views, payloadBytes, messages }
}
