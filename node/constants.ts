/**
 * The site daemon's constants: request bounds (the defaults of a node's
 * configurable limits), shutdown, rejoin and reconciliation timings, the refusal
 * budget's window, and cache sizes, each with where its value comes from.
 * Values that only make sense in a given order are listed in
 * {@link NODE_ORDERING} and checked when this module loads.
 *
 * @module
 */
import { assertOrdering, POOL_IDLE_MS, type Ordering } from '../net/constants.ts'
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'

/** Default deadline to read, serve and answer one holder request: a synced store write on a slow disk takes well under a second. */
export const REQUEST_TIMEOUT_MS = 5_000
/**
 * Default time a holder keeps a stream open for its next request. Callers
 * close their idle pooled streams after POOL_IDLE_MS (net/constants.ts), so a
 * holder waiting longer never closes a stream a caller is about to reuse.
 */
export const STREAM_IDLE_MS = 30_000
/** Default concurrent inbound streams per peer (over all its connections) per protocol: a verifier's parallel fetches with headroom. */
export const MAX_INBOUND_STREAMS = 64
/** How long stop() waits for requests in flight before closing anyway: one request's deadline, so a request admitted just before can finish. */
export const DRAIN_TIMEOUT_MS = 5_000

/**
 * Tries of each bootstrap peer before a node reports ready: about a second
 * of backoff covers nodes started together; after that the node keeps
 * dialling in the background (net/bootstrap.ts) rather than delaying ready.
 */
export const BOOTSTRAP_START_ATTEMPTS = 3

/** How many known peers a restarted node dials to rejoin: enough for the DHT and the roster to fill in from them. */
export const REJOIN_PEERS = 8
/** Deadline of one rejoin dial: a TCP connect plus noise and yamux on a WAN link. */
export const REJOIN_DIAL_TIMEOUT_MS = 3_000
/** Deadline of one manifest lookup or republish in a reconciliation pass (a DHT walk to the closest peers). */
export const RECONCILE_TIMEOUT_MS = 10_000
/** The first reconciliation pass starts this long after start-up, once the node has settled into the network. */
export const RECONCILE_DELAY_MS = 2_000
/** Pause before each share of a scheduled pass: housekeeping must not compete with requests for the CPU. */
export const RECONCILE_PAUSE_MS = 100
/**
 * A pass over every held share this often: a node that was partitioned
 * rather than restarted learns of repairs and erasures that passed it by
 * within this, and DHT peers that restarted get the manifests back.
 */
export const RECONCILE_EVERY_MS = 60 * 60_000

/** Window over which a peer's invalid requests are counted against its budget (limits.invalidRequestBudget). */
export const INVALID_WINDOW_MS = 10 * 60_000
/** How long a peer over its refusal budget stays refused. */
export const BAN_MS = 10 * 60_000
/** What a stream refused by the access gate costs its peer (a malformed or forged request costs 1). */
export const GATE_REFUSAL_WEIGHT = 1

/** Decoded manifests kept in memory for fetch and erase: the held templates a busy node serves, at ≈ 2 KiB each. */
export const MANIFEST_CACHE_MAX = 10_000
/**
 * How long a request nonce is remembered: a request is fresh for
 * FRESHNESS_WINDOW_MS either side of the holder's clock, so its nonce must be
 * kept for the whole span in which it could still be accepted.
 */
export const REPLAY_WINDOW_MS = 2 * FRESHNESS_WINDOW_MS

/** The daemon's values that depend on each other (and on the network layer's). */
export const NODE_ORDERING: readonly Ordering[] = [
  {
    longer: ['STREAM_IDLE_MS', STREAM_IDLE_MS],
    shorter: ['POOL_IDLE_MS', POOL_IDLE_MS],
    why: 'a holder must keep an idle stream open longer than its caller keeps it for reuse'
  },
  {
    longer: ['DRAIN_TIMEOUT_MS', DRAIN_TIMEOUT_MS],
    shorter: ['REQUEST_TIMEOUT_MS', REQUEST_TIMEOUT_MS],
    orEqual: true,
    why: 'shutdown must let a request in flight reach its own deadline'
  },
  {
    longer: ['REPLAY_WINDOW_MS', REPLAY_WINDOW_MS],
    shorter: ['2 × FRESHNESS_WINDOW_MS', 2 * FRESHNESS_WINDOW_MS],
    orEqual: true,
    why: 'a nonce must be remembered while its request is still fresh'
  },
  {
    longer: ['RECONCILE_TIMEOUT_MS', RECONCILE_TIMEOUT_MS],
    shorter: ['RECONCILE_PAUSE_MS', RECONCILE_PAUSE_MS],
    why: 'a pass is paced by its pause, not cut short by its deadline'
  },
  {
    longer: ['RECONCILE_EVERY_MS', RECONCILE_EVERY_MS],
    shorter: ['RECONCILE_TIMEOUT_MS', RECONCILE_TIMEOUT_MS],
    why: 'a pass is scheduled far less often than one lookup may take'
  }
]

assertOrdering(NODE_ORDERING)
