/**
 * Token-bucket rate limit per key (verifier × template at a holder): a
 * verifier that is compromised or misbehaving can only pull a template's
 * share as often as the tenant's policy allows. The bucket holds `burst`
 * tokens (what may be taken at once) and refills at `ratePerMinute`.
 *
 * @module
 */
import { BioshardError } from '../../errors.ts'

/** A limit as the manifest policy states it; without `burst` the bucket holds a minute's worth (`ratePerMinute`). */
export interface RateLimit { ratePerMinute: number, burst?: number }

interface Bucket { tokens: number, at: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly maxKeys: number

  constructor (maxKeys = 100_000) {
    this.maxKeys = maxKeys
  }

  /**
   * Take one token from `key`'s bucket, which holds `limit.burst` tokens
   * (default `limit.ratePerMinute`) and refills continuously at `limit.ratePerMinute`.
   *
   * @param key - what the limit applies to (verifier × template)
   * @param limit - the policy's rate and burst, or a bare rate per minute (bucket of that size)
   * @param now - clock, ms
   * @throws {BioshardError} ERR_RATE_LIMITED when the bucket is empty
   * @example limiter.take(verifierHex + templateHex, manifest.body.policy, now)
   */
  take (key: string, limit: RateLimit | number, now = Date.now()): void {
    const perMinute = typeof limit === 'number' ? limit : limit.ratePerMinute
    const capacity = typeof limit === 'number' ? limit : (limit.burst ?? limit.ratePerMinute)
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now, perMinute, capacity)
      b = { tokens: capacity, at: now }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(capacity, b.tokens + (now - b.at) * perMinute / 60_000)
      b.at = now
    }
    if (b.tokens < 1) throw new BioshardError('ERR_RATE_LIMITED', `more than ${capacity} requests at once or ${perMinute} per minute`)
    b.tokens -= 1
  }

  // A bucket that has refilled completely carries no state worth keeping.
  private evictFull (now: number, perMinute: number, capacity: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * perMinute / 60_000 >= capacity) this.buckets.delete(k)
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
  }
}
