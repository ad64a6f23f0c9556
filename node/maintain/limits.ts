/**
 * Bounds of a node's maintenance rounds: how many it joins at once, per
 * coordinator and in all, and how long one may stay open. A round holds a
 * share-sized buffer or two per party, so these bound memory and the CPU a
 * coordinator can make a node spend.
 *
 * @module
 */

/**
 * How long a joined round may stay open before the node drops its pending
 * share: a round is four exchanges on a live network (well under a second
 * each); a minute covers a busy machine and a slow coordinator.
 */
export const ROUND_TTL_MS = 60_000
/** Rounds one coordinator peer may hold open at a node: a maintainer runs rounds for a few templates at a time. */
export const MAX_ROUNDS_PER_PEER = 8
/** Rounds open at a node in all, whatever the coordinators: each holds at most a few share-sized buffers. */
export const MAX_ROUNDS = 128
/** Deadline of one holder-to-holder `deal` or `sum`: one small message to an admitted peer. */
export const PART_TIMEOUT_MS = 10_000
/** Concurrent inbound maintain streams per connection: a coordinator's parallel steps plus a helper's deals. */
export const MAX_MAINTAIN_STREAMS = 16
/** Deadline to serve one maintain request: `start` waits for every other party's deal, so it gets the round's time. */
export const MAINTAIN_REQUEST_TIMEOUT_MS = ROUND_TTL_MS
