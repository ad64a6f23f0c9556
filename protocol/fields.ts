/**
 * Field formats shared by several messages (re-exported from
 * `field-formats.ts`), and the one helper that needs libp2p: the public key
 * inside a peer id.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { DecodeError } from '../errors.ts'

export { NAME, PURPOSE, MODEL_ID, NETWORK_ID, peerField, nameField } from './field-formats.ts'

/**
 * The raw Ed25519 public key inside an Ed25519 peer id.
 *
 * @throws {DecodeError} when the id is not an Ed25519 peer id
 */
export function peerPublicKey (peerId: string): Uint8Array {
  try {
    const id = peerIdFromString(peerId)
    if (id.type !== 'Ed25519') throw new Error('not Ed25519')
    return id.publicKey.raw
  } catch (e) {
    throw new DecodeError(`peer id ${peerId.slice(0, 64)} is not an Ed25519 peer id`, { cause: e })
  }
}
