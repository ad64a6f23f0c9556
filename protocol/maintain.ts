/**
 * `/bioshard/maintain/1.0.0` messages: one refresh or repair round of one
 * template, run by a coordinator (the tenant, or a maintainer it certified
 * for the purpose `maintain`) with the template's holders. Share material
 * (refresh sub-shares, repair masks and masked sums) travels only on
 * holder-to-holder streams, which libp2p's noise channel authenticates and
 * encrypts end to end, and never through the coordinator; no message lets
 * any party combine shares (crypto/refresh.ts, crypto/repair.ts).
 *
 * Every message is a request answered by one message. Refresh: `open`
 * (coordinator → holders, answered by `join`) → `start` (answered by `ready`,
 * the holder's new commitments, once it has every sub-share) during which
 * each holder sends `deal` (one sub-share) to every other holder (answered by
 * `done`) → `commit` (the tenant-signed manifest seq + 1; holders keep the new
 * share and destroy the old; answered by `done`) or `abort` (holders drop the
 * new share and keep the old). Repair: `open` names t helpers, the new x and
 * the new holder; on `start` helpers `deal` masks among themselves and send
 * one `sum` each to the new holder, whose answer to `start` is `ready`; then
 * `commit` or `abort` as for refresh. `ready` and `done` carry the bytes the
 * party sent to other parties, so the coordinator can report the round's traffic.
 *
 * @module
 */
import { asMap, bytesField, intField, enumField, strField, arrayField, decodeCanonical, type CborMap } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { DecodeError } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { signAndEncode, signBody, readSigned, toWire, type Signed, type SignedWire } from './signed.ts'
import { readManifest, manifestToWire, type Manifest } from './manifest.ts'
import { readVerifierCert, type VerifierCert } from './certs.ts'
import { peerField, nameField } from './fields.ts'
import {
  AUDIT_COMMITMENT_BYTES, HASH_BYTES, KEY_BYTES, MAX_MANIFEST_BYTES, MAX_SHARE_BYTES, MAX_SHARES, NONCE_BYTES, TEMPLATE_ID_BYTES, WIRE_VERSION, PROTOCOL
} from './constants.ts'

/** The protocol id (`PROTOCOL.MAINTAIN`). */
export const MAINTAIN_PROTOCOL = PROTOCOL.MAINTAIN
/** The purpose a certificate must list for its key to coordinate a tenant's rounds. */
export const MAINTAIN_PURPOSE = 'maintain'
/** Largest message: an `open` or `commit` carries one manifest; every other kind is far smaller. */
export const MAX_MAINTAIN_BYTES = MAX_MANIFEST_BYTES + 4096
/** Bytes of a round id. */
export const ROUND_ID_BYTES = 16
/** Longest abort reason. */
const MAX_REASON_CHARS = 200

/** Most bytes one party reports having sent in a round: n − 1 parts of the longest share plus framing, far below this. */
const MAX_SENT_BYTES = 2 ** 32

export type MaintainKind = 'open' | 'join' | 'start' | 'deal' | 'sum' | 'ready' | 'done' | 'commit' | 'abort'
const KINDS: readonly MaintainKind[] = ['open', 'join', 'start', 'deal', 'sum', 'ready', 'done', 'commit', 'abort']
/** Kinds a coordinator sends (signed by the tenant or maintainer key); the rest are sent by nodes (signed by their peer key). */
export const COORDINATOR_KINDS: readonly MaintainKind[] = ['open', 'start', 'commit', 'abort']

/** Fields every maintain message carries. */
export interface MaintainHeader {
  v: number
  kind: MaintainKind
  /** Random id of the round, chosen by the coordinator. */
  round: Uint8Array
  templateId: Uint8Array
  /** The owning tenant's key (names the holders' slot). */
  tenant: Uint8Array
  /** The peer that sent the message (bound to the authenticated connection). */
  sender: string
  nonce: Uint8Array
  time: number
}

/** Coordinator → holders: begin a round over the current manifest. */
export interface OpenBody extends MaintainHeader {
  kind: 'open'
  op: 'refresh' | 'repair'
  manifest: Manifest
  /** Refresh: every holder's x. Repair: the t helpers' x. */
  helpers: number[]
  /** Repair only: the new share's x, its holder and site (chosen by the placement rule). */
  newX?: number
  newHolder?: string
  newSite?: string
  /** A maintainer's certificate from the tenant (purpose `maintain`); absent when the tenant coordinates. */
  cert?: VerifierCert
}
/** Party → coordinator, answering `open`: it takes part with share x (the new x for the new holder). */
export interface JoinBody extends MaintainHeader { kind: 'join', x: number }
/** Coordinator → parties: every party has joined; deal. */
export interface StartBody extends MaintainHeader { kind: 'start' }
/** Holder → holder: a refresh sub-share or a repair mask (on the noise-encrypted stream between the two). */
export interface DealBody extends MaintainHeader { kind: 'deal', fromX: number, toX: number, part: Uint8Array }
/** Helper → new holder: its masked sum. */
export interface SumBody extends MaintainHeader { kind: 'sum', fromX: number, part: Uint8Array }
/** Party → coordinator, answering `start`: commitments to its new share (for the next manifest). */
export interface ReadyBody extends MaintainHeader { kind: 'ready', x: number, commitment: Uint8Array, audit: Uint8Array, sent: number }
/** A party's answer to `deal`, `sum`, `commit`, `abort`, and a helper's to `start`: the step is done. */
export interface DoneBody extends MaintainHeader { kind: 'done', x: number, sent: number }
/** Coordinator → parties: the new manifest (seq + 1) is published; switch to the new share and destroy the old. */
export interface CommitBody extends MaintainHeader { kind: 'commit', manifest: Manifest }
/** Coordinator → parties: drop the new share, keep the old. */
export interface AbortBody extends MaintainHeader { kind: 'abort', reason: string }

export type MaintainBody = OpenBody | JoinBody | StartBody | DealBody | SumBody | ReadyBody | DoneBody | CommitBody | AbortBody
export type MaintainMessage = Signed<MaintainBody>

const HEADER = ['v', 'kind', 'round', 'templateId', 'tenant', 'sender', 'nonce', 'time']
const FIELDS: Record<MaintainKind, { required: string[], optional?: string[] }> = {
  open: { required: ['op', 'manifest', 'helpers'], optional: ['newX', 'newHolder', 'newSite', 'cert'] },
  join: { required: ['x'] },
  start: { required: [] },
  deal: { required: ['fromX', 'toX', 'part'] },
  sum: { required: ['fromX', 'part'] },
  ready: { required: ['x', 'commitment', 'audit', 'sent'] },
  done: { required: ['x', 'sent'] },
  commit: { required: ['manifest'] },
  abort: { required: ['reason'] }
}

const xField = (m: CborMap, key: string, what: string): number => intField(m, key, what, { min: 1, max: 255 })
const partField = (m: CborMap, what: string): Uint8Array => bytesField(m, 'part', what, { min: 1, max: MAX_SHARE_BYTES })
const sentField = (m: CborMap, what: string): number => intField(m, 'sent', what, { min: 0, max: MAX_SENT_BYTES })

function decodeHeader (m: CborMap, what: string): MaintainHeader {
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, KINDS),
    round: bytesField(m, 'round', what, { exact: ROUND_ID_BYTES }),
    templateId: bytesField(m, 'templateId', what, { exact: TEMPLATE_ID_BYTES }),
    tenant: bytesField(m, 'tenant', what, { exact: KEY_BYTES }),
    sender: peerField(m, 'sender', what),
    nonce: bytesField(m, 'nonce', what, { exact: NONCE_BYTES }),
    time: intField(m, 'time', what, { min: 0, max: Number.MAX_SAFE_INTEGER })
  }
}

function distinctXs (xs: number[], what: string): number[] {
  if (new Set(xs).size !== xs.length) throw new DecodeError(`${what} repeats an x-coordinate`)
  return xs
}

function decodeOpen (m: CborMap, h: MaintainHeader, what: string): OpenBody {
  const op = enumField(m, 'op', what, ['refresh', 'repair'] as const)
  const item = (v: unknown, i: number): number => xField({ v }, 'v', `${what}.helpers[${i}]`)
  const helpers = distinctXs(arrayField(m, 'helpers', what, { max: MAX_SHARES, item }), `${what}.helpers`)
  if (helpers.length < 2) throw new DecodeError(`${what}.helpers must list at least 2 holders`)
  const repair = op === 'repair'
  for (const k of ['newX', 'newHolder', 'newSite']) {
    if ((k in m) !== repair) throw new DecodeError(`${what}.${k} must be present exactly for a repair`)
  }
  const body: OpenBody = { ...h, kind: 'open', op, manifest: readManifest(m.manifest), helpers }
  if (repair) {
    body.newX = xField(m, 'newX', what)
    if (helpers.includes(body.newX)) throw new DecodeError(`${what}.newX is a helper's x`)
    body.newHolder = peerField(m, 'newHolder', what)
    body.newSite = nameField(m, 'newSite', what)
  }
  if ('cert' in m) body.cert = readVerifierCert(m.cert)
  return body
}

function decodeKind (m: CborMap, h: MaintainHeader, what: string): MaintainBody {
  switch (h.kind) {
    case 'open': return decodeOpen(m, h, what)
    case 'join': return { ...h, kind: 'join', x: xField(m, 'x', what) }
    case 'start': return { ...h, kind: 'start' }
    case 'deal': {
      const fromX = xField(m, 'fromX', what)
      const toX = xField(m, 'toX', what)
      if (fromX === toX) throw new DecodeError(`${what}: a holder deals to itself without a message`)
      return { ...h, kind: 'deal', fromX, toX, part: partField(m, what) }
    }
    case 'sum': return { ...h, kind: 'sum', fromX: xField(m, 'fromX', what), part: partField(m, what) }
    case 'ready': return {
      ...h,
      kind: 'ready',
      x: xField(m, 'x', what),
      commitment: bytesField(m, 'commitment', what, { exact: HASH_BYTES }),
      audit: bytesField(m, 'audit', what, { exact: AUDIT_COMMITMENT_BYTES }),
      sent: sentField(m, what)
    }
    case 'done': return { ...h, kind: 'done', x: xField(m, 'x', what), sent: sentField(m, what) }
    case 'commit': return { ...h, kind: 'commit', manifest: readManifest(m.manifest) }
    case 'abort': return { ...h, kind: 'abort', reason: strField(m, 'reason', what, { max: MAX_REASON_CHARS }) }
  }
}

function decodeMaintainBody (value: unknown): MaintainBody {
  const what = 'maintain message'
  const head = asMap(value, what, ['kind'], [...HEADER, ...Object.values(FIELDS).flatMap((f) => [...f.required, ...(f.optional ?? [])])])
  const kind = enumField(head, 'kind', what, KINDS)
  const m = asMap(value, `${what} (${kind})`, [...HEADER, ...FIELDS[kind].required], FIELDS[kind].optional ?? [])
  return decodeKind(m, decodeHeader(m, `${what} (${kind})`), `${what} (${kind})`)
}

/**
 * Decode a maintain message (size-limited, canonical, every field of its kind checked; signature not yet checked).
 *
 * @throws {BioshardError} ERR_TOO_LARGE over {@link MAX_MAINTAIN_BYTES}, ERR_DECODE for anything malformed
 */
export function decodeMaintainMessage (bytes: Uint8Array): MaintainMessage {
  return readSigned(decodeCanonical(bytes, MAX_MAINTAIN_BYTES, 'maintain message'), 'maintain message', decodeMaintainBody)
}

/**
 * Read an answer's decoded wire form as a maintain message (signature not yet checked).
 *
 * @throws {DecodeError} ERR_DECODE for anything malformed
 */
export function readMaintainMessage (value: unknown): MaintainMessage {
  return readSigned(value, 'maintain message', decodeMaintainBody)
}

function wireOf (body: MaintainBody): Record<string, unknown> {
  const wire: Record<string, unknown> = { ...body, v: WIRE_VERSION }
  if ('manifest' in body) wire.manifest = manifestToWire(body.manifest)
  if ('cert' in body && body.cert !== undefined) wire.cert = toWire(body.cert)
  return wire
}

/**
 * Sign a maintain message into its wire form, for a node's answer (`join`, `ready`, `done`).
 *
 * @example return signMaintainMessage({ kind: 'done', ...header, x, sent: 0 }, nodeKey)
 */
export function signMaintainMessage (body: MaintainBody, signer: SigningKey): SignedWire {
  return signBody(SIG.MAINTAIN, wireOf(body), signer)
}

/**
 * Encode and sign a maintain message (its `v` is set here): coordinator messages with the tenant's
 * or maintainer's key, party messages with the node's key.
 *
 * @example const bytes = encodeMaintainMessage({ kind: 'abort', round, templateId, tenant, sender, nonce, time, reason: 'timeout' }, key)
 */
export function encodeMaintainMessage (body: MaintainBody, signer: SigningKey): Uint8Array {
  return signAndEncode(SIG.MAINTAIN, wireOf(body), signer).bytes
}
