/**
 * `/bioshard/audit/1.0.0` messages (protocol/audit.ts): requests and
 * responses round-trip; malformed and oversized ones are refused with typed
 * errors; a response carries a proof and never share bytes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodeAuditRequest, decodeAuditRequest, auditRequestHash, readAuditResponse, signAuditResponse } from '../../protocol/audit.ts'
import { MAX_MESSAGE_BYTES, MAX_AUDIT_PROOF_BYTES, PROTOCOL } from '../../protocol/constants.ts'
import { encodeCanonical, decodeCanonical } from '../../crypto/canonical.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { codeOf } from '../helpers/assert.ts'

const sender = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const tenant = generateSigningKey().key
const init = { templateId: randomBytes(32), tenant: tenant.publicKey, sender, nonce: randomBytes(16), time: Date.now() }

const messages = suite('audit messages')

messages('a request round-trips and its hash is the one the sender computed', () => {
  const { bytes, hash } = encodeAuditRequest(init, tenant)
  const req = decodeAuditRequest(bytes)
  assert.is(toHex(auditRequestHash(req)), toHex(hash))
  assert.is(req.body.cert, undefined)
})

messages('malformed or oversized requests get ERR_DECODE / ERR_TOO_LARGE', () => {
  const { bytes } = encodeAuditRequest(init, tenant)
  const wire = decodeCanonical(bytes, 4096, 'x') as { body: Record<string, unknown>, sig: Uint8Array }
  const bad = (edit: (b: Record<string, unknown>) => void): Uint8Array => {
    const b = { ...wire.body }
    edit(b)
    return encodeCanonical({ body: b, sig: wire.sig })
  }
  for (const [what, b] of [
    ['short template id', bad((b) => { b.templateId = randomBytes(31) })],
    ['short tenant key', bad((b) => { b.tenant = randomBytes(31) })],
    ['unknown field', bad((b) => { b.share = randomBytes(32) })],
    ['missing nonce', bad((b) => { delete b.nonce })],
    ['bad certificate', bad((b) => { b.cert = { body: {}, sig: randomBytes(64) } })],
    ['garbage', randomBytes(100)]
  ] as Array<[string, Uint8Array]>) assert.is(codeOf(() => decodeAuditRequest(b)), 'ERR_DECODE', what)
  assert.is(codeOf(() => decodeAuditRequest(new Uint8Array(MAX_MESSAGE_BYTES[PROTOCOL.AUDIT] + 1))), 'ERR_TOO_LARGE')
})

messages('a response round-trips; a proof of the wrong size is refused', () => {
  const holder = generateSigningKey().key
  const body = { templateId: init.templateId, x: 3, holder: sender, proof: randomBytes(32 * 10), request: randomBytes(32), seq: 1, time: Date.now() }
  const res = readAuditResponse(decodeCanonical(encodeCanonical(signAuditResponse(body, holder)), 1 << 20, 'r'))
  assert.is(res.body.x, 3)
  for (const proof of [randomBytes(64), randomBytes(MAX_AUDIT_PROOF_BYTES + 32)]) {
    const wire = decodeCanonical(encodeCanonical(signAuditResponse({ ...body, proof }, holder)), 1 << 20, 'r')
    assert.is(codeOf(() => readAuditResponse(wire)), 'ERR_DECODE')
  }
})

messages.run()
