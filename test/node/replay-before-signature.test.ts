/**
 * A replay is refused before its signature is verified again, on every
 * holder protocol that takes a nonce (real nodes, libp2p over TCP): a replay
 * storm costs a holder a lookup per request, not a signature verification.
 * The probe is a replay whose signature bytes were altered: refused as a
 * replay (ERR_REPLAY), where verifying first would have said
 * ERR_BAD_SIGNATURE. A request with a fresh nonce and a bad signature is still
 * refused for its signature, and nothing is recorded for it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties, prepareEnrolment } from '../helpers/enrol.ts'
import { prepareFetch } from '../../client/holder-requests.ts'
import { encodeStoreRequest } from '../../protocol/store.ts'
import { encodeEraseRequest } from '../../protocol/erase.ts'
import { request } from '../../net/rpc.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES, NONCE_BYTES } from '../../protocol/constants.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'

/** Where a signed wire's signature starts: the canonical map head, "sig" and the byte-string head (protocol/signed.ts). */
const SIG_OFFSET = 7

const net = await LocalNetwork.start({ nodes: 2 })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave, creds } = fetchParties(net)
const holders = net.nodes.map((n) => ({ peer: n.cert.body.peer, site: n.config.site }))
const holder = holders[0].peer

/** `bytes` with one bit of their signature flipped. */
function badSignature (bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice()
  copy[SIG_OFFSET] ^= 1
  return copy
}

/** Send `body` on `protocol` to the first node; 'ok' or the refusal's code. */
async function send (protocol: keyof typeof MAX_RESPONSE_BYTES, body: Uint8Array): Promise<string> {
  return await codeOfAsync(request(client.host, peerIdFromString(holder), protocol, { body, timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[protocol] }))
}

/** A store request for share 1 of a fresh template placed at both nodes, with a fresh nonce. */
async function storeRequest (): Promise<{ bytes: Uint8Array, prepared: Awaited<ReturnType<typeof prepareEnrolment>> }> {
  const prepared = await prepareEnrolment(tenant, holders, { t: 2, measurements: [enclave.measurement] })
  const s = prepared.shares[0]
  const bytes = encodeStoreRequest({
    manifest: prepared.manifest, x: s.x, share: s.bytes, sender: client.host.peerId.toString(), nonce: randomBytes(NONCE_BYTES), time: Date.now()
  }, tenant.key)
  return { bytes, prepared }
}

const replays = suite('a replay is refused before its signature is verified')

replays('store, then fetch, then erase: each served once, each replay with an altered signature refused as a replay', async () => {
  const { bytes: store, prepared } = await storeRequest()
  assert.is(await send(PROTOCOL.STORE, store), 'no error')
  assert.is(await send(PROTOCOL.STORE, badSignature(store)), 'ERR_REPLAY')

  const fetch = prepareFetch(client.host, { templateId: prepared.templateId, xs: [prepared.shares[0].x], purpose: 'login', creds }).bytes
  assert.is(await send(PROTOCOL.FETCH, fetch), 'no error')
  assert.is(await send(PROTOCOL.FETCH, badSignature(fetch)), 'ERR_REPLAY')
  assert.is(await send(PROTOCOL.FETCH, fetch), 'ERR_REPLAY', 'the replay as sent is refused too')

  const sender = client.host.peerId.toString()
  const erase = encodeEraseRequest({ manifest: prepared.manifest, by: 'tenant', sender, nonce: randomBytes(NONCE_BYTES), time: Date.now() }, tenant.key)
  assert.is(await send(PROTOCOL.ERASE, erase), 'no error')
  assert.is(await send(PROTOCOL.ERASE, badSignature(erase)), 'ERR_REPLAY')
})

replays('a fresh nonce with a bad signature is refused for its signature, and burns nothing: the request as signed is then served', async () => {
  const { bytes: store, prepared } = await storeRequest()
  assert.is(await send(PROTOCOL.STORE, store), 'no error')
  const fetch = prepareFetch(client.host, { templateId: prepared.templateId, xs: [prepared.shares[0].x], purpose: 'login', creds }).bytes
  assert.is(await send(PROTOCOL.FETCH, badSignature(fetch)), 'ERR_BAD_SIGNATURE')
  assert.is(await send(PROTOCOL.FETCH, fetch), 'no error')
})

replays.after(async () => {
  await client.stop()
  await net.stop()
})

replays.run()
