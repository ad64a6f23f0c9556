/**
 * Shares the enclave child opened ahead of their match, kept per session
 * until the match takes them: child-side state, never imported by host code.
 * A verification's shares arrive one by one, and opening one (X25519 + HKDF +
 * ChaCha20-Poly1305) is the largest part of a match; opening each as it
 * arrives leaves only the last one to open once the quorum is complete. What
 * is kept is bounded and short-lived ({@link OpenedShares}).
 *
 * @module
 */
import { wipe } from '../crypto/bytes.ts'

/** One share opened ahead of its match, with what it was opened from. */
export interface OpenedShare {
  templateId: Uint8Array
  x: number
  /** the sealed bytes and binding (HPKE AAD, protocol/seal-binding.ts) it was opened from: a match uses it only for the same ones */
  sealed: Uint8Array
  aad: Uint8Array
  /** the fetch request it answers, so a consumed request's hint can be recognised */
  request: Uint8Array
  /** the share itself (a secret) */
  bytes: Uint8Array
}

/** Bounds of an {@link OpenedShares}. */
export interface OpenedSharesOptions {
  /** sessions kept at once; the oldest is wiped to make room @default 64 */
  maxSessions?: number
  /** shares kept at once, over all sessions; the oldest sessions are wiped to make room @default 1024 */
  maxShares?: number
  /** a session is wiped this long after its first share unless taken @default 10000 */
  ttlMs?: number
}

interface Session { shares: Map<number, OpenedShare>, timer: NodeJS.Timeout }

/**
 * Opened shares by session. At most `maxSessions` sessions and `maxShares`
 * shares in all (the oldest sessions are wiped to make room), each wiped
 * `ttlMs` after its first share unless a match took it first. A match takes a
 * session whole; the shares it does not use are wiped with the rest (see match.ts).
 *
 * @example
 * const kept = new OpenedShares()
 * kept.put(7, { templateId, x, sealed, aad, request, bytes })
 * const mine = kept.take(7) // Map x → share, now owned (and wiped) by the caller
 */
export class OpenedShares {
  readonly #sessions = new Map<number, Session>()
  readonly #maxSessions: number
  readonly #maxShares: number
  readonly #ttlMs: number
  #shares = 0

  constructor (options: OpenedSharesOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 64
    this.#maxShares = options.maxShares ?? 1024
    this.#ttlMs = options.ttlMs ?? 10_000
  }

  /** Sessions held now. */
  get size (): number { return this.#sessions.size }

  /** Keep `share` for `session`; a share already kept for the same x is wiped and replaced. */
  put (session: number, share: OpenedShare): void {
    let s = this.#sessions.get(session)
    if (s === undefined) {
      if (this.#sessions.size >= this.#maxSessions) this.#drop(this.#sessions.keys().next().value as number)
      const timer = setTimeout(() => { this.#drop(session) }, this.#ttlMs)
      // The child exits when its channel closes; a pending expiry must not keep it alive.
      timer.unref()
      s = { shares: new Map(), timer }
      this.#sessions.set(session, s)
    }
    const old = s.shares.get(share.x)
    if (old !== undefined) { wipe(old.bytes); this.#shares-- }
    s.shares.set(share.x, share)
    this.#shares++
    // Oldest first; if that is this very session, its hints are lost, which only costs time.
    while (this.#shares > this.#maxShares) this.#drop(this.#sessions.keys().next().value as number)
  }

  /** Take every share kept for `session` (the caller must wipe them); undefined when none. */
  take (session: number): Map<number, OpenedShare> | undefined {
    const s = this.#sessions.get(session)
    if (s === undefined) return undefined
    clearTimeout(s.timer)
    this.#sessions.delete(session)
    this.#shares -= s.shares.size
    return s.shares
  }

  #drop (session: number): void {
    const s = this.take(session)
    if (s !== undefined) for (const share of s.values()) wipe(share.bytes)
  }
}
