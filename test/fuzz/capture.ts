/**
 * Records the fuzz corpus: real request and response bytes of the store,
 * fetch, erase, audit and admit protocols (admit with and without a roster
 * digest), exchanged with the nodes of a small throwaway LocalNetwork, plus
 * the manifests, certificates, attestations, address statements, client
 * proofs, revocations, retirement notices and a decision those exchanges
 * carry, and the maintain messages of real refresh and repair rounds
 * (capture-maintain.ts). The audit seeds come from a template enrolled through the client
 * library (its manifest carries audit commitments); the revocation and the
 * retirement notice are gossiped to a node, so its roster answer carries them.
 * The mutation fuzzer starts from these bytes, so its inputs reach deep into
 * each decoder instead of stopping at the first head. Every key here dies
 * with the network.
 *
 * Run: `node test/fuzz/capture.ts` (rewrites test/fuzz/corpus/).
 *
 * @module
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from '@libp2p/interface'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties, prepareEnrolment, TEST_RATE } from '../helpers/enrol.ts'
import { encodeStoreRequest } from '../../protocol/store.ts'
import { encodeEraseRequest } from '../../protocol/erase.ts'
import { encodeAdmitMessage, readAdmitMessage } from '../../protocol/admit.ts'
import { readFrame } from '../../protocol/frame.ts'
import { makeClientProof } from '../../protocol/client-proof.ts'
import { encodeManifest, subjectConsent } from '../../protocol/manifest.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { signDecision } from '../../protocol/decision.ts'
import { PROTOCOL, NONCE_BYTES, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { toWire } from '../../protocol/signed.ts'
import { randomBytes, plain } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { erasedManifest } from '../../client/manifest-builder.ts'
import { prepareFetch } from '../../client/holder-requests.ts'
import { CORPUS_DIR } from './corpus.ts'
import { captureAudits } from './capture-audit.ts'
import { captureRoster } from './capture-roster.ts'
import { captureMaintenance } from './capture-maintain.ts'

/** Send `body` on a new stream to `peer` and return the raw response frame. */
async function exchange (host: Libp2p, peer: string, protocol: keyof typeof MAX_RESPONSE_BYTES, body: Uint8Array): Promise<Uint8Array> {
  const stream = await host.dialProtocol(peerIdFromString(peer), protocol)
  const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_BYTES[protocol] })
  await lp.write(body)
  const answer = plain((await lp.read()).subarray())
  await stream.close().catch(() => {})
  return answer
}

const files: Array<[string, Uint8Array]> = []
const keep = (name: string, bytes: Uint8Array): void => { files.push([name, bytes.slice()]) }

const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
try {
  await net.converged()
  const { host, stop } = await clientHost(net)
  const { tenant, verifier, enclave, creds } = fetchParties(net)
  const holders = net.nodes.slice(0, 3)
  const placement = holders.map((h) => ({ peer: h.cert.body.peer, site: h.config.site }))
  const prepared = await prepareEnrolment(tenant, placement, { t: 2, measurements: [enclave.measurement], policy: { ...TEST_RATE, revealScore: true } })
  const { manifest, shares, templateId } = prepared
  const sender = host.peerId.toString()

  for (const [i, s] of shares.entries()) {
    const req = encodeStoreRequest({ manifest, x: s.x, share: s.bytes, sender, nonce: randomBytes(NONCE_BYTES), time: Date.now() }, tenant.key)
    keep(`store-request-${i}`, req)
    keep(`store-response-${i}`, await exchange(host, placement[i].peer, PROTOCOL.STORE, req))
  }
  // A replayed store: the refusal frame is part of the corpus too.
  keep('store-response-refused', await exchange(host, placement[0].peer, PROTOCOL.STORE, files[0][1]))

  const fetch = prepareFetch(host, { templateId, xs: shares.map((s) => s.x), purpose: 'login', creds })
  keep('fetch-request-0', fetch.bytes)
  for (const [i, p] of placement.entries()) keep(`fetch-response-${i}`, await exchange(host, p.peer, PROTOCOL.FETCH, fetch.bytes))

  const proof = makeClientProof({ key: tenant.key, cert: tenant.wire }, net.anchor.network, sender, Date.now())
  const vproof = makeClientProof({ key: verifier.key, cert: verifier.wire, chain: tenant.wire }, net.anchor.network, sender, Date.now())
  const entries = net.nodes.map((n) => ({ cert: n.cert }))
  const admit = encodeAdmitMessage(entries, proof)
  keep('admit-request-0', admit)
  keep('admit-request-1', encodeAdmitMessage([]))
  keep('admit-response-0', await exchange(host, placement[0].peer, PROTOCOL.ADMIT, admit))

  const erase = encodeEraseRequest({ manifest, by: 'tenant', sender, nonce: randomBytes(NONCE_BYTES), time: Date.now() }, tenant.key)
  keep('erase-request-0', erase)
  for (const [i, p] of placement.entries()) keep(`erase-response-${i}`, await exchange(host, p.peer, PROTOCOL.ERASE, erase))

  const subject = generateSigningKey().key
  const erased = erasedManifest(manifest, tenant.key, tenant.wire)
  keep('manifest-0', encodeManifest(manifest))
  keep('manifest-1', encodeManifest(erased))
  keep('manifest-key-0', manifestKey(tenant.key.publicKey, templateId))
  keep('consent-0', encodeCanonical(subjectConsent(templateId, tenant.key.publicKey, subject)))
  keep('node-cert-0', encodeCanonical(toWire(entries[0].cert)))
  keep('tenant-cert-0', encodeCanonical(tenant.wire))
  keep('verifier-cert-0', encodeCanonical(verifier.wire))
  keep('attestation-0', encodeCanonical(enclave.attestation))
  keep('client-proof-0', encodeCanonical(proof))
  keep('client-proof-1', encodeCanonical(vproof))
  // Address statements as a node gossips them: signed by each node's own key.
  const roster = readAdmitMessage(readFrame(files.find(([n]) => n === 'admit-response-0')?.[1] ?? new Uint8Array(), MAX_RESPONSE_BYTES[PROTOCOL.ADMIT], 'node'))
  roster.entries.flatMap((e) => e.addrs === undefined ? [] : [e.addrs]).slice(0, 2)
    .forEach((a, i) => { keep(`node-addresses-${i}`, encodeCanonical(toWire(a))) })
  keep('decision-0', signDecision({
    templateId,
    tenant: tenant.key.publicKey,
    manifest: randomBytes(32),
    seq: 1,
    score: 0.87,
    threshold: 0.5,
    accept: true,
    nonce: randomBytes(16),
    time: Date.now(),
    bad: [2],
    measurement: enclave.measurement
  }, generateSigningKey().key))
  const send = async (peer: string, protocol: keyof typeof MAX_RESPONSE_BYTES, body: Uint8Array): Promise<Uint8Array> =>
    await exchange(host, peer, protocol, body)
  await captureAudits(net, { sender, send, keep })
  await captureRoster(net, { sender, send, keep })
  await stop()
} finally {
  await net.stop()
}
// Maintenance rounds stop a node, so they run on a network of their own.
for (const [name, bytes] of await captureMaintenance()) keep(name, bytes)

rmSync(CORPUS_DIR, { recursive: true, force: true })
mkdirSync(CORPUS_DIR, { recursive: true })
for (const [name, bytes] of files) writeFileSync(join(CORPUS_DIR, `${name}.bin`), bytes)
console.log(`captured ${files.length} messages into ${CORPUS_DIR}`)
