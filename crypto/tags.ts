/**
 * Every domain-separation tag in bioshard, in one place (as hypercore's
 * `caps`): no two contexts ever sign, hash or derive over the same bytes.
 * Tags are versioned; changing one is a wire-format change.
 *
 * @module
 */

/** Tags prefixed to the canonical bytes of each signed message type. */
export const SIG = {
  AUTHORITY_CERT: 'bioshard/v1/sig/authority-cert',
  VERIFIER_CERT: 'bioshard/v1/sig/verifier-cert',
  MANIFEST: 'bioshard/v1/sig/manifest',
  STORE_REQUEST: 'bioshard/v1/sig/store-request',
  STORE_RECEIPT: 'bioshard/v1/sig/store-receipt',
  FETCH_REQUEST: 'bioshard/v1/sig/fetch-request',
  FETCH_RESPONSE: 'bioshard/v1/sig/fetch-response',
  ERASE_REQUEST: 'bioshard/v1/sig/erase-request',
  ERASE_RECEIPT: 'bioshard/v1/sig/erase-receipt',
  ATTESTATION: 'bioshard/v1/sig/enclave-attestation',
  DECISION: 'bioshard/v1/sig/match-decision',
  CONSENT: 'bioshard/v1/sig/consent',
  /** A node's statement of its own addresses, signed with its peer key (protocol/node-addresses.ts). */
  NODE_ADDRESSES: 'bioshard/v1/sig/node-addresses',
  /** A client's proof, in its admit request, that it holds a certified key (protocol/client-proof.ts). */
  CLIENT_PROOF: 'bioshard/v1/sig/client-proof',
  /** A possession audit asked by the tenant or its delegated auditor (protocol/audit.ts). */
  AUDIT_REQUEST: 'bioshard/v1/sig/audit-request',
  /** A holder's signed proof of possession (protocol/audit.ts). */
  AUDIT_RESPONSE: 'bioshard/v1/sig/audit-response',
  /** Every message of a refresh or repair round (protocol/maintain.ts). */
  MAINTAIN: 'bioshard/v1/sig/maintain',
  /** The authority's revocation of one node (protocol/revocation.ts). */
  REVOCATION: 'bioshard/v1/sig/revocation',
  /** A node's own notice that it is retiring (protocol/revocation.ts). */
  RETIREMENT: 'bioshard/v1/sig/retirement'
} as const

/** Tags for domain-separated hashes. */
export const HASH = {
  SHARE_COMMITMENT: 'bioshard/v1/hash/share-commitment',
  AUDIT_ENTRY: 'bioshard/v1/hash/audit-entry',
  PLACEMENT: 'bioshard/v1/hash/placement',
  ENCLAVE_MEASUREMENT: 'bioshard/v1/hash/enclave-measurement',
  REQUEST: 'bioshard/v1/hash/request',
  /** Names a tenant in DHT record keys and holder storage slots (protocol/ownership.ts). */
  TENANT_TAG: 'bioshard/v1/hash/tenant-tag',
  /** In-memory key of a signature already verified (never sent or stored). */
  VERIFIED_SIGNATURE: 'bioshard/v1/hash/verified-signature',
  /** Names one exact manifest (its canonical bytes) in fetch responses, seal bindings and decisions (protocol/seal-binding.ts). */
  MANIFEST_DIGEST: 'bioshard/v1/hash/manifest-digest',
  /** The HPKE AAD a holder seals a share with: request hash, request time, manifest digest (protocol/seal-binding.ts). */
  SEAL_BINDING: 'bioshard/v1/hash/seal-binding',
  /** Derives the Pedersen generators of audit commitments (crypto/possession.ts). */
  AUDIT_GENERATOR: 'bioshard/v1/hash/audit-generator',
  /** Derives an audit commitment's blinding scalar from the share (crypto/possession.ts). */
  AUDIT_BLINDING: 'bioshard/v1/hash/audit-blinding',
  /** The Fiat-Shamir challenge of a possession proof (crypto/possession.ts). */
  AUDIT_CHALLENGE: 'bioshard/v1/hash/audit-challenge'
} as const

/** AEAD associated-data and HPKE `info` labels. */
export const AEAD = {
  TEMPLATE: 'bioshard/v1/aead/template',
  SHARE_AT_REST: 'bioshard/v1/aead/share-at-rest',
  /** A share's own key at rest, wrapped under the node storage key (node/store/share-record.ts) */
  SHARE_KEY_AT_REST: 'bioshard/v1/aead/share-key-at-rest',
  HPKE_SHARE_SEAL: 'bioshard/v1/hpke/share-seal',
  /** HPKE setup `info` of a sender context that seals many shares (crypto/seal.ts) */
  HPKE_SEAL_CONTEXT: 'bioshard/v1/hpke/seal-context',
  /** HPKE `info` of a refresh sub-share or repair mask sealed to one holder (protocol/maintain.ts) */
  HPKE_MAINTAIN: 'bioshard/v1/hpke/maintain'
} as const

export type SigTag = typeof SIG[keyof typeof SIG]
export type HashTag = typeof HASH[keyof typeof HASH]
