/**
 * Limits and timeouts of the enclave process, each with where it comes from.
 *
 * @module
 */

/**
 * Default deadline of one match. An embedding match takes about a
 * millisecond; a photo probe about 150 ms on one of these 2-core machines
 * (decode, detect, align, embed). Ten seconds leaves room for a loaded host
 * without letting a wedged child hold callers forever.
 */
export const MATCH_TIMEOUT_MS = 10_000

/**
 * Deadline for a child to report ready: process start and module loading take
 * about 100 ms, loading and warming the two face models about 200 ms more.
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
 * consumed-requests.ts): 131 072 of them sustain some 1 400 matches a second,
 * more than one enclave child matches, in some 25 MB at most. When full, the
 * enclave refuses new matches (ERR_BUSY) rather than forget one.
 */
export const MAX_CONSUMED_REQUESTS = 131_072
