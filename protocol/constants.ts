/**
 * Protocol ids, message limits and timeouts for every bioshard wire protocol.
 * Limits are sized from the largest legitimate message with headroom; a
 * message over its limit is refused before it is parsed.
 *
 * @module
 */
import { SEALED_MIN_BYTES } from '../crypto/seal.ts'

export const PROTOCOL = {
  KAD: '/bioshard/kad/1.0.0',
  ADMIT: '/bioshard/admit/1.0.0',
  STORE: '/bioshard/store/1.0.0',
  FETCH: '/bioshard/fetch/1.0.0',
  ERASE: '/bioshard/erase/1.0.0',
  AUDIT: '/bioshard/audit/1.0.0',
  MAINTAIN: '/bioshard/maintain/1.0.0'
} as const

/** Wire-format version carried in every message body. */
export const WIRE_VERSION = 1

export { TEMPLATE_ID_BYTES } from '../crypto/constants.ts'
export const NONCE_BYTES = 16
export const KEY_BYTES = 32
export const HASH_BYTES = 32
/** An audit commitment: one encoded ristretto255 point (crypto/possession.ts `AUDIT_COMMITMENT_BYTES`). */
export const AUDIT_COMMITMENT_BYTES = 32

/** A 512-d float32 template plus envelope is ~2.1 KiB; int8 and 1024-d models fit too. */
export const MAX_SHARE_BYTES = 16 * 1024
/** A share sealed to an enclave: sealing adds HPKE's encapsulated key (32), a salt (16) and a tag (16). Holders send no more, the enclave accepts no more. */
export const MAX_SEALED_SHARE_BYTES = MAX_SHARE_BYTES + SEALED_MIN_BYTES
/**
 * A possession proof for the longest share: 32 bytes for the point A and for
 * each scalar (blinding, length, the share packed 31 bytes a scalar), as
 * crypto/possession.ts `MAX_AUDIT_PROOF_BYTES` (a test keeps the two equal;
 * the enclave loads this file, so it does not import the curve code).
 */
export const MAX_AUDIT_PROOF_BYTES = 32 * (3 + Math.ceil(MAX_SHARE_BYTES / 31))
/** A manifest lists at most 255 shares (GF(2^8) x-coordinates) plus policy; 64 KiB is ample. */
export const MAX_MANIFEST_BYTES = 64 * 1024
export const MAX_SHARES = 255
/**
 * Largest manifest `seq`. A refresh or repair adds one; 2^40 of them is more
 * than any enrolment will see, and every `seq + 1` stays an exact integer.
 */
export const MAX_SEQ = 2 ** 40
export const MAX_POLICY_ITEMS = 64
export const MAX_NAME_CHARS = 128
/**
 * A roster message carries at most this many entries: one network of many
 * sites with a few nodes each. Every entry names a distinct node, so this is
 * the largest network one message can describe; the old 4,096 let a stranger
 * send 4,096 copies of one certificate for the node to check.
 */
export const MAX_ROSTER_ENTRIES = 512
/** A node states at most this many addresses of its own (libp2p dials few more per peer). */
export const MAX_ADDRS_PER_PEER = 8
/**
 * Bytes of one roster entry on the wire, with headroom: a node certificate
 * is ≈ 300 B, an address statement ≈ 250 B plus its addresses (≈ 40 B each),
 * a retirement notice ≈ 200 B (a revoked node's entry carries only its
 * certificate and the revocation).
 */
export const ROSTER_ENTRY_BYTES = 1280
/**
 * CBOR items (every head: maps, keys, values, array elements) one roster
 * entry may hold: ≈ 40 for a certificate and a statement with 8 addresses,
 * ≈ 12 more for a retirement notice.
 */
export const ROSTER_ENTRY_ITEMS = 64
/** Items and bytes of the rest of an admit message (version, client proof with two certificates). */
export const ADMIT_OVERHEAD_ITEMS = 128
export const ADMIT_OVERHEAD_BYTES = 4096

export const MAX_MESSAGE_BYTES = {
  [PROTOCOL.ADMIT]: MAX_ROSTER_ENTRIES * ROSTER_ENTRY_BYTES + ADMIT_OVERHEAD_BYTES,
  [PROTOCOL.STORE]: MAX_MANIFEST_BYTES + MAX_SHARE_BYTES + 4096,
  [PROTOCOL.FETCH]: MAX_MANIFEST_BYTES / 4,
  [PROTOCOL.ERASE]: MAX_MANIFEST_BYTES + 4096,
  /** Ids, a nonce and at most one verifier certificate (≈ 400 B): 4 KiB is ample. */
  [PROTOCOL.AUDIT]: 4096,
  /** An `open` or `commit` carries one manifest (protocol/maintain.ts MAX_MAINTAIN_BYTES). */
  [PROTOCOL.MAINTAIN]: MAX_MANIFEST_BYTES + 4096
} as const

/** Responses: a sealed share (≈ share + 48 B) plus a signature and ids. */
export const MAX_RESPONSE_BYTES = {
  [PROTOCOL.ADMIT]: MAX_ROSTER_ENTRIES * ROSTER_ENTRY_BYTES + ADMIT_OVERHEAD_BYTES,
  [PROTOCOL.STORE]: 4096,
  [PROTOCOL.FETCH]: MAX_SHARE_BYTES + 4096,
  [PROTOCOL.ERASE]: 4096,
  /** A possession proof for the longest share (crypto/possession.ts) plus ids and a signature. */
  [PROTOCOL.AUDIT]: MAX_AUDIT_PROOF_BYTES + 4096,
  /** A `join`, `ready` or `done`: ids, commitments and a signature. */
  [PROTOCOL.MAINTAIN]: 4096
} as const

/** Requests older or newer than this (ms) are stale (clock skew allowance). */
export const FRESHNESS_WINDOW_MS = 30_000
