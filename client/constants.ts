/**
 * Every limit and timeout of the verifier library, each with where its value
 * comes from. The relations between them (a holder request outlasts the hedge
 * delay, a fetch outlasts a request) are checked by {@link checkTimeouts},
 * which createClient runs on the caller's overrides too.
 *
 * @module
 */
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import type { ClientTimeouts } from './context.ts'

/**
 * Deadline of one request to one holder: a holder answers a fetch in a few
 * milliseconds on a LAN and well under a second across regions; 5 s leaves
 * room for a dial and a busy node without letting a dead one stall a verify.
 */
export const REQUEST_TIMEOUT_MS = 5_000

/**
 * Wait this long for the first t shares before asking a spare holder too:
 * above a holder's usual answer time on one network (tens of ms), so spares
 * are asked only when a holder is slow, not on every verification.
 */
export const HEDGE_DELAY_MS = 150

/** Deadline to publish or read a manifest in the DHT: a walk is a few hops of requests like a holder's, and gets the same bound. */
export const DHT_TIMEOUT_MS = 5_000

/** The timeouts a client uses when its options do not say otherwise (see {@link ClientTimeouts}). */
export const DEFAULT_TIMEOUTS: Readonly<ClientTimeouts> = Object.freeze({ requestMs: REQUEST_TIMEOUT_MS, hedgeMs: HEDGE_DELAY_MS, dhtMs: DHT_TIMEOUT_MS })

/** Largest timeout a caller may set: ten minutes, beyond which a client is hung, not patient. */
export const MAX_TIMEOUT_MS = 600_000

/**
 * Request deadlines one hedged fetch may span: the first holders timing out
 * and the spares asked after them each get one full request deadline.
 */
export const FETCH_ROUNDS = 2

/** A prepared fetch request older than this is signed again before it goes to a spare holder: a third of the holders' freshness window. */
export const REQUEST_REFRESH_MS = FRESHNESS_WINDOW_MS / 3

/** How long createClient waits for the roster, an admission and a DHT peer after dialling the bootstrap nodes. */
export const ROSTER_WAIT_MS = 10_000

/**
 * How long createClient keeps waiting past {@link ROSTER_WAIT_MS} once part of
 * the roster has arrived: the network is the right one and answering, only
 * slowly (a busy machine); returning then would leave enrolments short of sites.
 */
export const ROSTER_SLOW_WAIT_MS = 60_000

/** Poll interval while waiting for the roster: short against {@link ROSTER_WAIT_MS}, long against a timer tick. */
export const ROSTER_POLL_MS = 25

/**
 * Refusals a client tolerates from the nodes it talks to before dropping one
 * (the same budget shape as a node's, net/policy/refusal-budget.ts): 20 within
 * 10 minutes, then 10 minutes of silence.
 */
export const REFUSAL_BUDGET = { limit: 20, windowMs: 600_000, banMs: 600_000 } as const

/** Purposes of the verifier key a tenant-only client authorises for itself, and for how long. */
export const SELF_VERIFIER = { purposes: ['login', 'payment', 'step-up', 'session'], days: 30 } as const

/**
 * Enrolment: the shortest wait for a candidate holder to accept a dial before
 * placement skips it. The wait is the client's request timeout when that is
 * longer: a holder that answers requests within it is a holder, however busy
 * its machine makes the handshake; a refused dial fails at once either way.
 */
export const CONNECT_TIMEOUT_MS = 2_000

/** Enrolment attempts: the first, and one retry under a fresh id without the holders that failed. */
export const ENROLL_ATTEMPTS = 2

/** Enrolment defaults: 3 of 5 survives two lost sites and needs three colluding ones to reconstruct. */
export const DEFAULT_T = 3
export const DEFAULT_N = 5

/** Erase: rounds retried for holders that did not confirm, and the base delay between rounds (grows linearly). */
export const ERASE_RETRIES = 3
export const ERASE_RETRY_DELAY_MS = 250

/** Manifest publish: peers that must store the record before publish returns; the put goes on to the other closest peers in the background. */
export const PUBLISH_REPLICAS = 4
/** How long the background part of a manifest put may keep replicating. */
export const PUBLISH_BACKGROUND_MS = 30_000
/** Manifest lookup: valid copies read before the walk stops. */
export const GET_REPLICAS = 3
/** After the first valid copy, wait at most this long for more before using it. */
export const GET_GRACE_MS = 100
/** Lookups tried (with a growing pause of {@link LOOKUP_BACKOFF_MS} × attempt) before a template is reported unknown. */
export const LOOKUP_ATTEMPTS = 3
export const LOOKUP_BACKOFF_MS = 100
/** Deadline of one lookup when the caller gives none: the client's DHT deadline. */
export const LOOKUP_DEFAULT_MS = DHT_TIMEOUT_MS

/** How long a prepared template id may wait for its enrolment (consent is collected in between). */
export const PREPARED_ID_TTL_MS = 60 * 60_000
/** Prepared ids kept at once; the oldest is forgotten beyond this. */
export const MAX_PREPARED_IDS = 10_000

/**
 * Check the relations the fetch relies on: a holder request outlasts the hedge
 * delay (else every verification would ask spares before any holder could
 * answer), so a fetch of t shares can finish within its deadline.
 *
 * @param t - the timeouts in force
 * @throws {RangeError} naming the timeout that breaks a relation
 * @example checkTimeouts({ ...DEFAULT_TIMEOUTS, ...options.timeouts })
 */
export function checkTimeouts (t: ClientTimeouts): void {
  if (!(t.requestMs > t.hedgeMs)) throw new RangeError(`timeouts.hedgeMs (${t.hedgeMs}) must be below timeouts.requestMs (${t.requestMs})`)
}

/** Deadline of one hedged fetch of t shares under these timeouts: {@link FETCH_ROUNDS} request deadlines. */
export function fetchDeadlineMs (t: ClientTimeouts): number {
  return FETCH_ROUNDS * t.requestMs
}
