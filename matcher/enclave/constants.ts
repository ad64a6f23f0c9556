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


/** AAD is the 32-byte fetch request hash; allow other bindings up to this length. */
export const MAX_AAD_BYTES = 1024

/** Encoded photos larger than this are refused before they cross into the child (the face matcher's own default limit). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024

/** Threshold of the sharing: the GF(2^8) x-coordinate range bounds both t and the share count. */
export const MAX_THRESHOLD = 255
