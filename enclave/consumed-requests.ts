/**
 * The fetch requests whose shares the enclave has already used: child-side
 * state, never imported by host code. It is what makes the enclave open one
 * fetch's shares once: a host that fetched t shares once cannot replay them
 * with other probes (each replay would be one more question to a template
 * oracle). Memory is bounded: when full of live entries, new claims are
 * refused (ERR_BUSY), since forgetting one would reopen the oracle.
 *
 * @module
 */
import { toHex } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import { MAX_CONSUMED_REQUESTS } from './constants.ts'

/** One request as a share names it. */
export interface RequestRef {
  /** 32-byte fetch request hash */
  request: Uint8Array
  /** the request's time, ms */
  time: number
}

/** The request hashes one match holds: consume them once the template is rebuilt, or release them. */
export interface Claim {
  /** Mark every claimed request as used (idempotent). */
  consume: () => void
  /** Give the claims back unless consumed (idempotent). */
  release: () => void
}

/** Bounds of a {@link ConsumedRequests}. */
export interface ConsumedRequestsOptions {
  /** entries kept at once @default MAX_CONSUMED_REQUESTS */
  max?: number
  /** the freshness window; entries live for request time + 2 × this @default FRESHNESS_WINDOW_MS */
  windowMs?: number
}

/**
 * Used and in-use fetch requests.
 *
 * A match claims the request hashes of all its shares before it does
 * anything else (so two concurrent matches cannot share one), releases them
 * if it fails before the template is reconstructed (a retry with spare shares
 * must still work), and consumes them once it is. A consumed hash is kept
 * until its request time + 2 × the freshness window: by then the enclave
 * refuses the request as stale anyway, whatever the two clocks say within the
 * window.
 *
 * @example
 * const claim = consumed.claim(req.shares, Date.now()) // ERR_STALE, ERR_REPLAY or ERR_BUSY
 * try { reconstruct(); claim.consume(); … } finally { claim.release() }
 */
export class ConsumedRequests {
  /** hex request hash → forget after (ms) */
  readonly #used = new Map<string, number>()
  readonly #claimed = new Set<string>()
  readonly #max: number
  readonly #windowMs: number

  constructor (options: ConsumedRequestsOptions = {}) {
    this.#max = options.max ?? MAX_CONSUMED_REQUESTS
    this.#windowMs = options.windowMs ?? FRESHNESS_WINDOW_MS
  }

  /** Requests remembered as used now. */
  get size (): number { return this.#used.size }

  /**
   * Refuse a request time outside the freshness window of `now`.
   *
   * @throws {BioshardError} ERR_STALE
   */
  checkFresh (time: number, now: number): void {
    if (Math.abs(now - time) > this.#windowMs) {
      const skewS = Math.round((now - time) / 1000)
      throw new BioshardError('ERR_STALE', `a share's fetch request is ${skewS} s from the enclave clock, outside the ${this.#windowMs / 1000} s window`)
    }
  }

  /** Whether `request` was used by a match (or is held by one in flight). */
  has (request: Uint8Array): boolean {
    const id = toHex(request)
    return this.#used.has(id) || this.#claimed.has(id)
  }

  /**
   * Claim the requests of one match's shares.
   *
   * @param refs - every share's request hash and time (repeats allowed)
   * @param now - the enclave clock, ms
   * @returns the claim
   * @throws {BioshardError} ERR_STALE when a request time is outside the window; ERR_REPLAY when a request was used or is in use; ERR_BUSY when full
   */
  claim (refs: readonly RequestRef[], now: number): Claim {
    const ids = new Map<string, number>()
    for (const r of refs) {
      this.checkFresh(r.time, now)
      ids.set(toHex(r.request), r.time)
    }
    for (const id of ids.keys()) {
      if (this.#used.has(id) || this.#claimed.has(id)) {
        throw new BioshardError('ERR_REPLAY', 'these shares were fetched for a request the enclave has already matched')
      }
    }
    this.#pruneOldest(now)
    if (this.#used.size + this.#claimed.size + ids.size > this.#max) this.#prune(now)
    if (this.#used.size + this.#claimed.size + ids.size > this.#max) {
      throw new BioshardError('ERR_BUSY', `the enclave remembers ${this.#max} used requests; try again shortly`)
    }
    for (const id of ids.keys()) this.#claimed.add(id)
    let state: 'held' | 'consumed' | 'released' = 'held'
    return {
      consume: () => {
        if (state !== 'held') return
        state = 'consumed'
        for (const [id, time] of ids) {
          this.#claimed.delete(id)
          this.#used.set(id, time + 2 * this.#windowMs)
        }
      },
      release: () => {
        if (state !== 'held') return
        state = 'released'
        for (const id of ids.keys()) this.#claimed.delete(id)
      }
    }
  }

  // Entries arrive roughly in expiry order: drop the expired ones at the front, cheaply, on every claim.
  #pruneOldest (now: number): void {
    for (const [id, until] of this.#used) {
      if (until > now) return
      this.#used.delete(id)
    }
  }

  #prune (now: number): void {
    for (const [id, until] of this.#used) if (until <= now) this.#used.delete(id)
  }
}
