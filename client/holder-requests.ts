/**
 * Caller side of the holder protocols: build and sign one store, fetch or
 * erase request, send it, and check the holder's signed answer (right holder,
 * right template, bound to this request). Used by the verifier library and
 * by operators' tools.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { randomBytes, equalBytes } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { SIG } from '../crypto/tags.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { checkSigned, type SignedWire } from '../protocol/signed.ts'
import { encodeStoreRequest, readStoreReceipt, type StoreReceipt } from '../protocol/store.ts'
import { encodeFetchRequestWithHash, readFetchResponse, type FetchResponse } from '../protocol/fetch.ts'
import { encodeEraseRequest, decodeEraseRequest, eraseRequestHash, readEraseReceipt, type EraseReceipt } from '../protocol/erase.ts'
import type { Manifest } from '../protocol/manifest.ts'
import { peerPublicKey } from '../protocol/fields.ts'
import { PROTOCOL, NONCE_BYTES, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import { request } from '../net/rpc.ts'
import { REQUEST_TIMEOUT_MS } from './constants.ts'

/** Options every holder request takes: its deadline (default REQUEST_TIMEOUT_MS), a cancellation signal, and the time to sign with. */
export interface CallOptions { timeoutMs?: number, signal?: AbortSignal, now?: number }

function opts (protocol: keyof typeof MAX_RESPONSE_BYTES, o: CallOptions): { timeoutMs: number, maxResponseBytes: number, signal?: AbortSignal } {
  const signal = o.signal !== undefined ? { signal: o.signal } : {}
  return { timeoutMs: o.timeoutMs ?? REQUEST_TIMEOUT_MS, maxResponseBytes: MAX_RESPONSE_BYTES[protocol], ...signal }
}

function bad (holder: string, what: string): never {
  throw new BioshardError('ERR_BAD_SIGNATURE', `${holder}: ${what}`)
}

/** What a store asks of one holder: keep share `x` of the manifest's template, signed by its tenant. */
export interface StoreOrder {
  manifest: Manifest
  x: number
  /** The share's bytes (not wiped here: the caller owns them). */
  share: Uint8Array
  tenant: SigningKey
}

/**
 * Ask `holder` to store share `x`; returns its verified receipt.
 *
 * @throws {RemoteError} the holder's refusal; {BioshardError} ERR_BAD_SIGNATURE for a receipt that does not check out
 * @example const receipt = await storeShare(host, holder, { manifest, x: 1, share, tenant: tenantKey })
 */
export async function storeShare (libp2p: Libp2p, holder: string, order: StoreOrder, o: CallOptions = {}): Promise<StoreReceipt> {
  const { manifest, x, share, tenant } = order
  const body = encodeStoreRequest({ manifest, x, share, sender: libp2p.peerId.toString(), nonce: randomBytes(NONCE_BYTES), time: o.now ?? Date.now() }, tenant)
  try {
    const receipt = readStoreReceipt(await request(libp2p, peerIdFromString(holder), PROTOCOL.STORE, { body, ...opts(PROTOCOL.STORE, o) }))
    checkSigned(SIG.STORE_RECEIPT, receipt, peerPublicKey(holder), `store receipt from ${holder}`)
    const entry = manifest.body.shares.find((s) => s.x === x)
    if (receipt.body.holder !== holder || receipt.body.x !== x || !equalBytes(receipt.body.templateId, manifest.body.templateId) ||
      entry === undefined || !equalBytes(receipt.body.commitment, entry.commitment)) bad(holder, 'store receipt does not match the request')
    return receipt
  } finally {
    body.fill(0)
  }
}

/** What a fetch needs besides the template: who asks, for what, into which enclave. */
export interface FetchCredentials {
  verifier: SigningKey
  /** The verifier certificate (tenant-signed), wire form. */
  cert: SignedWire
  /** The enclave attestation (wire form). */
  attestation: SignedWire
}

/** Options of {@link fetchShare}. */
export interface FetchOptions extends CallOptions {
  /**
   * Verify the holder's signature on the response now (default). With
   * `false` the response is still checked to come from `holder` over its
   * authenticated connection and to answer this request; call
   * {@link checkFetchResponse} before using it as evidence against the holder.
   */
  verifySignature?: boolean
}

/** What a fetch asks for: shares `xs` of a template, for a purpose, into the attested enclave. */
export interface FetchOrder {
  templateId: Uint8Array
  xs: readonly number[]
  purpose: string
  creds: FetchCredentials
}

/**
 * Ask `holder` for share `x`, sealed to the attested enclave. Returns the
 * response, checked to answer this request; the sealed bytes are opened only
 * inside the enclave.
 *
 * @throws {RemoteError} the holder's refusal; {BioshardError} ERR_BAD_SIGNATURE for a response that does not check out
 * @example const res = await fetchShare(host, holder, { templateId, x: 2, purpose: 'login', creds })
 */
export async function fetchShare (libp2p: Libp2p, holder: string, order: Omit<FetchOrder, 'xs'> & { x: number }, o: FetchOptions = {}): Promise<FetchResponse> {
  const prepared = prepareFetch(libp2p, { templateId: order.templateId, xs: [order.x], purpose: order.purpose, creds: order.creds }, o)
  return await sendFetch(libp2p, holder, { x: order.x, prepared }, o)
}

/** A signed fetch request for some shares of a template, ready to send to each of their holders. */
export interface PreparedFetch {
  readonly templateId: Uint8Array
  readonly xs: readonly number[]
  /** The request as sent. */
  readonly bytes: Uint8Array
  /** The hash every response to it must carry. */
  readonly hash: Uint8Array
  /** When it was signed (ms since the epoch); holders accept it within the freshness window. */
  readonly time: number
}

/**
 * Sign one fetch request for shares `xs` of a template. The same bytes go to
 * every holder listed (one signature and one encoding instead of one per
 * holder); each holder answers for its own share, and each refuses the
 * request a second time as a replay.
 *
 * @param order - the template, the shares' x-coordinates (sorted here), the purpose and the credentials
 * @throws {RangeError} when `xs` is empty, out of range or repeats an x
 * @example const prepared = prepareFetch(host, { templateId, xs: [1, 2, 3], purpose: 'login', creds })
 */
export function prepareFetch (libp2p: Libp2p, order: FetchOrder, o: { now?: number } = {}): PreparedFetch {
  const { templateId, xs, purpose, creds } = order
  const sorted = [...xs].sort((a, b) => a - b)
  const time = o.now ?? Date.now()
  // The hash comes from the bytes just signed: decoding our own request again would cost as much as encoding it.
  const sender = libp2p.peerId.toString()
  const body = { templateId, xs: sorted, purpose, enclave: creds.attestation, cert: creds.cert, sender, nonce: randomBytes(NONCE_BYTES), time }
  const { bytes, hash } = encodeFetchRequestWithHash(body, creds.verifier)
  return { templateId, xs: sorted, bytes, hash, time }
}

/**
 * Send a prepared fetch request to `holder` for its share `x`; returns the
 * response, checked to answer this request.
 *
 * @throws {RemoteError} the holder's refusal; {BioshardError} ERR_BAD_SIGNATURE for a response that does not check out
 * @example const res = await sendFetch(host, holder, { x: 2, prepared })
 */
export async function sendFetch (libp2p: Libp2p, holder: string, share: { x: number, prepared: PreparedFetch }, o: FetchOptions = {}): Promise<FetchResponse> {
  const { x, prepared } = share
  const res = readFetchResponse(await request(libp2p, peerIdFromString(holder), PROTOCOL.FETCH, { body: prepared.bytes, ...opts(PROTOCOL.FETCH, o) }))
  if (o.verifySignature !== false) checkFetchResponse(res, holder)
  if (res.body.holder !== holder || res.body.x !== x || !equalBytes(res.body.templateId, prepared.templateId) || !equalBytes(res.body.request, prepared.hash)) {
    bad(holder, 'fetch response does not match the request')
  }
  return res
}

/**
 * Verify `holder`'s signature on a fetch response.
 *
 * @throws {SignatureError} ERR_BAD_SIGNATURE when it does not verify
 */
export function checkFetchResponse (res: FetchResponse, holder: string): void {
  checkSigned(SIG.FETCH_RESPONSE, res, peerPublicKey(holder), `fetch response from ${holder}`)
}

/** What an erase asks of a holder: drop its share of the manifest's template, signed by the tenant (default) or the subject. */
export interface EraseOrder {
  manifest: Manifest
  signer: SigningKey
  /** @default 'tenant' */
  by?: 'tenant' | 'subject'
}

/**
 * Ask `holder` to erase its share of the manifest's template; returns its verified receipt.
 *
 * @throws {RemoteError} the holder's refusal; {BioshardError} ERR_BAD_SIGNATURE for a receipt that does not check out
 * @example const receipt = await eraseAt(host, holder, { manifest, signer: tenantKey })
 */
export async function eraseAt (libp2p: Libp2p, holder: string, order: EraseOrder, o: CallOptions = {}): Promise<EraseReceipt> {
  const { manifest, signer, by = 'tenant' } = order
  const bytes = encodeEraseRequest({ manifest, by, sender: libp2p.peerId.toString(), nonce: randomBytes(NONCE_BYTES), time: o.now ?? Date.now() }, signer)
  const requestHash = eraseRequestHash(decodeEraseRequest(bytes))
  const receipt = readEraseReceipt(await request(libp2p, peerIdFromString(holder), PROTOCOL.ERASE, { body: bytes, ...opts(PROTOCOL.ERASE, o) }))
  checkSigned(SIG.ERASE_RECEIPT, receipt, peerPublicKey(holder), `erase receipt from ${holder}`)
  if (receipt.body.holder !== holder || !equalBytes(receipt.body.templateId, manifest.body.templateId) || !equalBytes(receipt.body.request, requestHash)) {
    bad(holder, 'erase receipt does not match the request')
  }
  return receipt
}
