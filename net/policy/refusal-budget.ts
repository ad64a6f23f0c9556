/**
 * Every refusal is charged (docs/architecture.md, "Trust rules"): against the
 * peer id, and, when the peer is not authenticated (neither an admitted node
 * nor a certified client), against its remote IP address too, since peer ids
 * cost nothing to make. Past the budget the peer (or address) is disconnected
 * and refused until the ban expires. The charge drains over time (a leaky
 * bucket), so a peer is banned for a rate of refusals, not a lifetime's total.
 *
 * @module
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ErrorCode } from '../../errors.ts'
import { setBounded } from '../../crypto/bounded-map.ts'
import { RateLimiter } from './rate-limiter.ts'

/** Codes that mean the peer sent something malformed or forged: a full unit each. */
export const INVALID_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_DECODE', 'ERR_TOO_LARGE', 'ERR_BAD_SIGNATURE', 'ERR_UNSUPPORTED_VERSION'])
/** Refusals that are this node's own state, not the peer's doing. */
const FREE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_BUSY', 'ERR_INTERNAL', 'ERR_STORAGE'])
/**
 * Weight of any other refusal: 1/50 of a unit. With the default budget (20
 * units draining over 10 minutes) a peer may be refused ~1,000 times in a
 * burst and ~100 times a minute for ever; a loop of thousands is banned.
 */
export const MINOR_REFUSAL_WEIGHT = 1 / 50
/** Weight of an admit push that changed nothing (anti-entropy makes a few a minute). */
export const NO_OP_WEIGHT = 1 / 100
/**
 * An address is shared by every peer behind it (a NAT, a site's hosts, a
 * devnet's loopback), so it may be refused this many times more than one
 * peer id before it is banned.
 */
export const ADDRESS_BUDGET_FACTOR = 4
/**
 * New connections a minute let through to the handshake from a banned
 * address (the rest are dropped before it, when the peer is not yet known):
 * enough for the admitted nodes and known clients behind it to reconnect
 * within seconds, few enough that fresh peer ids cost the node almost no
 * handshakes.
 */
export const BANNED_ADDRESS_CONNECTS_PER_MINUTE = 60
/** Most peers and addresses tracked at once (oldest charge forgotten first). */
const MAX_TRACKED = 65_536

/**
 * Weight of one refusal with `code`, by what it says about the sender:
 * malformed or forged input is a full unit; any other refusal (not found, rate
 * limited, stale, timed out) a small fraction, so a legitimate client's
 * occasional refusal never adds up to a ban while a loop of thousands does
 * within seconds; a refusal that is this node's own fault (busy, internal)
 * costs nothing.
 */
export function refusalWeight (code: ErrorCode): number {
  if (INVALID_CODES.has(code)) return 1
  if (FREE_CODES.has(code)) return 0
  return MINOR_REFUSAL_WEIGHT
}

/** The IP address of a multiaddr (`/ip4/…` or `/ip6/…`), or the whole address when it has none. */
export function addressKey (addr: Multiaddr): string {
  const parts = addr.toString().split('/')
  return parts[1] === 'ip4' || parts[1] === 'ip6' ? `${parts[1]}/${parts[2]}` : addr.toString()
}

interface Charge { units: number, at: number }

/**
 * Per-peer and per-address refusal budget. The charge drains at `budget`
 * units per window (a leaky bucket).
 *
 * @example
 * const budget = new RefusalBudget(20, 600_000, 600_000)
 * budget.isAuthenticated = (peer) => admission.isAuthorised(peer)
 * if (budget.charge(peer, refusalWeight('ERR_DECODE'), conn.remoteAddr)) await conn.close()
 */
export class RefusalBudget {
  private readonly peers = new Map<string, Charge>()
  private readonly addresses = new Map<string, Charge>()
  private readonly bannedPeers = new Map<string, number>()
  private readonly bannedAddresses = new Map<string, number>()
  private readonly connects = new RateLimiter(MAX_TRACKED)
  private readonly budget: number
  private readonly windowMs: number
  private readonly banMs: number
  /** Whether a peer is authenticated (its address is then never charged); none by default. */
  isAuthenticated: (peer: string) => boolean = () => false
  /** Whether a peer may still be served from a banned address (it authenticated before, e.g. on an earlier connection); as `isAuthenticated` by default. */
  isKnown: (peer: string) => boolean = (peer) => this.isAuthenticated(peer)

  /**
   * @param budget full-weight refusals allowed to one peer within a window (the next one bans); an address gets {@link ADDRESS_BUDGET_FACTOR} times as many
   * @param windowMs the time over which `budget` units drain
   * @param banMs how long a ban lasts
   */
  constructor (budget: number, windowMs: number, banMs: number) {
    this.budget = budget
    this.windowMs = windowMs
    this.banMs = banMs
  }

  /**
   * Charge one refusal of `weight` to `peer` and, unless it is
   * authenticated, to its `address`.
   *
   * @returns true when the peer or its address is now banned
   */
  charge (peer: string, weight = 1, address?: Multiaddr, now = Date.now()): boolean {
    if (weight <= 0) return false
    let banned = this.add({ charges: this.peers, banned: this.bannedPeers, key: peer, budget: this.budget }, weight, now)
    if (address !== undefined && !this.isAuthenticated(peer)) {
      const byAddress = { charges: this.addresses, banned: this.bannedAddresses, key: addressKey(address), budget: this.budget * ADDRESS_BUDGET_FACTOR }
      banned = this.add(byAddress, weight, now) || banned
    }
    return banned
  }

  /** Whether `peer` is banned now. */
  isBanned (peer: string, now = Date.now()): boolean {
    return isIn(this.bannedPeers, peer, now)
  }

  /** Whether the IP address of `address` is banned now (for unauthenticated peers). */
  isAddressBanned (address: Multiaddr, now = Date.now()): boolean {
    return isIn(this.bannedAddresses, addressKey(address), now)
  }

  /** Whether a request from `peer` at `address` is refused: the peer is banned, or it is not known and its address is. */
  refuses (peer: string, address: Multiaddr, now = Date.now()): boolean {
    return this.isBanned(peer, now) || (this.bannedAddresses.size > 0 && this.isAddressBanned(address, now) && !this.isKnown(peer))
  }

  /**
   * Whether to drop a new inbound connection from `address` before its
   * handshake (the peer id is not known yet): only when the address is
   * banned and has used its few connections a minute.
   */
  refusesConnection (address: Multiaddr, now = Date.now()): boolean {
    if (this.bannedAddresses.size === 0 || !this.isAddressBanned(address, now)) return false
    try {
      this.connects.take(addressKey(address), BANNED_ADDRESS_CONNECTS_PER_MINUTE, now)
      return false
    } catch {
      return true
    }
  }

  /** Charge `weight` to `key` in one ledger (peers or addresses); true when that puts it over `budget` and bans it. */
  private add ({ charges, banned, key, budget }: Ledger, weight: number, now: number): boolean {
    const c = charges.get(key)
    const drained = c === undefined ? 0 : Math.max(0, c.units - (now - c.at) * budget / this.windowMs)
    const units = drained + weight
    // Over budget at the (budget + 1)-th full unit; small charges round up to it only by the hundreds.
    if (units >= budget + 1 - 1e-9) {
      charges.delete(key)
      setBounded(banned, key, now + this.banMs, MAX_TRACKED)
      return true
    }
    charges.delete(key)
    setBounded(charges, key, { units, at: now }, MAX_TRACKED)
    return false
  }
}

/** One key's place in a ledger: its charges, the bans, and the budget it is held to. */
interface Ledger { charges: Map<string, Charge>, banned: Map<string, number>, key: string, budget: number }

function isIn (banned: Map<string, number>, key: string, now: number): boolean {
  const until = banned.get(key)
  if (until === undefined) return false
  if (now > until) { banned.delete(key); return false }
  return true
}
