/**
 * `/bioshard/admit/1.0.0` messages: peers swap the node certificates they
 * know, each with the node's own signed address statement when known, so every
 * node and client learns the roster of admitted nodes, their sites and where to
 * dial them. Certificates carry the authority's signature and statements the
 * node's own, so gossip needs no trust in the relaying peer. A request is
 * bounded before it is decoded ({@link decodeAdmitMessage}).
 *
 * A message may carry a roster digest ({@link ROSTER_DIGEST_BYTES} bytes, one
 * short hash per bucket of nodes): a peer answers a request with a digest
 * with the entries of the buckets whose hashes differ from its own (and its
 * own digest), so peers exchange what differs rather than whole rosters; a
 * request without one is answered with the whole roster, as before.
 *
 * @module
 */
import { asMap, arrayField, bytesField, intField, decodeCanonical, encodeCanonical } from '../crypto/canonical.ts'
import { DecodeError, TooLargeError } from '../errors.ts'
import { readHead, skipItem, type ItemBudget } from './cbor-heads.ts'
import { readNodeCert, type NodeCert } from './certs.ts'
import { readNodeAddresses, type NodeAddresses } from './node-addresses.ts'
import { readClientProof, type ClientProof } from './client-proof.ts'
import { readRevocation, readRetirement, type Revocation, type Retirement } from './revocation.ts'
import { toWire } from './signed.ts'
import { ADMIT_OVERHEAD_ITEMS, MAX_MESSAGE_BYTES, MAX_ROSTER_ENTRIES, PROTOCOL, ROSTER_ENTRY_ITEMS, WIRE_VERSION } from './constants.ts'

/**
 * Buckets of a roster digest: a node is in bucket `H(peer id)[0] mod 64`. A
 * network of a thousand nodes has about 16 per bucket, so one differing node
 * costs a peer some 16 entries, and the digest stays small.
 */
export const ROSTER_BUCKETS = 64
/** Bytes of one bucket's hash: 64 bits make an accidental match between two different buckets negligible. */
export const BUCKET_HASH_BYTES = 8
/** Bytes of a roster digest: one hash per bucket, in bucket order. */
export const ROSTER_DIGEST_BYTES = ROSTER_BUCKETS * BUCKET_HASH_BYTES

/**
 * One admitted node as gossiped: its certificate and, when known, its own
 * address statement; a revoked node's entry carries the authority's
 * revocation (and nothing else), a retiring node's its own notice.
 */
export interface RosterEntry { cert: NodeCert, addrs?: NodeAddresses, revoked?: Revocation, retiring?: Retirement }
/**
 * An admit message; a client's request may also carry its proof of
 * certification (protocol/client-proof.ts), and any message the sender's
 * roster digest.
 */
export interface AdmitMessage { v: number, entries: RosterEntry[], client?: ClientProof, digest?: Uint8Array }

/** Most CBOR items an admit message may hold. */
export const MAX_ADMIT_ITEMS = MAX_ROSTER_ENTRIES * ROSTER_ENTRY_ITEMS + ADMIT_OVERHEAD_ITEMS

function decodeEntry (value: unknown, i: number): RosterEntry {
  const what = `admit.entries[${i}]`
  const m = asMap(value, what, ['cert'], ['addrs', 'revoked', 'retiring'])
  return {
    cert: readNodeCert(m.cert),
    ...(m.addrs !== undefined ? { addrs: readNodeAddresses(m.addrs) } : {}),
    ...(m.revoked !== undefined ? { revoked: readRevocation(m.revoked) } : {}),
    ...(m.retiring !== undefined ? { retiring: readRetirement(m.retiring) } : {})
  }
}

/** The wire form of one entry. */
function entryWire (e: RosterEntry): unknown {
  return {
    cert: toWire(e.cert),
    ...(e.addrs !== undefined ? { addrs: toWire(e.addrs) } : {}),
    ...(e.revoked !== undefined ? { revoked: toWire(e.revoked) } : {}),
    ...(e.retiring !== undefined ? { retiring: toWire(e.retiring) } : {})
  }
}

/** Keys of an admit message, in canonical order (shorter encodings first). */
const KEYS = ['v', 'client', 'digest', 'entries'] as const

function readDigest (value: unknown, what: string): Uint8Array {
  return bytesField({ digest: value }, 'digest', what, { exact: ROSTER_DIGEST_BYTES })
}

/**
 * Decode an admit message (a request body) in bounded steps: the size, then
 * a walk over its CBOR heads (protocol/cbor-heads.ts) that counts items
 * without building anything (no array longer than
 * {@link MAX_ROSTER_ENTRIES}, at most {@link MAX_ADMIT_ITEMS} in all) and
 * finds each entry's bytes, then each entry decoded on its own, with
 * `pause` awaited whenever `sliceMs` have passed, so a large message never
 * holds the event loop for long. A node listed twice is refused before any
 * signature is checked.
 *
 * @throws {BioshardError} ERR_TOO_LARGE or ERR_DECODE
 */
export async function decodeAdmitMessage (bytes: Uint8Array, pause?: () => Promise<void>, sliceMs = 2): Promise<AdmitMessage> {
  const what = 'admit message'
  const max = MAX_MESSAGE_BYTES[PROTOCOL.ADMIT]
  if (bytes.length > max) throw new TooLargeError(what, bytes.length, max)
  const budget: ItemBudget = { items: MAX_ADMIT_ITEMS, perContainer: MAX_ROSTER_ENTRIES }
  const top = readHead(bytes, 0, what)
  if (top.major !== 5 || top.arg > KEYS.length) throw new DecodeError(`${what} must be a map of at most ${KEYS.length} fields`)
  const values = new Map<string, { start: number, end: number }>()
  let pos = top.end
  let last = -1
  for (let i = 0; i < top.arg; i++) {
    const k = readHead(bytes, pos, what)
    const key = k.major === 3 && k.end + k.arg <= bytes.length ? new TextDecoder().decode(bytes.subarray(k.end, k.end + k.arg)) : ''
    const rank = (KEYS as readonly string[]).indexOf(key)
    if (rank === -1) throw new DecodeError(`${what} has an unknown field`)
    if (rank <= last) throw new DecodeError(`${what} is not canonically encoded: fields out of order`)
    last = rank
    const start = k.end + k.arg
    pos = skipItem(bytes, start, what, budget)
    values.set(key, { start, end: pos })
  }
  if (pos !== bytes.length) throw new DecodeError(`${what} is not canonically encoded: trailing bytes`)
  const field = (key: string): unknown => {
    const r = values.get(key)
    return r === undefined ? undefined : decodeCanonical(bytes.subarray(r.start, r.end), max, `${what}.${key}`)
  }
  const range = values.get('entries')
  if (!values.has('v') || range === undefined) throw new DecodeError(`${what} needs v and entries`)
  const v = intField({ v: field('v') }, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION })
  const list = readHead(bytes, range.start, what)
  if (list.major !== 4) throw new DecodeError(`${what}.entries must be an array`)
  const entries: RosterEntry[] = []
  const seen = new Set<string>()
  let slice = performance.now()
  for (let i = 0, at = list.end; i < list.arg; i++) {
    if (pause !== undefined && performance.now() - slice > sliceMs) {
      await pause()
      slice = performance.now()
    }
    // Counted already: this walk only finds where the entry ends.
    const end = skipItem(bytes, at, what, { items: Infinity, perContainer: Infinity })
    const entry = decodeEntry(decodeCanonical(bytes.subarray(at, end), max, `${what}.entries[${i}]`), i)
    if (seen.has(entry.cert.body.peer)) throw new DecodeError(`${what} lists ${entry.cert.body.peer} twice`)
    seen.add(entry.cert.body.peer)
    entries.push(entry)
    at = end
  }
  const client = field('client')
  const digest = field('digest')
  return {
    v,
    entries,
    ...(client !== undefined ? { client: readClientProof(client) } : {}),
    ...(digest !== undefined ? { digest: readDigest(digest, what) } : {})
  }
}

/** Read an admit message from an already decoded value; refuses a node listed twice. */
export function readAdmitMessage (value: unknown): AdmitMessage {
  const what = 'admit message'
  const m = asMap(value, what, ['v', 'entries'], ['client', 'digest'])
  const v = intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION })
  const entries = arrayField(m, 'entries', what, { max: MAX_ROSTER_ENTRIES, item: decodeEntry })
  const seen = new Set<string>()
  for (const e of entries) {
    if (seen.has(e.cert.body.peer)) throw new DecodeError(`${what} lists ${e.cert.body.peer} twice`)
    seen.add(e.cert.body.peer)
  }
  return {
    v,
    entries,
    ...(m.client !== undefined ? { client: readClientProof(m.client) } : {}),
    ...(m.digest !== undefined ? { digest: readDigest(m.digest, what) } : {})
  }
}

/**
 * The wire object of an admit message; `client` is a proof as made by
 * `makeClientProof`, `digest` the sender's roster digest.
 */
export function admitMessageWire (entries: readonly RosterEntry[], client?: unknown, digest?: Uint8Array): unknown {
  return {
    v: WIRE_VERSION,
    entries: entries.slice(0, MAX_ROSTER_ENTRIES).map(entryWire),
    ...(client !== undefined ? { client } : {}),
    ...(digest !== undefined ? { digest } : {})
  }
}

/** Encode an admit message. */
export function encodeAdmitMessage (entries: readonly RosterEntry[], client?: unknown, digest?: Uint8Array): Uint8Array {
  return encodeCanonical(admitMessageWire(entries, client, digest))
}
