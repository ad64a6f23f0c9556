/**
 * A node's address statement: the multiaddrs a node can be dialled at, signed
 * by that node's own libp2p Ed25519 key, with a sequence number. Addresses are
 * the one part of a roster entry the authority does not sign; letting any
 * relaying peer say where a node lives let a stranger poison every roster and
 * peer store. So addresses come only from the node, a newer `seq` replaces an
 * older statement as a whole, and relays pass the signed statement unchanged.
 *
 * @module
 */
import { asMap, arrayField, enumField, intField, strField } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { BioshardError } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { readSigned, signBody, type Signed, type SignedWire } from './signed.ts'
import { peerField, peerPublicKey, NETWORK_ID } from './fields.ts'
import { MAX_ADDRS_PER_PEER, WIRE_VERSION } from './constants.ts'

/** Body of a node's signed address statement. */
export interface NodeAddressesBody { v: number, kind: 'addrs', network: string, peer: string, seq: number, addrs: string[] }
export type NodeAddresses = Signed<NodeAddressesBody>

/** Longest multiaddr accepted (a dns name, a port and a /p2p suffix fit easily). */
export const MAX_MULTIADDR_CHARS = 256
/** Printable ASCII multiaddrs starting with '/'. */
const MULTIADDR = /^\/[\x21-\x7e]+$/
/** The largest sequence number (the largest exact JS integer). */
const MAX_SEQ = Number.MAX_SAFE_INTEGER

/** Decode an address statement body. @throws {DecodeError} */
export function decodeNodeAddressesBody (value: unknown): NodeAddressesBody {
  const what = 'address statement'
  const m = asMap(value, what, ['v', 'kind', 'network', 'peer', 'seq', 'addrs'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['addrs'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    peer: peerField(m, 'peer', what),
    seq: intField(m, 'seq', what, { min: 0, max: MAX_SEQ }),
    addrs: arrayField(m, 'addrs', what, {
      max: MAX_ADDRS_PER_PEER,
      item: (a) => strField({ a }, 'a', `${what}.addrs[]`, { max: MAX_MULTIADDR_CHARS, pattern: MULTIADDR })
    })
  }
}

/** Read a signed address statement (structure only; see {@link checkNodeAddresses}). */
export const readNodeAddresses = (v: unknown): NodeAddresses => readSigned(v, 'address statement', decodeNodeAddressesBody)

/**
 * Sign this node's address statement with its peer key.
 *
 * @param key the node's libp2p Ed25519 key as a signing key (`keys.signing`)
 * @param body who, which network, the sequence number and at most {@link MAX_ADDRS_PER_PEER} addresses (more are cut)
 * @example signNodeAddresses(keys.signing, { network, peer, seq: Date.now(), addrs: ['/ip4/10.0.0.1/tcp/4001'] })
 */
export function signNodeAddresses (key: SigningKey, body: Omit<NodeAddressesBody, 'v' | 'kind'>): SignedWire {
  const signed: NodeAddressesBody = { v: WIRE_VERSION, kind: 'addrs', ...body, addrs: body.addrs.slice(0, MAX_ADDRS_PER_PEER) }
  return signBody(SIG.NODE_ADDRESSES, signed, key)
}

/**
 * Check that `statement` is about `peer` in `network` and signed by that
 * peer's own key (it verifies under the public key inside the peer id it
 * names, so a relay cannot forge or extend it).
 *
 * @param verify the signature check to use (a cache of verified signatures, or `checkSigned`)
 * @throws {BioshardError} ERR_BAD_REQUEST for another peer or network, ERR_BAD_SIGNATURE when not signed by the peer
 */
export function checkNodeAddresses (
  statement: NodeAddresses,
  peer: string,
  network: string,
  verify: (tag: typeof SIG.NODE_ADDRESSES, signed: Signed<unknown>, key: Uint8Array, what: string) => void
): void {
  if (statement.body.peer !== peer) throw new BioshardError('ERR_BAD_REQUEST', `address statement of ${statement.body.peer} sent for ${peer}`)
  if (statement.body.network !== network) throw new BioshardError('ERR_BAD_REQUEST', `address statement is for network ${statement.body.network}`)
  verify(SIG.NODE_ADDRESSES, statement, peerPublicKey(peer), `address statement of ${peer}`)
}
