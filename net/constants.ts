/**
 * Timing and size constants of the network layer (stream pool, access gate,
 * window-update batching), each with where its value comes from. Values that
 * only make sense in a given order are listed in {@link NET_ORDERING} and
 * checked when this module loads, so an edit that breaks the order fails at
 * start-up rather than as a rare timeout under load.
 *
 * net/admission.ts keeps its own constants for now.
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
 * After a holder's last frame on a stream, how long the peer has to close its
 * end before the stream is reset: a caller that has read the frame closes
 * within a round trip (a WAN one included), and a stream left half-open
 * would count against the connection's stream limits until the connection
 * closes.
 */
export const STREAM_REAP_MS = 500
/**
 * A new connection's first streams may wait this long for its admission
 * exchange to finish: identify runs when a connection opens and admission
 * right after it, so a client's first request (a DHT lookup, a fetch) can
 * overtake its own certificate. Three seconds covers a loaded machine; an
 * unadmitted peer gains nothing but a refusal that much later, on streams the
 * per-connection stream limits already bound.
 */
export const ADMISSION_GRACE_MS = 3_000
/**
 * Streams one peer may have waiting for its admission at once, over every
 * gated protocol: a client's first requests while its admission exchange
 * runs (as many as a holder protocol lets one peer open, node/constants.ts
 * MAX_INBOUND_STREAMS). More are reset: a flood of waiting streams would
 * only delay the admission they wait for.
 */
export const MAX_GRACE_STREAMS = 64
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

/**
 * DHT query concurrency (α): Kademlia's 3. kad-dht's default of 10, with as
 * many disjoint paths, lets one lookup keep up to 100 requests in flight,
 * which a public network of slow, flaky peers needs and a private network of
 * admitted nodes does not; hundreds of nodes in one process drown in it.
 */
export const DHT_ALPHA = 3
/**
 * Disjoint lookup paths: 3 of α each, so one hostile admitted node on a path
 * cannot steer a lookup alone (S/Kademlia's defence), at 9 requests in flight.
 */
export const DHT_DISJOINT_PATHS = 3
/**
 * How often a node looks up its own closest peers (kad-dht: 5 min). The
 * roster already names every admitted node, so the routing table only needs
 * keeping fresh against churn, which in a network of sites is slow.
 */
export const DHT_QUERY_SELF_INTERVAL_MS = 30 * 60_000
/** How often the routing table is refreshed bucket by bucket (kad-dht: 5 min, and not an option of its own); as the self lookup. */
export const DHT_TABLE_REFRESH_MS = 30 * 60_000
/**
 * Longest wait for one DHT request (kad-dht: 60 s, adaptive from 5 s): a
 * node that does not answer within 10 s is as good as down for a lookup that
 * a verification waits on, and a slot held for a minute by a dead peer is a
 * slot a live one could use.
 */
export const DHT_REQUEST_MAX_MS = 10_000
/**
 * Admitted nodes a manifest record is put to, and a lookup asks: the ones
 * closest to its key by the roster (net/record-replicas.ts). Every holder
 * also keeps the manifest beside its share and puts it back at each
 * reconciliation, so these replicas make a record findable; they are not its
 * only copy. kad-dht's default is its bucket size, 20.
 */
export const MANIFEST_REPLICAS = 8
/** How often the reprovider looks for provider records to refresh (kad-dht: 1 h); bioshard provides none. */
export const DHT_REPROVIDE_INTERVAL_MS = 24 * 3_600_000

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
