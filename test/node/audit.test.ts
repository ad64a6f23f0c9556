/**
 * Possession audits over real nodes (libp2p over TCP, level on disk): honest
 * holders pass; a holder that lost its share or holds an altered one fails;
 * a stranger or another tenant hears what it hears for an unknown id, as
 * fetch answers; a delegated auditor needs the `audit` purpose; malformed,
 * oversized and replayed requests get typed errors and the node keeps serving.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { auditHolder } from '../../client/audit.ts'
import { encodeAuditRequest, readAuditResponse } from '../../protocol/audit.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES, NONCE_BYTES } from '../../protocol/constants.ts'
import { request } from '../../net/rpc.ts'
import { verifyAudit } from '../../crypto/possession.ts'
import { generateSigningKey, type SigningKey } from '../../crypto/sign.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { syntheticIdentity, prng } from '../../sim/synthetic.ts'
import { clientHost } from '../helpers/enrol.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const net = await LocalNetwork.start({ nodes: 3, sites: 3 })
const losing = await net.addNode('site-losing', net.bootstrap, { loseShares: true })
const altering = await net.addNode('site-altering', net.bootstrap, { corruptShares: true })
await net.converged()
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const enrolled = await client.enroll({ template: syntheticIdentity(128, prng(3)), modality: 'face', model: 'synthetic-128', t: 3, n: 5 })
const templateId = enrolled.templateId
const entries = enrolled.manifest.body.shares
const honest = entries.filter((e) => e.holder !== losing.cert.body.peer && e.holder !== altering.cert.body.peer)
const { host, stop } = await clientHost(net)
const timeoutMs = 10_000

/** Send raw request bytes to `holder` over the audit protocol. */
async function send (holder: string, body: Uint8Array): Promise<unknown> {
  return await request(host, peerIdFromString(holder), PROTOCOL.AUDIT, { body, timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.AUDIT] })
}

/** An audit request for `id` naming `owner` as the tenant, signed by `signer`. */
interface Asked { id?: Uint8Array, owner?: Uint8Array, signer?: SigningKey, cert?: ReturnType<typeof net.verifier>['wire'] }
function auditRequest (o: Asked = {}): { bytes: Uint8Array, hash: Uint8Array } {
  return encodeAuditRequest({
    templateId: o.id ?? templateId,
    tenant: o.owner ?? tenant.key.publicKey,
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    sender: host.peerId.toString(),
    nonce: randomBytes(NONCE_BYTES),
    time: Date.now()
  }, o.signer ?? tenant.key)
}

async function stillServes (holder: string): Promise<void> {
  const { bytes, hash } = auditRequest()
  const res = readAuditResponse(await send(holder, bytes))
  const entry = entries.find((e) => e.holder === holder)
  const ok = entry?.audit !== undefined && verifyAudit({ templateId, x: entry.x, commitment: entry.audit, binding: hash }, res.body.proof)
  assert.ok(ok, 'the node still answers a good audit')
}

const outcomes = suite('audit outcomes')

outcomes('enrolment publishes an audit commitment per share; honest holders pass, a lost or altered share fails', async () => {
  assert.is(entries.length, 5)
  assert.ok(entries.every((e) => e.audit?.length === 32))
  const results = await client.audit(templateId)
  assert.is(results.length, 5)
  for (const r of results) {
    if (r.holder === losing.cert.body.peer) assert.equal([r.outcome, r.reason], ['failed', 'ERR_NOT_FOUND'])
    else if (r.holder === altering.cert.body.peer) assert.equal([r.outcome, r.reason], ['failed', 'the proof of possession does not verify'])
    else assert.is(r.outcome, 'passed', `${r.holder}: ${r.reason ?? ''}`)
  }
})

outcomes('a holder that is down gives no answer', async () => {
  const down = await net.addNode('site-down', net.bootstrap)
  const peer = down.cert.body.peer
  await down.stop()
  const auditor = { tenant: tenant.key.publicKey, key: tenant.key }
  const r = await auditHolder(host, { ...honest[0], holder: peer }, { templateId, auditor, timeoutMs: 3_000 })
  assert.is(r.outcome, 'no-answer', String(r.reason))
})

outcomes('a manifest share without an audit commitment is reported unauditable, not failed', async () => {
  const { audit: _, ...old } = honest[0]
  const r = await auditHolder(host, old, { templateId, auditor: { tenant: tenant.key.publicKey, key: tenant.key }, timeoutMs })
  assert.is(r.outcome, 'unauditable')
})

const access = suite('who may audit')

access('another tenant, and a stranger naming itself as tenant, hear what they hear for an unknown id (ERR_NOT_FOUND)', async () => {
  const holder = honest[0].holder
  const other = net.tenant('other')
  const stranger = generateSigningKey().key
  const unknown = await codeOfAsync(send(holder, auditRequest({ id: randomBytes(32) }).bytes))
  assert.is(unknown, 'ERR_NOT_FOUND')
  assert.is(await codeOfAsync(send(holder, auditRequest({ owner: other.key.publicKey, signer: other.key }).bytes)), unknown)
  assert.is(await codeOfAsync(send(holder, auditRequest({ owner: stranger.publicKey, signer: stranger }).bytes)), unknown)
  await stillServes(holder)
})

access('a request naming the owner but signed by anyone else is refused before any lookup (ERR_BAD_SIGNATURE)', async () => {
  const holder = honest[1].holder
  const stranger = generateSigningKey().key
  assert.is(await codeOfAsync(send(holder, auditRequest({ signer: stranger }).bytes)), 'ERR_BAD_SIGNATURE')
  // The same answer for an id that does not exist: the refusal says nothing about the id.
  assert.is(await codeOfAsync(send(holder, auditRequest({ id: randomBytes(32), signer: stranger }).bytes)), 'ERR_BAD_SIGNATURE')
})

access('a delegated auditor passes with the audit purpose and is refused without it; another tenant\'s auditor is refused', async () => {
  const holder = honest[0].holder
  const auditor = net.verifier(tenant, ['audit'], 'auditor')
  const res = readAuditResponse(await send(holder, auditRequest({ signer: auditor.key, cert: auditor.wire }).bytes))
  assert.is(res.body.holder, holder)
  const loginOnly = net.verifier(tenant, ['login'], 'login-only')
  assert.is(await codeOfAsync(send(holder, auditRequest({ signer: loginOnly.key, cert: loginOnly.wire }).bytes)), 'ERR_NOT_AUTHORISED')
  const foreign = net.verifier(net.tenant('other'), ['audit'], 'foreign')
  assert.is(await codeOfAsync(send(holder, auditRequest({ signer: foreign.key, cert: foreign.wire }).bytes)), 'ERR_NOT_AUTHORISED')
  const r = await auditHolder(host, entries.find((e) => e.holder === holder) as typeof entries[number], {
    templateId, auditor: { tenant: tenant.key.publicKey, key: auditor.key, cert: auditor.wire }, timeoutMs
  })
  assert.is(r.outcome, 'passed')
})

const hostile = suite('hostile input')

hostile('malformed, oversized and replayed requests get typed errors, and the node keeps serving', async () => {
  const holder = honest[2].holder
  assert.is(await codeOfAsync(send(holder, randomBytes(200))), 'ERR_DECODE')
  assert.is(await codeOfAsync(send(holder, Uint8Array.of(0xa0))), 'ERR_DECODE')
  const big = await codeOfAsync(send(holder, new Uint8Array(MAX_MESSAGE_BYTES[PROTOCOL.AUDIT] + 1)))
  assert.ok(big === 'ERR_TOO_LARGE' || big === 'ERR_ABORTED', big)
  const { bytes } = auditRequest()
  await send(holder, bytes)
  assert.is(await codeOfAsync(send(holder, bytes)), 'ERR_REPLAY')
  const base = { templateId, tenant: tenant.key.publicKey, sender: host.peerId.toString(), nonce: randomBytes(NONCE_BYTES), time: Date.now() }
  const stale = encodeAuditRequest({ ...base, time: Date.now() - 3_600_000 }, tenant.key)
  assert.is(await codeOfAsync(send(holder, stale.bytes)), 'ERR_STALE')
  const forOther = encodeAuditRequest({ ...base, sender: holder, nonce: randomBytes(NONCE_BYTES) }, tenant.key)
  assert.is(await codeOfAsync(send(holder, forOther.bytes)), 'ERR_NOT_AUTHORISED')
  await stillServes(holder)
})

hostile('audits are rate limited per auditor and template', async () => {
  const holder = honest[1].holder
  const codes: string[] = []
  for (let i = 0; i < 9; i++) codes.push(await codeOfAsync(send(holder, auditRequest().bytes)))
  assert.ok(codes.includes('ERR_RATE_LIMITED'), codes.join(' '))
  // Another auditor of the same tenant has its own budget.
  const auditor = net.verifier(tenant, ['audit'], 'second-auditor')
  assert.is(await codeOfAsync(send(holder, auditRequest({ signer: auditor.key, cert: auditor.wire }).bytes)), 'no error')
})

hostile.after(async () => {
  await client.close()
  await stop()
  await net.stop()
})

outcomes.run()
access.run()
hostile.run()
