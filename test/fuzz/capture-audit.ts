/**
 * Corpus capture for the possession audit: a template enrolled through the
 * client library (so its manifest carries audit commitments), then audit
 * requests signed by the tenant and by an auditor it certified, the holders'
 * signed proofs, a replayed request's refusal frame, and the manifest whose
 * audit commitments the proofs answer to. Called by
 * capture.ts with its network and client host.
 *
 * @module
 */
import type { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { encodeAuditRequest } from '../../protocol/audit.ts'
import { encodeManifest } from '../../protocol/manifest.ts'
import { PROTOCOL, NONCE_BYTES, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { syntheticIdentity, prng } from '../../sim/synthetic.ts'

/** What a capture step needs from capture.ts: the client host's peer id, a raw exchange, and the corpus sink. */
export interface CaptureIo {
  sender: string
  send: (peer: string, protocol: keyof typeof MAX_RESPONSE_BYTES, body: Uint8Array) => Promise<Uint8Array>
  keep: (name: string, bytes: Uint8Array) => void
}

/** Enrol through the client library, then record audit requests (tenant and delegated) and the holders' answers. */
export async function captureAudits (net: LocalNetwork, io: CaptureIo): Promise<void> {
  const tenant = net.tenant('auditing')
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  try {
    const { templateId, manifest } = await client.enroll({ template: syntheticIdentity(128, prng(7)), modality: 'face', model: 'synthetic-128', t: 2, n: 3 })
    // The manifest the proofs answer to (its shares carry audit commitments).
    io.keep('audit-manifest-0', encodeManifest(manifest))
    const auditor = net.verifier(tenant, ['audit'], 'auditor')
    const ask = (delegated: boolean): Uint8Array => encodeAuditRequest({
      templateId,
      tenant: tenant.key.publicKey,
      ...(delegated ? { cert: auditor.wire } : {}),
      sender: io.sender,
      nonce: randomBytes(NONCE_BYTES),
      time: Date.now()
    }, delegated ? auditor.key : tenant.key).bytes
    const requests = [ask(false), ask(true)]
    requests.forEach((r, i) => { io.keep(`audit-request-${i}`, r) })
    const holders = manifest.body.shares.map((s) => s.holder)
    for (const [i, holder] of holders.entries()) {
      io.keep(`audit-response-${i}`, await io.send(holder, PROTOCOL.AUDIT, requests[i % requests.length]))
    }
    // The same request again: its nonce is spent, so the answer is a refusal frame.
    io.keep('audit-response-refused', await io.send(holders[0], PROTOCOL.AUDIT, requests[0]))
  } finally {
    await client.close()
  }
}
