/**
 * The holder protocols between real nodes (libp2p over TCP, level on disk):
 * store → fetch → open in a test enclave, and every refusal with its code,
 * each followed by a good request that is still served.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, testEnclave, enrolByHand, fetchParties, openFetched, MODEL, type Enrolled } from '../helpers/enrol.ts'
import { storeShare, fetchShare, eraseAt, checkFetchResponse, prepareFetch, sendFetch, type FetchOrder } from '../../client/holder-requests.ts'
import { combineShares } from '../../crypto/shares.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import { encodeFetchRequest } from '../../protocol/fetch.ts'
import { request } from '../../net/rpc.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { admitTenant, authoriseVerifier, initAuthority, loadAuthority } from '../../keys/authority.ts'
import { toWire } from '../../protocol/signed.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { codeOf, codeOfAsync } from '../helpers/assert.ts'

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const client = await clientHost(net)
const { tenant, verifier, enclave, creds } = fetchParties(net)
const holders = net.nodes.slice(0, 5)
const peerOf = (i: number): string => holders[i].cert.body.peer

/** The node at index i still serves a good fetch. */
async function stillServes (e: Enrolled, i = 0): Promise<void> {
  const now = Date.now()
  const res = await fetchShare(client.host, peerOf(i), { templateId: e.templateId, x: e.shares[i].x, purpose: 'login', creds }, { now })
  const share = openFetched(enclave.keys, res, now)
  assert.ok(equalBytes(share, e.shares[i].bytes))
}

const enrolled = await enrolByHand(client.host, holders, tenant, { measurements: [enclave.measurement] })

/** A fetch of holder i's share of `enrolled`, for login with the suite's credentials unless `over` says otherwise. */
function shareAt (i: number, over: Partial<FetchOrder> = {}): Parameters<typeof fetchShare>[2] {
  return { templateId: enrolled.templateId, x: enrolled.shares[i].x, purpose: 'login', creds, ...over }
}

/** Send raw request bytes on `protocol` to holder i (a 5 s deadline), as a peer that skips the client library would. */
async function rawTo (i: number, protocol: string, body: Uint8Array, maxResponseBytes: number): Promise<unknown> {
  return await request(client.host, peerIdFromString(peerOf(i)), protocol, { body, timeoutMs: 5000, maxResponseBytes })
}

const flow = suite('store → fetch → open')

flow('t sealed shares open in the enclave and reconstruct the template', async () => {
  const got = await Promise.all([0, 2, 4].map(async (i) => {
    const now = Date.now()
    const res = await fetchShare(client.host, peerOf(i), shareAt(i), { now })
    return { x: res.body.x, bytes: openFetched(enclave.keys, res, now) }
  }))
  const secret = await combineShares(got)
  const template = decryptTemplate(secret, { templateId: enrolled.templateId, modality: 'face', model: MODEL })
  assert.ok(equalBytes(template, enrolled.template))
})

flow('a response taken without its signature checked is still the holder\'s, and its signature verifies later only for that holder', async () => {
  const res = await fetchShare(client.host, peerOf(1), shareAt(1), { verifySignature: false })
  checkFetchResponse(res, peerOf(1))
  assert.is(codeOf(() => { checkFetchResponse(res, peerOf(2)) }), 'ERR_BAD_SIGNATURE', 'another holder did not sign it')
  const forged = { ...res, sig: Uint8Array.from(res.sig, (b, i) => i === 0 ? b ^ 1 : b) }
  assert.is(codeOf(() => { checkFetchResponse(forged, peerOf(1)) }), 'ERR_BAD_SIGNATURE', 'a changed signature does not verify')
})

flow('one request listing several shares is answered by each listed holder with its own share, once', async () => {
  const holdersAsked = [0, 2, 4]
  const xs = holdersAsked.map((i) => enrolled.shares[i].x)
  const prepared = prepareFetch(client.host, { templateId: enrolled.templateId, xs, purpose: 'login', creds })
  const got = await Promise.all(holdersAsked.map(async (i) => {
    const res = await sendFetch(client.host, peerOf(i), { x: enrolled.shares[i].x, prepared })
    assert.ok(equalBytes(res.body.request, prepared.hash), 'every answer binds to the one request')
    return { x: res.body.x, bytes: openFetched(enclave.keys, res, prepared.time) }
  }))
  const template = decryptTemplate(await combineShares(got), { templateId: enrolled.templateId, modality: 'face', model: MODEL })
  assert.ok(equalBytes(template, enrolled.template))
  assert.is(await codeOfAsync(sendFetch(client.host, peerOf(2), { x: enrolled.shares[2].x, prepared })), 'ERR_REPLAY', 'a holder serves one request once')
  const unlisted = sendFetch(client.host, peerOf(1), { x: enrolled.shares[1].x, prepared })
  assert.is(await codeOfAsync(unlisted), 'ERR_NOT_HOLDER', 'a holder whose share is not listed refuses')
  await stillServes(enrolled, 1)
})

flow('every holder keeps exactly one share and the manifest beside it', async () => {
  for (const n of holders) assert.is(await n.shareCount(), 1)
})

flow.run()

const refusals = suite('refusals: a typed code, and the node keeps serving')

refusals('another tenant\'s verifier learns nothing of the id (ERR_NOT_FOUND, as for an id never enrolled)', async () => {
  const stranger = net.verifier(net.tenant('other'), ['login'])
  const att = testEnclave(stranger, enclave.measurement)
  const strangerCreds = { verifier: stranger.key, cert: stranger.wire, attestation: att.attestation }
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), shareAt(0, { creds: strangerCreds }))), 'ERR_NOT_FOUND')
  await stillServes(enrolled)
})

refusals('a purpose outside the policy is refused (ERR_NOT_AUTHORISED)', async () => {
  const wide = net.verifier(tenant, ['login', 'payment'])
  const att = testEnclave(wide, enclave.measurement)
  const wideCreds = { verifier: wide.key, cert: wide.wire, attestation: att.attestation }
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), shareAt(0, { purpose: 'payment', creds: wideCreds }))), 'ERR_NOT_AUTHORISED')
  await stillServes(enrolled)
})

refusals('an enclave measurement outside the policy is refused (ERR_NOT_AUTHORISED)', async () => {
  const rogue = testEnclave(verifier)
  const rogueCreds = { ...creds, attestation: rogue.attestation }
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(1), shareAt(1, { creds: rogueCreds }))), 'ERR_NOT_AUTHORISED')
  await stillServes(enrolled, 1)
})

refusals('a request signed by a key other than the certified verifier is refused (ERR_BAD_SIGNATURE)', async () => {
  const forger = generateSigningKey().key
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), shareAt(0, { creds: { ...creds, verifier: forger } }))), 'ERR_BAD_SIGNATURE')
  await stillServes(enrolled)
})

refusals('an expired verifier certificate is refused (ERR_EXPIRED)', async () => {
  const old = authoriseVerifier(tenant.key, 'old', ['login'], { now: Date.now() - 10 * 86_400_000, days: 1 })
  const att = testEnclave({ key: old.key, cert: old.cert, wire: toWire(old.cert) }, enclave.measurement)
  const oldCreds = { verifier: old.key, cert: toWire(old.cert), attestation: att.attestation }
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), shareAt(0, { creds: oldCreds }))), 'ERR_EXPIRED')
  await stillServes(enrolled)
})

refusals('a replayed request is refused (ERR_REPLAY)', async () => {
  const bytes = encodeFetchRequest({
    templateId: enrolled.templateId,
    xs: [enrolled.shares[2].x],
    purpose: 'login',
    enclave: creds.attestation,
    cert: creds.cert,
    sender: client.host.peerId.toString(),
    nonce: randomBytes(16),
    time: Date.now()
  }, verifier.key)
  const opts = { timeoutMs: 5000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.FETCH] }
  await request(client.host, peerIdFromString(peerOf(2)), PROTOCOL.FETCH, { body: bytes, ...opts })
  assert.is(await codeOfAsync(request(client.host, peerIdFromString(peerOf(2)), PROTOCOL.FETCH, { body: bytes, ...opts })), 'ERR_REPLAY')
  await stillServes(enrolled, 2)
})

refusals('a stale timestamp is refused (ERR_STALE)', async () => {
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), shareAt(0), { now: Date.now() - 5 * 60_000 })), 'ERR_STALE')
  await stillServes(enrolled)
})

refusals('an unknown template id is refused (ERR_NOT_FOUND)', async () => {
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(0), { templateId: randomBytes(32), x: 1, purpose: 'login', creds })), 'ERR_NOT_FOUND')
  await stillServes(enrolled)
})

refusals('a share offered to a node that is not its listed holder is refused (ERR_NOT_HOLDER)', async () => {
  const e = await enrolByHand(client.host, holders, tenant, { measurements: [enclave.measurement] })
  const elsewhere = { manifest: e.manifest, x: e.shares[1].x, share: e.shares[1].bytes, tenant: tenant.key }
  assert.is(await codeOfAsync(storeShare(client.host, peerOf(0), elsewhere)), 'ERR_NOT_HOLDER')
  await stillServes(enrolled)
})

refusals('an oversized message is refused from its length prefix (ERR_TOO_LARGE)', async () => {
  const huge = new Uint8Array(MAX_MESSAGE_BYTES[PROTOCOL.FETCH] + 1)
  assert.is(await codeOfAsync(rawTo(0, PROTOCOL.FETCH, huge, 4096)), 'ERR_TOO_LARGE')
  await stillServes(enrolled)
})

refusals('garbage bytes are refused (ERR_DECODE)', async () => {
  for (const junk of [randomBytes(100), new Uint8Array([0xa1, 0x61]), new Uint8Array([0xff])]) {
    assert.is(await codeOfAsync(rawTo(3, PROTOCOL.STORE, junk, 4096)), 'ERR_DECODE')
  }
  await stillServes(enrolled, 3)
})

refusals('a truncated stream is answered and the node keeps serving', async () => {
  const stream = await client.host.dialProtocol(peerIdFromString(peerOf(0)), PROTOCOL.FETCH)
  stream.send(Uint8Array.of(100, 1, 2, 3)) // claims 100 bytes, sends 3
  await stream.close()
  const lp = lpStream(stream)
  const answer = await lp.read({ signal: AbortSignal.timeout(5000) }).then((b) => b.subarray(), () => undefined)
  assert.ok(answer === undefined || answer.length > 0)
  await stillServes(enrolled)
})

refusals('a request signed for another sender peer is refused (ERR_NOT_AUTHORISED)', async () => {
  const bytes = encodeFetchRequest({
    templateId: enrolled.templateId,
    xs: [enrolled.shares[0].x],
    purpose: 'login',
    enclave: creds.attestation,
    cert: creds.cert,
    sender: peerOf(4),
    nonce: randomBytes(16),
    time: Date.now()
  }, verifier.key)
  assert.is(await codeOfAsync(rawTo(0, PROTOCOL.FETCH, bytes, 8192)), 'ERR_NOT_AUTHORISED')
  await stillServes(enrolled)
})

refusals('after erase no holder serves the share, and re-store is refused (ERR_ERASED)', async () => {
  const e = await enrolByHand(client.host, holders, tenant, { measurements: [enclave.measurement] })
  const receipts = await Promise.all(holders.map(async (_, i) => await eraseAt(client.host, peerOf(i), { manifest: e.manifest, signer: tenant.key })))
  assert.ok(receipts.every((r) => r.body.held))
  const again = await eraseAt(client.host, peerOf(0), { manifest: e.manifest, signer: tenant.key })
  assert.is(again.body.held, false, 'erase is idempotent and says nothing was left')
  for (let i = 0; i < holders.length; i++) {
    assert.is(await codeOfAsync(fetchShare(client.host, peerOf(i), { templateId: e.templateId, x: e.shares[i].x, purpose: 'login', creds })), 'ERR_ERASED')
  }
  const restore = { manifest: e.manifest, x: e.shares[0].x, share: e.shares[0].bytes, tenant: tenant.key }
  assert.is(await codeOfAsync(storeShare(client.host, peerOf(0), restore)), 'ERR_ERASED')
  await stillServes(enrolled)
})

refusals('a tenant that another authority admitted cannot store (ERR_NOT_ADMITTED)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bioshard-auth-'))
  initAuthority(dir)
  const foreign = admitTenant(loadAuthority(dir), 'foreign')
  const foreignTenant = { key: foreign.key, cert: foreign.cert, wire: toWire(foreign.cert) }
  const code1 = await codeOfAsync(enrolByHand(client.host, holders, foreignTenant, { measurements: [enclave.measurement] }))
  assert.is(code1, 'ERR_NOT_ADMITTED')
  await stillServes(enrolled)
})

refusals.after(async () => {
  await client.stop()
  await net.stop()
})

refusals.run()
