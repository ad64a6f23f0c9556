/**
 * A node's keys on disk: `peer.key` (the Ed25519 seed of its libp2p
 * identity, which also signs receipts) and `storage.key` (the 256-bit key
 * that encrypts shares at rest), both 0600; `node.cert` holds the
 * certificate the authority issued for this peer.
 *
 * @module
 */
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { randomBytes, wipe } from '../crypto/bytes.ts'
import { signingKeyFromSeed, type SigningKey } from '../crypto/sign.ts'
import { decodeCanonical } from '../crypto/canonical.ts'
import { BioshardError } from '../errors.ts'
import { readNodeCert, type NodeCert } from '../protocol/certs.ts'
import { writeSecretFile, readBytesFile } from '../keys/files.ts'

export const PEER_KEY_FILE = 'peer.key'
export const STORAGE_KEY_FILE = 'storage.key'
export const CERT_FILE = 'node.cert'
/** Length of the Ed25519 seed in `peer.key`. */
export const PEER_SEED_BYTES = 32

export interface NodeKeys {
  privateKey: PrivateKey
  signing: SigningKey
  peerId: string
  /** The at-rest key; the share store keeps its own KeyObject and this copy is wiped after open. */
  storageKey: Uint8Array
}

/**
 * Generate both keys in `dir` (refuses to overwrite); returns the peer id.
 *
 * @param seed - 32 bytes to derive the peer key from instead of fresh randomness (copied, not wiped): the simulator
 *   seeds identities so that a run is repeatable. The storage key is always fresh.
 * @throws {RangeError} when `seed` is given and is not 32 bytes
 */
export async function initKeys (dir: string, seed?: Uint8Array): Promise<string> {
  if (seed !== undefined && seed.length !== PEER_SEED_BYTES) throw new RangeError(`seed must be ${PEER_SEED_BYTES} bytes`)
  const peerSeed = seed !== undefined ? seed.slice() : randomBytes(PEER_SEED_BYTES)
  const storage = randomBytes(32)
  try {
    writeSecretFile(join(dir, PEER_KEY_FILE), peerSeed)
    writeSecretFile(join(dir, STORAGE_KEY_FILE), storage)
    const key = await generateKeyPairFromSeed('Ed25519', peerSeed)
    return peerIdFromPrivateKey(key).toString()
  } finally {
    wipe(peerSeed, storage)
  }
}

/** Load both keys from `dir`. */
export async function loadKeys (dir: string): Promise<NodeKeys> {
  const seed = readBytesFile(join(dir, PEER_KEY_FILE), 'peer key')
  const storageKey = readBytesFile(join(dir, STORAGE_KEY_FILE), 'storage key')
  if (seed.length !== 32) throw new BioshardError('ERR_CONFIG', `${join(dir, PEER_KEY_FILE)} is corrupt`)
  if (storageKey.length !== 32) throw new BioshardError('ERR_CONFIG', `${join(dir, STORAGE_KEY_FILE)} is corrupt`)
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  const signing = signingKeyFromSeed(seed)
  wipe(seed)
  return { privateKey, signing, peerId: peerIdFromPrivateKey(privateKey).toString(), storageKey }
}

/** Load this node's certificate, or undefined if the authority has not admitted it yet. */
export function loadCert (dir: string): NodeCert | undefined {
  const path = join(dir, CERT_FILE)
  if (!existsSync(path)) return undefined
  return readNodeCert(decodeCanonical(readBytesFile(path, 'node certificate'), 4096, 'node certificate'))
}
