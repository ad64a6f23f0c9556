/**
 * Field formats shared by several messages (peer ids, names, purposes), so
 * every decoder validates them the same way. Pure (no libp2p code), so the
 * enclave child can decode a manifest; `fields.ts` adds what needs libp2p.
 *
 * @module
 */
import { strField, type CborMap } from '../crypto/canonical.ts'
import { MAX_NAME_CHARS } from './constants.ts'

/** Base58btc peer ids of Ed25519 keys (identity multihash, "12D3KooW…"). */
const PEER_ID = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/
/** Site, tenant and verifier names: printable, no control characters. */
export const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._@:/-]{0,127}$/u
/** Purposes are short lowercase tokens such as `login` or `payment`. */
export const PURPOSE = /^[a-z][a-z0-9._-]{0,63}$/
/** Model ids such as `mobilefacenet-foamliu-a6cc9032`. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/
/** Network ids: `bsn-` and 16 hex characters. */
export const NETWORK_ID = /^bsn-[0-9a-f]{16}$/

/** Read and check a peer-id field. */
export function peerField (m: CborMap, key: string, what: string): string {
  return strField(m, key, what, { max: 64, pattern: PEER_ID })
}

/** Read a name field (site, tenant, verifier). */
export function nameField (m: CborMap, key: string, what: string): string {
  return strField(m, key, what, { max: MAX_NAME_CHARS, pattern: NAME })
}
