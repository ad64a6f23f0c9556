/**
 * Sizes the crypto room shares with every other room. Defined here, the
 * lowest room, so `protocol/constants.ts` and the envelope and share code
 * name one value.
 *
 * @module
 */

/** Template ids are 32 random bytes (docs/architecture.md, "Data": never derived from a name or from the template). */
export const TEMPLATE_ID_BYTES = 32
