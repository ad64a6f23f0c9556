/**
 * `/bioshard/admit/1.0.0` messages: peers swap the node certificates they
 * know (with the addresses last seen for each), so every node and client
 * learns the roster of admitted nodes and their sites. Certificates carry
 * their own authority signature, so gossip needs no trust in the relaying
 * peer; addresses are hints only (a dial authenticates the peer id anyway).
 *
 * @module
 */
import { asMap, arrayField, intField, strField, decodeCanonical, encodeCanonical } from '../crypto/canonical.ts'
import { readNodeCert, type NodeCert } from './certs.ts'
import { toWire } from './signed.ts'
import { MAX_ADDRS_PER_PEER, MAX_MESSAGE_BYTES, MAX_ROSTER_ENTRIES, PROTOCOL, WIRE_VERSION } from './constants.ts'

export interface RosterEntry { cert: NodeCert, addrs: string[] }
export interface AdmitMessage { v: number, entries: RosterEntry[] }

function decodeEntry (value: unknown, i: number): RosterEntry {
  const what = `admit.entries[${i}]`
  const m = asMap(value, what, ['cert', 'addrs'])
  return {
    cert: readNodeCert(m.cert),
    addrs: arrayField(m, 'addrs', what, MAX_ADDRS_PER_PEER, (a) => strField({ a }, 'a', `${what}.addrs[]`, 256, /^\/[\x21-\x7e]+$/))
  }
}

/** Decode an admit message (request or response body). */
export function decodeAdmitMessage (bytes: Uint8Array): AdmitMessage {
  return readAdmitMessage(decodeCanonical(bytes, MAX_MESSAGE_BYTES[PROTOCOL.ADMIT], 'admit message'))
}

/** Read an admit message from an already decoded value. */
export function readAdmitMessage (value: unknown): AdmitMessage {
  const what = 'admit message'
  const m = asMap(value, what, ['v', 'entries'])
  return {
    v: intField(m, 'v', what, WIRE_VERSION, WIRE_VERSION),
    entries: arrayField(m, 'entries', what, MAX_ROSTER_ENTRIES, decodeEntry)
  }
}

/** The wire object of an admit message. */
export function admitMessageWire (entries: readonly RosterEntry[]): unknown {
  return { v: WIRE_VERSION, entries: entries.map((e) => ({ cert: toWire(e.cert), addrs: e.addrs.slice(0, MAX_ADDRS_PER_PEER) })) }
}

/** Encode an admit message. */
export function encodeAdmitMessage (entries: readonly RosterEntry[]): Uint8Array {
  return encodeCanonical(admitMessageWire(entries))
}
