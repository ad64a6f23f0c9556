/**
 * Fuzz targets for `/bioshard/audit/1.0.0`: the request as a holder reads it
 * (decode, then the checks the handler runs before it touches its store:
 * sender binding and freshness, the auditor's certificate and its `audit`
 * purpose, the request signature) and the response as the auditing client
 * reads it (frame, decode, the holder's signature, and the possession proof
 * checked against the captured manifest's audit commitment, which must
 * answer true or false and never throw). An accepted message's decoded body
 * must re-encode to exactly its signed bytes.
 *
 * @module
 */
import { encodeCanonical } from '../../crypto/canonical.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'
import { verifyAudit } from '../../crypto/possession.ts'
import { decodeAuditRequest, readAuditResponse, AUDIT_PURPOSE } from '../../protocol/audit.ts'
import { checkVerifierCert } from '../../protocol/certs.ts'
import { decodeManifest } from '../../protocol/manifest.ts'
import { peerPublicKey } from '../../protocol/fields.ts'
import { checkSigned, toWire } from '../../protocol/signed.ts'
import { refuse } from '../../protocol/errors.ts'
import { readFrame } from '../../protocol/frame.ts'
import { checkEnvelope } from '../../node/handlers/context.ts'
import type { RequestContext } from '../../net/rpc.ts'
import { bytesInput, raw, sameSigned, CHECKED, FRAME, BARE_MAX } from './targets-wire.ts'
import { consistent, type Target } from './target.ts'

/** Whether a decoded body, put back in wire form, encodes to exactly the signed bytes. */
function sameBody (body: Record<string, unknown>, bytes: Uint8Array, what: string): void {
  consistent(equalBytes(encodeCanonical(body), bytes), `${what}: the decoded body re-encodes differently`)
}

/** The audit targets over the captured audit requests, responses and the manifest they answer to. */
export function auditTargets (corpus: Map<string, Uint8Array[]>): Target[] {
  const requests = corpus.get('audit-request') ?? []
  const responses = corpus.get('audit-response') ?? []
  const manifests = corpus.get('audit-manifest') ?? []
  if (requests.length === 0 || responses.length === 0 || manifests.length === 0) return []
  // Judged as the holder that served the captured requests would: the capture's client is the sender, at the capture's time.
  const seed = decodeAuditRequest(requests[0]).body
  const ctx = { peer: seed.sender } as unknown as RequestContext
  const manifest = decodeManifest(manifests[0])
  return [
    {
      name: 'audit-request',
      fn: 'decodeAuditRequest (protocol/audit.ts), then the audit handler\'s checks before its store: envelope, certificate, purpose, signature',
      refusals: [...CHECKED, 'ERR_STALE'],
      input: bytesInput(requests),
      run: (b) => {
        const req = decodeAuditRequest(b as Uint8Array)
        sameSigned(req, raw(b as Uint8Array), 'audit request')
        const { cert, ...rest } = req.body
        sameBody({ ...rest, ...(cert !== undefined ? { cert: toWire(cert) } : {}) }, req.bytes, 'audit request')
        checkEnvelope(req.body, ctx, seed.time)
        if (cert !== undefined) {
          checkVerifierCert(cert, req.body.tenant, seed.time)
          if (!cert.body.purposes.includes(AUDIT_PURPOSE)) refuse('ERR_NOT_AUTHORISED', 'the certificate does not cover purpose audit')
        }
        checkSigned(SIG.AUDIT_REQUEST, req, cert === undefined ? req.body.tenant : cert.body.key, 'audit request')
      }
    },
    {
      name: 'audit-response',
      fn: 'readFrame → readAuditResponse (protocol/audit.ts), the holder\'s signature, verifyAudit (crypto/possession.ts)',
      refusals: [...new Set([...FRAME, ...CHECKED])],
      input: bytesInput(responses),
      run: (b) => {
        const body = readFrame(b as Uint8Array, BARE_MAX, 'peer')
        const res = readAuditResponse(body)
        sameSigned(res, body as Record<string, unknown>, 'audit response')
        sameBody({ ...res.body }, res.bytes, 'audit response')
        const { templateId, x, request, proof, holder } = res.body
        // Proof checked before the signature, so mutated proofs reach the verifier too.
        const entry = manifest.body.shares.find((s) => s.x === x)
        if (entry?.audit !== undefined) {
          const ok = verifyAudit({ templateId, x, commitment: entry.audit, binding: request }, proof)
          consistent(typeof ok === 'boolean', 'verifyAudit answered something other than true or false')
        }
        checkSigned(SIG.AUDIT_RESPONSE, res, peerPublicKey(holder), 'audit response')
      }
    }
  ]
}
