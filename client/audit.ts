/**
 * Possession audits from the tenant's side: ask every holder of a template to
 * prove it still holds its exact share, and check each proof against the
 * audit commitment in the tenant-signed manifest (crypto/possession.ts). The
 * answers are zero-knowledge proofs, so collecting all of them teaches the
 * auditor nothing about any share; a failed or missing answer counts against
 * the holder (and is what a maintainer repairs on).
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { BioshardError } from '../errors.ts'
import { SIG } from '../crypto/tags.ts'
import { randomBytes, equalBytes } from '../crypto/bytes.ts'
import { verifyAudit } from '../crypto/possession.ts'
import { checkSigned } from '../protocol/signed.ts'
import { encodeAuditRequest, readAuditResponse, type AuditResponse } from '../protocol/audit.ts'
import { readVerifierCert } from '../protocol/certs.ts'
import type { Manifest, ShareEntry } from '../protocol/manifest.ts'
import { peerPublicKey } from '../protocol/fields.ts'
import { RemoteError } from '../protocol/errors.ts'
import { PROTOCOL, NONCE_BYTES, MAX_RESPONSE_BYTES } from '../protocol/constants.ts'
import { request } from '../net/rpc.ts'
import type { ClientContext, Credential } from './context.ts'

/** One holder's outcome: it proved possession, it answered without a valid proof, it did not answer, or its share has no audit commitment. */
export type AuditVerdict = 'passed' | 'failed' | 'no-answer' | 'unauditable'

/** What one holder's audit came to. */
export interface HolderAudit {
  holder: string
  x: number
  outcome: AuditVerdict
  /** Why it did not pass: the holder's refusal code, ERR_TIMEOUT, or what was wrong with its proof. */
  reason?: string
}

/** Who signs an audit request: the tenant itself, or an auditor it certified for the purpose `audit`. */
export interface Auditor {
  /** The owning tenant's public key. */
  tenant: Uint8Array
  key: Credential['key']
  /** The auditor's certificate (wire form); absent when the tenant audits. */
  cert?: Credential['cert']
}

/** Codes that say the holder was not heard this time (rpc reports an unreachable peer as ERR_BUSY). Both outcomes count against it. */
const NO_ANSWER = new Set(['ERR_BUSY', 'ERR_TIMEOUT', 'ERR_ABORTED', 'ERR_RATE_LIMITED'])

function auditorOf (ctx: ClientContext): Auditor {
  if (ctx.tenant !== undefined) return { tenant: ctx.tenant.key.publicKey, key: ctx.tenant.key }
  if (ctx.verifier !== undefined) {
    return { tenant: readVerifierCert(ctx.verifier.cert).body.tenant, key: ctx.verifier.key, cert: ctx.verifier.cert }
  }
  throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant or auditor credentials; an audit needs them')
}

/** What one holder's audit needs: the template, who audits, and the request deadline. */
export interface AuditOrder { templateId: Uint8Array, auditor: Auditor, timeoutMs: number }

/**
 * Audit one holder: send a fresh signed request, check the signed answer is
 * this holder's, for this request and template, and that its proof verifies
 * against the manifest's audit commitment.
 *
 * @param libp2p - the client host
 * @param entry - the holder's manifest entry (with its `audit` commitment)
 * @param order - the template id, who audits, and the request deadline
 * @returns the holder's outcome; never throws for a holder's failure
 * @example const r = await auditHolder(host, entry, { templateId, auditor, timeoutMs: 10_000 })
 */
export async function auditHolder (libp2p: Libp2p, entry: ShareEntry, order: AuditOrder): Promise<HolderAudit> {
  const { holder, x } = entry
  const commitment = entry.audit
  if (commitment === undefined) return { holder, x, outcome: 'unauditable', reason: 'the manifest has no audit commitment for this share' }
  const { templateId, auditor } = order
  const init = {
    templateId,
    tenant: auditor.tenant,
    ...(auditor.cert !== undefined ? { cert: auditor.cert } : {}),
    sender: libp2p.peerId.toString(),
    nonce: randomBytes(NONCE_BYTES),
    time: Date.now()
  }
  const { bytes, hash } = encodeAuditRequest(init, auditor.key)
  let answer: unknown
  try {
    answer = await request(libp2p, peerIdFromString(holder), PROTOCOL.AUDIT, {
      body: bytes, timeoutMs: order.timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.AUDIT]
    })
  } catch (e) {
    // A refusal is the holder's answer (it could not prove); being unreachable, busy or late is no answer.
    const code = (e as { code?: string }).code ?? 'ERR_TIMEOUT'
    return { holder, x, outcome: e instanceof RemoteError && !NO_ANSWER.has(code) ? 'failed' : 'no-answer', reason: code }
  }
  let res: AuditResponse
  try {
    res = readAuditResponse(answer)
  } catch (e) {
    return { holder, x, outcome: 'failed', reason: (e as { code?: string }).code ?? 'ERR_DECODE' }
  }
  return { holder, x, ...judge(res, { holder, x, templateId, commitment, hash }) }
}

interface Expected { holder: string, x: number, templateId: Uint8Array, commitment: Uint8Array, hash: Uint8Array }

function judge (res: AuditResponse, want: Expected): Pick<HolderAudit, 'outcome' | 'reason'> {
  try {
    checkSigned(SIG.AUDIT_RESPONSE, res, peerPublicKey(want.holder), `audit response from ${want.holder}`)
  } catch {
    return { outcome: 'failed', reason: 'ERR_BAD_SIGNATURE' }
  }
  const b = res.body
  if (b.holder !== want.holder || b.x !== want.x || !equalBytes(b.templateId, want.templateId) || !equalBytes(b.request, want.hash)) {
    return { outcome: 'failed', reason: 'the answer does not match the request' }
  }
  const ok = verifyAudit({ templateId: want.templateId, x: want.x, commitment: want.commitment, binding: want.hash }, b.proof)
  return ok ? { outcome: 'passed' } : { outcome: 'failed', reason: 'the proof of possession does not verify' }
}

/**
 * Audit every holder of a template, in parallel, against the manifest the
 * client reads (the latest the tenant signed).
 *
 * @param ctx - the client; signs as its tenant, or as its verifier key when that key is certified for `audit`
 * @param templateId - the template
 * @param options - `manifest` to audit against a manifest already in hand (default: read it)
 * @returns one outcome per share of the manifest, in manifest order
 * @throws {BioshardError} ERR_NOT_AUTHORISED without credentials; the manifest lookup's errors (ERR_NOT_FOUND, …)
 * @example const outcomes = await auditTemplate(ctx, templateId)
 */
export async function auditTemplate (ctx: ClientContext, templateId: Uint8Array, options: { manifest?: Manifest } = {}): Promise<HolderAudit[]> {
  const auditor = auditorOf(ctx)
  const manifest = options.manifest ?? await ctx.manifests.get(templateId, { signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
  return await Promise.all(manifest.body.shares.map(async (entry) =>
    await auditHolder(ctx.host, entry, { templateId, auditor, timeoutMs: ctx.timeouts.requestMs })))
}
