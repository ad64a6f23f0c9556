/**
 * A hedged t-of-n fetch: ask holders in the order given, ask a spare when the
 * first ones are slow and one more for every refusal, stop as soon as enough
 * good answers are in and cancel the rest. A deadline and the caller's
 * AbortSignal bound every collection, so it always returns. It knows nothing
 * of shares or enclaves: the holders' request function is a parameter, so
 * verify plugs in the signed fetch and tests plug in real or scripted holders.
 *
 * @module
 */
import type { BadShare, Refusal } from './errors.ts'

/** One holder to ask, for its share x. */
export interface Candidate { readonly holder: string, readonly x: number }

/** Ask one holder; resolve with its answer, reject with its refusal (an error with a `code`). Must honour `signal` to free resources early. */
export type HolderRequest<T> = (candidate: Candidate, signal: AbortSignal) => Promise<T>

/** A good answer and who gave it. */
export interface Fetched<T> extends Candidate { readonly value: T }

/** What a hedged fetch is built from. */
export interface HedgedFetchInit<T> {
  /** Holders in the order they are to be asked. */
  holders: readonly Candidate[]
  request: HolderRequest<T>
  /** Ask one spare when the collection has run this long without enough answers. */
  hedgeMs: number
  /** Each collection gives up after this long; requests still running are refused as ERR_TIMEOUT. */
  deadlineMs: number
  /** The caller's cancellation: requests still running are refused as ERR_ABORTED. */
  signal?: AbortSignal
  /** Called for each good answer as it arrives, with how many are still missing after it. */
  onAnswer?: (answer: Fetched<T>, missing: number) => void
}

/** The state after a collection. */
export interface Collected<T> {
  /** True when the collection reached the number asked for. */
  complete: boolean
  /** Every good answer held, in arrival order. */
  good: Array<Fetched<T>>
  /** Every refusal so far, in arrival order. */
  refused: Refusal[]
  /** Every answer handed back as bad so far. */
  bad: BadShare[]
}

/** Code for a request that was still running when the collection stopped. */
function stoppedCode (signal: AbortSignal | undefined): string {
  return signal?.aborted === true ? 'ERR_ABORTED' : 'ERR_TIMEOUT'
}

function codeOf (e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'ERR_INTERNAL'
}

/** State of the collection under way. */
interface Round {
  readonly need: number
  readonly stop: AbortSignal
  readonly inFlight: Map<Candidate, AbortController>
  open: boolean
  wake: () => void
}

/**
 * One t-of-n fetch over a fixed list of holders; one collection at a time. A
 * spare is asked after the hedge delay; a collection returns even when a
 * holder never answers and ignores its signal. A share found bad later (by the
 * enclave) is handed back with {@link HedgedFetch.reject}, and the next
 * collection asks a spare in its place.
 */
export class HedgedFetch<T> {
  readonly #init: HedgedFetchInit<T>
  readonly #queue: Candidate[]
  readonly #good = new Map<number, Fetched<T>>()
  readonly #refused: Refusal[] = []
  readonly #bad: BadShare[] = []

  /**
   * @param init - holders, request function, hedge delay, deadline, signal
   * @throws {RangeError} for a negative hedge delay or a deadline that is not positive
   */
  constructor (init: HedgedFetchInit<T>) {
    if (!(init.hedgeMs >= 0)) throw new RangeError('hedgeMs must be 0 or more')
    if (!(init.deadlineMs > 0)) throw new RangeError('deadlineMs must be positive')
    this.#init = init
    this.#queue = [...init.holders]
  }

  /** Holders not asked yet. */
  get remaining (): number { return this.#queue.length }

  /**
   * Ask holders until `need` good answers are held (counting those held
   * already), the holders run out, the deadline passes or the signal fires.
   * Never throws; requests still running when it returns are aborted.
   *
   * @param need - good answers wanted in total
   * @returns the answers, refusals and bad findings so far, and whether `need` was reached
   * @example const { complete, good } = await fetch.collect(manifest.body.t)
   */
  async collect (need: number): Promise<Collected<T>> {
    if (this.#good.size < need && this.#init.signal?.aborted !== true) await this.#run(need)
    return { complete: this.#good.size >= need, good: [...this.#good.values()], refused: [...this.#refused], bad: [...this.#bad] }
  }

  /**
   * Hand back a good answer found bad later; the next {@link collect} asks a spare for it.
   *
   * @param finding - the holder, x and evidence to report
   */
  reject (finding: BadShare): void {
    this.#good.delete(finding.x)
    this.#bad.push(finding)
  }

  async #run (need: number): Promise<void> {
    const { signal, deadlineMs, hedgeMs } = this.#init
    // A timer of our own, not AbortSignal.timeout: that one does not keep the process alive, so a caller
    // awaiting only this collection would see the process exit under it rather than a result.
    const deadline = new AbortController()
    const timer = setTimeout(() => { deadline.abort() }, deadlineMs)
    const stop = signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, signal])
    const round: Round = { need, stop, inFlight: new Map(), open: true, wake: () => {} }
    stop.addEventListener('abort', () => { changed(round) }, { once: true })
    for (let i = this.#good.size; i < need; i++) this.#launch(round)
    const hedge = setTimeout(() => { if (this.#good.size < need) this.#launch(round) }, hedgeMs)
    try {
      while (this.#good.size < need && !stop.aborted && (round.inFlight.size > 0 || this.#queue.length > 0)) {
        if (round.inFlight.size === 0) this.#launch(round)
        else await new Promise<void>((resolve) => { round.wake = resolve })
      }
    } finally {
      clearTimeout(hedge)
      clearTimeout(timer)
      this.#close(round)
    }
  }

  /** Ask the next holder in the queue, if any. */
  #launch (round: Round): void {
    if (!round.open) return
    const candidate = this.#queue.shift()
    if (candidate === undefined) return
    const own = new AbortController()
    round.inFlight.set(candidate, own)
    const signal = AbortSignal.any([round.stop, own.signal])
    Promise.resolve()
      .then(async () => await this.#init.request(candidate, signal))
      .then((value) => { this.#answered(round, candidate, value) }, (e: unknown) => { this.#refusedBy(round, candidate, e) })
  }

  #answered (round: Round, candidate: Candidate, value: T): void {
    if (!round.inFlight.delete(candidate)) return
    const answer: Fetched<T> = { holder: candidate.holder, x: candidate.x, value }
    this.#good.set(candidate.x, answer)
    this.#init.onAnswer?.(answer, Math.max(0, round.need - this.#good.size))
    changed(round)
  }

  #refusedBy (round: Round, candidate: Candidate, e: unknown): void {
    if (!round.inFlight.delete(candidate)) return
    // A request ended by the deadline or the caller is reported as such, whatever its own error says.
    const code = round.stop.aborted ? stoppedCode(this.#init.signal) : codeOf(e)
    this.#refused.push({ holder: candidate.holder, x: candidate.x, code })
    if (!round.stop.aborted) this.#launch(round)
    changed(round)
  }

  /** End the round: requests still running are cancelled; when the round fell short, they count as refused. */
  #close (round: Round): void {
    round.open = false
    const short = this.#good.size < round.need
    for (const [candidate, own] of round.inFlight) {
      if (short) this.#refused.push({ holder: candidate.holder, x: candidate.x, code: stoppedCode(this.#init.signal) })
      own.abort()
    }
    round.inFlight.clear()
  }
}

function changed (round: Round): void {
  const wake = round.wake
  round.wake = () => {}
  wake()
}
