/**
 * What crosses between the host and the enclave child over the IPC channel
 * (Node's `advanced` serialization, a structured clone, so `Uint8Array` and
 * `Float32Array` arrive as such), and the checks both sides apply.
 * host → child: `init`, then `match` requests and `open` hints; child → host:
 * `ready`, then one `result` per match. Nothing else ever leaves the child.
 *
 * @module
 */
import { BioshardError, DecryptError, type ErrorCode } from '../errors.ts'
import { NotEnoughSharesError } from '../crypto/shares.ts'
import { DECISION_NONCE_MAX_BYTES, DECISION_NONCE_MIN_BYTES } from '../protocol/decision.ts'
import type { FaceMatcherInit } from '../matcher/face/config.ts'
import { TEMPLATE_MAX_DIM } from '../matcher/template.ts'
import { MAX_IMAGE_BYTES } from './constants.ts'
// The wire's bounds: a holder cannot send a longer sealed share, nor the DHT a longer manifest; the enclave accepts none.
import { HASH_BYTES, MAX_MANIFEST_BYTES, MAX_SEALED_SHARE_BYTES, MAX_SHARES, TEMPLATE_ID_BYTES } from '../protocol/constants.ts'

/** One sealed share as fetched from its holder. */
export interface SealedShare {
  /** x-coordinate, 1..255 */
  x: number
  /** HPKE-sealed share (`res.body.sealed`) */
  sealed: Uint8Array
  /** hash of the fetch request it answers (`res.body.request`, 32 bytes): the enclave consumes it */
  request: Uint8Array
  /** that request's own time (ms since the epoch), which the holder bound into the seal */
  time: number
}

/** The probe: an embedding computed elsewhere, or a raw photo embedded inside the enclave. */
export type MatchProbe = { kind: 'embedding', vector: Float32Array } | { kind: 'image', bytes: Uint8Array }

/**
 * One 1:1 match. Everything about the enrolment — template id, tenant,
 * modality, model, t, commitments, threshold, whether the score may be
 * revealed — comes from `manifest`, whose digest every share is sealed under.
 */
export interface MatchRequest {
  /** canonical bytes of the manifest matched against (`encodeManifest`, as holders store it) */
  manifest: Uint8Array
  /** caller's nonce, echoed in the signed decision (16..64 bytes) */
  nonce: Uint8Array
  /** at least the manifest's `t` sealed shares, distinct x; spares allowed */
  shares: SealedShare[]
  probe: MatchProbe
  /**
   * The enclave generation whose key the shares were sealed to. When given
   * and the enclave has restarted since, the match fails with ERR_ENCLAVE
   * instead of reporting every share as bad.
   */
  generation?: number
  /**
   * The session whose shares were sent ahead with {@link OpenMessage}: the
   * enclave uses those it already opened from the same template id, x,
   * sealed bytes and binding instead of opening them again.
   */
  session?: number
}

/** A sealed share sent ahead of its match (the same fields). */
export type EarlyShare = SealedShare

/** What a share sent ahead is opened for: its template and the digest of the manifest it was sealed under. */
export interface OpenTarget {
  templateId: Uint8Array
  /** `manifestDigest` of the manifest (32 bytes) */
  manifest: Uint8Array
}

/**
 * host → child: open `share` now and keep it for the match of `session`
 * (opened-shares.ts says why). A hint is never answered; one that is
 * malformed, stale, for a consumed request or does not open is dropped, and
 * its share opened (or named bad, or refused) by the match as usual.
 */
export interface OpenMessage extends OpenTarget { type: 'open', session: number, share: EarlyShare }

/** The outcome of a match. */
export interface MatchResult {
  /** canonical signed decision bytes (protocol/decision.ts) */
  decision: Uint8Array
  accept: boolean
  /** the quantised score, only when the manifest policy reveals it */
  score?: number
  /** the manifest policy's threshold */
  threshold: number
  /** x of shares that failed to open or failed their commitment, ascending */
  bad: number[]
}

/** The child's own view of its sandbox, checked by the host before first use. */
export interface IsolationReport {
  fsWrite: boolean
  childProcess: boolean
  worker: boolean
  wasi: boolean
  inspector: boolean
  addons: boolean
  /** `process.permission.has('fs.read', '/')`: reading everywhere */
  readRoot: boolean
  /** outcome of actually opening a file outside the read set */
  canaryRead: 'denied' | 'allowed' | 'failed'
  /** outcome of `require('node:net')` (refused by `harden.ts`) */
  networkModule: 'refused' | 'loaded'
  /** whether a global `fetch` exists */
  fetch: boolean
}

/** host → child, once after spawn. */
export interface InitMessage { type: 'init', measurement: Uint8Array, canary: string, face?: FaceMatcherInit }
/** child → host, once: keys generated inside the child. */
export interface ReadyMessage { type: 'ready', key: Uint8Array, signer: Uint8Array, isolation: IsolationReport, faceModel?: string }
/** host → child, per match. */
export interface MatchMessage { type: 'match', id: number, req: MatchRequest }
/** An error as it crosses the channel: never a stack, never a secret. */
export interface WireError { name: string, code?: ErrorCode, message: string, bad?: number[], good?: number, needed?: number }
/** child → host, per match id: the signed decision and its summary, or an error. */
export type ResultMessage = { type: 'result', id: number, ok: true, result: MatchResult } | { type: 'result', id: number, ok: false, error: WireError }

function bytes (v: unknown, name: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`)
  if (v.length < min || v.length > max) throw new RangeError(`${name} must be ${min === max ? `${min}` : `${min}..${max}`} bytes, got ${v.length}`)
  return v
}

/**
 * Check every field of a match request (host before sending, child on
 * receipt). The manifest is only bounded here; the child decodes it.
 *
 * @param req - the request
 * @returns the same request, typed
 * @throws {TypeError|RangeError} naming the first invalid field, e.g. `req.shares[2].sealed`
 * @example checkMatchRequest({ manifest: encodeManifest(m), nonce, shares, probe })
 */
export function checkMatchRequest (req: unknown): MatchRequest {
  if (req === null || typeof req !== 'object') throw new TypeError('req must be a MatchRequest object')
  const r = req as MatchRequest
  bytes(r.manifest, 'req.manifest', 1, MAX_MANIFEST_BYTES)
  bytes(r.nonce, 'req.nonce', DECISION_NONCE_MIN_BYTES, DECISION_NONCE_MAX_BYTES)
  if (!Array.isArray(r.shares)) throw new TypeError('req.shares must be an array')
  if (r.shares.length < 1 || r.shares.length > MAX_SHARES) throw new RangeError(`req.shares must hold 1..${MAX_SHARES} shares, got ${r.shares.length}`)
  const seen = new Set<number>()
  r.shares.forEach((s, i) => {
    const name = `req.shares[${i}]`
    checkEarlyShare(s, name)
    if (seen.has(s.x)) throw new RangeError(`${name}.x repeats x = ${s.x}`)
    seen.add(s.x)
  })
  const p = r.probe as unknown
  if (p === null || typeof p !== 'object') throw new TypeError('req.probe must be { kind: "embedding", vector } or { kind: "image", bytes }')
  const probe = p as MatchProbe
  if (probe.kind === 'embedding') {
    if (!(probe.vector instanceof Float32Array)) throw new TypeError('req.probe.vector must be a Float32Array')
    if (probe.vector.length < 1 || probe.vector.length > TEMPLATE_MAX_DIM) {
      throw new RangeError(`req.probe.vector must have 1..${TEMPLATE_MAX_DIM} elements, got ${probe.vector.length}`)
    }
  } else if (probe.kind === 'image') {
    bytes(probe.bytes, 'req.probe.bytes', 1, MAX_IMAGE_BYTES)
  } else {
    throw new TypeError("req.probe.kind must be 'embedding' or 'image'")
  }
  if (r.generation !== undefined && !isPositiveInteger(r.generation)) throw new TypeError('req.generation must be a positive integer')
  if (r.session !== undefined && !isPositiveInteger(r.session)) throw new TypeError('req.session must be a positive integer')
  return r
}

function isPositiveInteger (v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1
}

/**
 * Check every field of an open message (host before sending, child on receipt).
 *
 * @param msg - the message
 * @returns the same message, typed
 * @throws {TypeError|RangeError} naming the first invalid field
 * @example checkOpenMessage({ type: 'open', session: 1, templateId, manifest: digest, share: { x, sealed, request, time } })
 */
export function checkOpenMessage (msg: unknown): OpenMessage {
  if (msg === null || typeof msg !== 'object' || (msg as OpenMessage).type !== 'open') throw new TypeError("msg must be an 'open' message")
  const m = msg as OpenMessage
  if (!isPositiveInteger(m.session)) throw new TypeError('msg.session must be a positive integer')
  bytes(m.templateId, 'msg.templateId', TEMPLATE_ID_BYTES, TEMPLATE_ID_BYTES)
  bytes(m.manifest, 'msg.manifest', HASH_BYTES, HASH_BYTES)
  checkEarlyShare(m.share, 'msg.share')
  return m
}

/** x, sealed bytes, request hash and time of one share, in a match request or sent ahead of one. */
function checkEarlyShare (s: unknown, name: string): asserts s is EarlyShare {
  if (s === null || typeof s !== 'object') throw new TypeError(`${name} must be a sealed share`)
  const share = s as EarlyShare
  if (typeof share.x !== 'number' || !Number.isInteger(share.x)) throw new TypeError(`${name}.x must be an integer`)
  if (share.x < 1 || share.x > 255) throw new RangeError(`${name}.x must be in [1, 255], got ${share.x}`)
  bytes(share.sealed, `${name}.sealed`, 1, MAX_SEALED_SHARE_BYTES)
  bytes(share.request, `${name}.request`, HASH_BYTES, HASH_BYTES)
  if (typeof share.time !== 'number' || !Number.isSafeInteger(share.time) || share.time < 0) {
    throw new TypeError(`${name}.time must be a non-negative integer (ms)`)
  }
}

/**
 * Copy a request into fresh buffers of exactly the right size. The channel
 * serialises only each view's bytes, but a copy keeps the host's own buffers
 * (often pooled) out of the question entirely.
 *
 * @param req - a checked request
 * @returns an equal request sharing no memory with `req`
 * @example child.send({ type: 'match', id, req: copyRequest(req) })
 */
export function copyRequest (req: MatchRequest): MatchRequest {
  const probe: MatchProbe = req.probe.kind === 'embedding'
    ? { kind: 'embedding', vector: Float32Array.from(req.probe.vector) }
    : { kind: 'image', bytes: req.probe.bytes.slice() }
  return {
    manifest: req.manifest.slice(),
    nonce: req.nonce.slice(),
    shares: req.shares.map((s) => ({ x: s.x, sealed: s.sealed.slice(), request: s.request.slice(), time: s.time })),
    probe,
    ...(req.session !== undefined ? { session: req.session } : {})
  }
}

/**
 * An error as it may leave the child: name, code, message and the x lists of
 * a not-enough-shares failure. Stacks stay behind.
 *
 * @param e - anything thrown
 * @returns the wire form
 * @example send({ type: 'result', id, ok: false, error: errorToWire(e) })
 */
export function errorToWire (e: unknown): WireError {
  if (e instanceof NotEnoughSharesError) return { name: e.name, code: e.code, message: e.message, bad: [...e.bad], good: e.good, needed: e.needed }
  if (e instanceof BioshardError) return { name: e.name, code: e.code, message: e.message }
  if (e instanceof TypeError || e instanceof RangeError) return { name: e.name, message: e.message }
  return { name: 'Error', code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : 'enclave failure' }
}

/**
 * Rebuild an error on the host side, with the same classes callers match on.
 *
 * @param w - the wire form
 * @returns an Error to reject with
 * @example reject(errorFromWire(msg.error))
 */
export function errorFromWire (w: WireError): Error {
  const message = typeof w.message === 'string' ? w.message : 'enclave failure'
  if (w.code === 'ERR_NOT_ENOUGH_SHARES') {
    const bad = Array.isArray(w.bad) ? w.bad.filter((x) => Number.isInteger(x)) : []
    return new NotEnoughSharesError(Number(w.good ?? 0), Number(w.needed ?? 0), bad)
  }
  if (w.code === 'ERR_DECRYPT') return new DecryptError('template envelope')
  if (w.code !== undefined) {
    const e = new BioshardError(w.code, message)
    if (typeof w.name === 'string') e.name = w.name
    return e
  }
  if (w.name === 'TypeError') return new TypeError(message)
  if (w.name === 'RangeError') return new RangeError(message)
  return new BioshardError('ERR_INTERNAL', message)
}
