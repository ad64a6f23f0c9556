/**
 * Timing and size constants of the network layer (stream pool, access gate,
 * window-update batching), each with where its value comes from. Values that
 * only make sense in a given order are listed in {@link NET_ORDERING} and
 * checked when this module loads, so an edit that breaks the order fails at
 * start-up rather than as a rare timeout under load.
 *
 * net/host.ts and net/admission.ts keep their own constants for now.
 *
 * @module
 */

/**
 * Idle streams are closed by the caller after this long. Holders keep a
 * stream open longer (node/constants.ts STREAM_IDLE_MS), so a caller never
 * sends on a stream the holder is about to close.
 */
export const POOL_IDLE_MS = 10_000
/** Idle streams kept per peer and protocol: a verifier's burst of parallel fetches to one holder; more are closed when done. */
export const POOL_MAX_IDLE = 32

/** Deadline for writing a refusal frame to a peer that is not let in: a small frame on loopback or a WAN link. */
export const REFUSAL_WRITE_MS = 2_000
/**
 * A new connection's first streams may wait this long for its admission
 * exchange to finish: identify runs when a connection opens and admission
 * right after it, so a client's first request (a DHT lookup, a fetch) can
 * overtake its own certificate. Three seconds covers a loaded machine; an
 * unadmitted peer gains nothing but a refusal that much later, on streams the
 * per-connection stream limits already bound.
 */
export const ADMISSION_GRACE_MS = 3_000
/** How often a stream in its grace period looks again: well under a request's round trip on a busy host. */
export const GRACE_POLL_MS = 20
/** How long a connected DHT peer may wait for admission before it is left out of the routing table (several admission rounds). */
export const ADMISSION_WAIT_MS = 15_000
/** How often a DHT peer waiting for admission is looked at again. */
export const ADMISSION_POLL_MS = 100
/** Peers waiting for admission at once; more are left out (they connect again later). */
export const MAX_WAITING_ADMISSION = 256

/** A stream's held window-update delta at which everything held is sent: a quarter of yamux's 256 KiB initial window. */
export const FLUSH_DELTA = 64 * 1024
/** How many streams may have a held window update before everything held is sent (bounds the memory held per connection). */
export const MAX_HELD_STREAMS = 64

/** Two values that must keep an order: `longer` above `shorter` (or equal to it, when `orEqual`), for the reason given. */
export interface Ordering {
  longer: readonly [name: string, value: number]
  shorter: readonly [name: string, value: number]
  orEqual?: boolean
  why: string
}

/**
 * Check that each ordering holds.
 *
 * @param rules - the orderings to check
 * @throws {RangeError} naming the first pair out of order
 * @example assertOrdering([{ longer: ['A_MS', 2], shorter: ['B_MS', 1], why: 'A waits for B' }])
 */
export function assertOrdering (rules: readonly Ordering[]): void {
  for (const { longer, shorter, orEqual, why } of rules) {
    if (!(longer[1] > shorter[1] || (orEqual === true && longer[1] === shorter[1]))) {
      throw new RangeError(`${longer[0]} (${longer[1]}) must be above ${orEqual === true ? 'or equal to ' : ''}${shorter[0]} (${shorter[1]}): ${why}`)
    }
  }
}

/** The network layer's values that depend on each other. */
export const NET_ORDERING: readonly Ordering[] = [
  { longer: ['ADMISSION_GRACE_MS', ADMISSION_GRACE_MS], shorter: ['GRACE_POLL_MS', GRACE_POLL_MS], why: 'a stream in its grace must be looked at again' },
  { longer: ['ADMISSION_WAIT_MS', ADMISSION_WAIT_MS], shorter: ['ADMISSION_POLL_MS', ADMISSION_POLL_MS], why: 'a waiting DHT peer must be looked at again' },
  {
    longer: ['ADMISSION_WAIT_MS', ADMISSION_WAIT_MS],
    shorter: ['ADMISSION_GRACE_MS', ADMISSION_GRACE_MS],
    why: 'a peer whose streams are served after the grace must not be left out of the routing table'
  }
]

assertOrdering(NET_ORDERING)
