/**
 * `/bioshard/admit/1.0.0` messages: peers swap the node certificates they
 * know, each with the node's own signed address statement when known, so
 * every node and client learns the roster of admitted nodes, their sites and
 * where to dial them. Certificates carry the authority's signature and
 * statements the node's own (protocol/node-addresses.ts), so gossip needs no
 * trust in the relaying peer. A client's request may also carry its proof
 * of certification (protocol/client-proof.ts).
 *
 * The message is bounded before it is decoded: by size, and by a scan of its
 * CBOR heads that counts items without building anything, so a message of
 * many tiny items costs the scan, not the decoder's allocations. A message
 * that lists one node twice is malformed (refused before any signature is
 * checked).
 *
 * @module
 */
import { asMap, arrayField, intField, decodeCanonical, encodeCanonical } from '../crypto/canonical.ts'
import { DecodeError, TooLargeError } from '../crypto/errors.ts'
import { readNodeCert, type NodeCert } from './certs.ts'
import { readNodeAddresses, type NodeAddresses } from './node-addresses.ts'
import { readClientProof, type ClientProof } from './client-proof.ts'
import { toWire } from './signed.ts'
import { ADMIT_OVERHEAD_ITEMS, MAX_MESSAGE_BYTES, MAX_ROSTER_ENTRIES, PROTOCOL, ROSTER_ENTRY_ITEMS, WIRE_VERSION } from './constants.ts'

/** One admitted node as gossiped: its certificate and, when known, its own address statement. */
export interface RosterEntry { cert: NodeCert, addrs?: NodeAddresses }
export interface AdmitMessage { v: number, entries: RosterEntry[], client?: ClientProof }

/** Most CBOR items an admit message may hold. */
export const MAX_ADMIT_ITEMS = MAX_ROSTER_ENTRIES * ROSTER_ENTRY_ITEMS + ADMIT_OVERHEAD_ITEMS

function decodeEntry (value: unknown, i: number): RosterEntry {
  const what = `admit.entries[${i}]`
  const m = asMap(value, what, ['cert'], ['addrs'])
  const cert = readNodeCert(m.cert)
  return m.addrs === undefined ? { cert } : { cert, addrs: readNodeAddresses(m.addrs) }
}

/**
 * Count the CBOR items in `bytes` from their heads alone, refusing more than
 * `max`. Malformed heads are left to the decoder that runs next; this only
 * has to stop early and never allocate.
 *
 * @throws {TooLargeError} ERR_TOO_LARGE past `max` items; {DecodeError} for indefinite lengths or truncation
 */
export function scanItems (bytes: Uint8Array, max: number, what: string): number {
  let pos = 0
  let pending = 1
  let count = 0
  while (pending > 0) {
    if (pos >= bytes.length) throw new DecodeError(`${what} is truncated`)
    const head = bytes[pos++]
    const major = head >> 5
    const info = head & 0x1f
    let arg = info
    if (info >= 24) {
      if (info > 27) throw new DecodeError(`${what} uses an indefinite or reserved length`)
      const size = 1 << (info - 24)
      if (pos + size > bytes.length) throw new DecodeError(`${what} is truncated`)
      arg = 0
      for (let i = 0; i < size; i++) arg = arg * 256 + bytes[pos + i]
      pos += size
    }
    pending--
    count++
    if (major === 2 || major === 3) {
      if (arg > bytes.length - pos) throw new DecodeError(`${what} is truncated`)
      pos += arg
    } else if (major === 4 || major === 5 || major === 6) {
      pending += major === 5 ? 2 * arg : major === 6 ? 1 : arg
    }
    if (count + pending > max) throw new TooLargeError(`${what} (items)`, count + pending, max)
  }
  return count
}

/** Decode an admit message (request body): bounded by size and item count first. */
export function decodeAdmitMessage (bytes: Uint8Array): AdmitMessage {
  const max = MAX_MESSAGE_BYTES[PROTOCOL.ADMIT]
  if (bytes.length > max) throw new TooLargeError('admit message', bytes.length, max)
  scanItems(bytes, MAX_ADMIT_ITEMS, 'admit message')
  return readAdmitMessage(decodeCanonical(bytes, max, 'admit message'))
}

/** Read an admit message from an already decoded value; refuses a node listed twice. */
export function readAdmitMessage (value: unknown): AdmitMessage {
  const what = 'admit message'
  const m = asMap(value, what, ['v', 'entries'], ['client'])
  const v = intField(m, 'v', what, WIRE_VERSION, WIRE_VERSION)
  const entries = arrayField(m, 'entries', what, MAX_ROSTER_ENTRIES, decodeEntry)
  const seen = new Set<string>()
  for (const e of entries) {
    if (seen.has(e.cert.body.peer)) throw new DecodeError(`${what} lists ${e.cert.body.peer} twice`)
    seen.add(e.cert.body.peer)
  }
  return { v, entries, ...(m.client !== undefined ? { client: readClientProof(m.client) } : {}) }
}

/** The wire object of an admit message; `client` is a proof as made by `makeClientProof`. */
export function admitMessageWire (entries: readonly RosterEntry[], client?: unknown): unknown {
  return {
    v: WIRE_VERSION,
    entries: entries.slice(0, MAX_ROSTER_ENTRIES).map((e) => e.addrs !== undefined ? { cert: toWire(e.cert), addrs: toWire(e.addrs) } : { cert: toWire(e.cert) }),
    ...(client !== undefined ? { client } : {})
  }
}

/** Encode an admit message. */
export function encodeAdmitMessage (entries: readonly RosterEntry[], client?: unknown): Uint8Array {
  return encodeCanonical(admitMessageWire(entries, client))
}
