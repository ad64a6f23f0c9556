/**
 * Token-bucket rate limit per key (verifier × template at a holder): a
 * verifier that is compromised or misbehaving can only pull a template's
 * share as often as the tenant's policy allows.
 *
 * @module
 */
import { BioshardError } from '../../crypto/errors.ts'

interface Bucket { tokens: number, at: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly maxKeys: number

  constructor (maxKeys = 100_000) {
    this.maxKeys = maxKeys
  }

  /**
   * Take one token from `key`'s bucket, which holds `perMinute` tokens and refills continuously.
   *
   * @throws {BioshardError} ERR_RATE_LIMITED when the bucket is empty
   */
  take (key: string, perMinute: number, now = Date.now()): void {
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now, perMinute)
      b = { tokens: perMinute, at: now }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * perMinute / 60_000)
      b.at = now
    }
    if (b.tokens < 1) throw new BioshardError('ERR_RATE_LIMITED', `more than ${perMinute} requests per minute`)
    b.tokens -= 1
  }

  // A bucket that has refilled completely carries no state worth keeping.
  private evictFull (now: number, perMinute: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * perMinute / 60_000 >= perMinute) this.buckets.delete(k)
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
  }
}
