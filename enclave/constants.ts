/**
 * Limits and timeouts of the enclave process, each with where it comes from.
 *
 * @module
 */

/**
 * Default deadline of one match, far above what an embedding or photo match
 * takes (docs/performance.md): it leaves room for a loaded host without letting
 * a wedged child hold callers forever.
 */
export const MATCH_TIMEOUT_MS = 10_000

/**
 * Deadline for a child to report ready (process start, module loading and,
 * with image probes, loading and warming the two face models), with the same
 * room for a loaded host.
 */
export const START_TIMEOUT_MS = 20_000

/** After asking the child to exit on close, wait this long before SIGKILL. */
export const CLOSE_GRACE_MS = 1_000

/** Requests in flight at once; further calls fail fast with ERR_BUSY instead of queueing without bound. */
export const MAX_PENDING = 256

/** Encoded photos larger than this are refused before they cross into the child (the face matcher's own default limit). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024

/**
 * Fetch requests whose shares the enclave has consumed, remembered at once.
 * Each is kept for twice the holders' freshness window (90 s at most, see
 * consumed-requests.ts), so this bounds the sustained match rate at 131 072 / 90 s,
 * above what one enclave child matches (docs/performance.md). When full, the
 * enclave refuses new matches (ERR_BUSY) rather than forget one.
 */
export const MAX_CONSUMED_REQUESTS = 131_072
