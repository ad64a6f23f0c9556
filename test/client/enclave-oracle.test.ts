/**
 * The enclave is no template oracle, over real nodes and a real enclave
 * child: a verifier host that fetched t shares once cannot replay them with
 * other probes, cannot choose the threshold or forge the manifest, gets a
 * decision bound to the tenant and the manifest (with the score only when the
 * policy reveals it), is held to a continuous-authentication fetch rate by
 * default, and cannot hold shares back for later.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { Enclave, type MatchRequest, type SealedShare } from '../../enclave/enclave.ts'
import { attestProcess } from '../../protocol/attestation.ts'
import { verifyDecision } from '../../protocol/decision.ts'
import { encodeManifest, manifestToWire, signManifest, type Manifest, type Policy } from '../../protocol/manifest.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { manifestDigest } from '../../protocol/seal-binding.ts'
import { FRESHNESS_WINDOW_MS } from '../../protocol/constants.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare } from '../../crypto/shares.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { makeTemplate, encodeTemplate } from '../../matcher/template.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { storeShare, prepareFetch, sendFetch, fetchShare } from '../../client/holder-requests.ts'
import { clientHost } from '../helpers/enrol.ts'
import { unit, near, rejection } from '../helpers/match-request.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const MODEL = 'oracle-test-model'
const DIM = 128
const net = await LocalNetwork.start({ nodes: 3, sites: 3 })
await net.converged()
const client = await clientHost(net)
const tenant = net.tenant('acme')
const verifier = net.verifier(tenant, ['login'])
const enclave = await Enclave.start()
const attestation = attestProcess({ key: enclave.publicKey, signer: enclave.signer, measurement: enclave.measurement }, verifier.key)
const creds = { verifier: verifier.key, cert: verifier.wire, attestation }
const holders = net.nodes.slice(0, 3)

interface Enrolment { manifest: Manifest, vector: Float32Array }

/** Enrol a random template at the three holders (t = 2) under `policy` over the builder's defaults. */
async function enrolAtHolders (policy: Partial<Policy> = {}): Promise<Enrolment> {
  const vector = unit(DIM)
  const templateId = randomBytes(32)
  const envelope = encryptTemplate(encodeTemplate(makeTemplate(vector, { modality: 'face', model: MODEL })), { templateId, modality: 'face', model: MODEL })
  const shares = await splitSecret(envelope, 2, holders.length)
  const manifest = buildManifest({
    templateId,
    tenant: tenant.key,
    tenantCert: tenant.wire,
    modality: 'face',
    model: MODEL,
    dim: DIM,
    t: 2,
    n: holders.length,
    shares: shares.map((s, i) => ({ x: s.x, holder: holders[i].cert.body.peer, site: holders[i].config.site, commitment: commitShare(templateId, s) })),
    policy: { measurements: [enclave.measurement], ...policy }
  })
  await Promise.all(shares.map(async (s, i) =>
    await storeShare(client.host, holders[i].cert.body.peer, { manifest, x: s.x, share: s.bytes, tenant: tenant.key })))
  return { manifest, vector }
}

/** One fetch request for the first t shares, answered by their holders: what a verifier host holds after one verification. */
async function fetchOnce (m: Manifest, now = Date.now()): Promise<SealedShare[]> {
  const entries = m.body.shares.slice(0, m.body.t)
  const prepared = prepareFetch(client.host, { templateId: m.body.templateId, xs: entries.map((e) => e.x), purpose: 'login', creds }, { now })
  const responses = await Promise.all(entries.map(async (e) => await sendFetch(client.host, e.holder, { x: e.x, prepared })))
  return responses.map((r) => ({ x: r.body.x, sealed: r.body.sealed, request: r.body.request, time: prepared.time }))
}

function matchRequest (m: Manifest | Uint8Array, shares: SealedShare[], probe: Float32Array): MatchRequest {
  return { manifest: m instanceof Uint8Array ? m : encodeManifest(m), nonce: randomBytes(16), shares, probe: { kind: 'embedding', vector: probe } }
}

/** The i-th basis vector: the probe that reads the template's i-th coordinate from a score. */
function basis (i: number): Float32Array {
  const v = new Float32Array(DIM)
  v[i] = 1
  return v
}

const Oracle = suite('one fetch, one match')

Oracle('shares fetched once are matched once: replays with basis-vector probes are refused (ERR_REPLAY), no second decision', async () => {
  const e = await enrolAtHolders()
  const shares = await fetchOnce(e.manifest)
  const first = await enclave.match(matchRequest(e.manifest, shares, near(e.vector)))
  assert.ok(first.accept)
  for (let i = 0; i < 8; i++) {
    const err = await rejection(enclave.match(matchRequest(e.manifest, shares, basis(i))))
    assert.is(err.code, 'ERR_REPLAY', `replay ${i}: ${String(err)}`)
  }
  // Nor by splitting the same shares over concurrent matches.
  const racing = await Promise.allSettled([0, 1, 2].map(async (i) => await enclave.match(matchRequest(e.manifest, shares, basis(10 + i)))))
  assert.ok(racing.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ERR_REPLAY'))
  // A new fetch (audited and rate-limited at every holder) is what a new match costs.
  assert.ok((await enclave.match(matchRequest(e.manifest, await fetchOnce(e.manifest), near(e.vector)))).accept)
})

Oracle('concurrent matches of one fetch: exactly one decides', async () => {
  const e = await enrolAtHolders()
  const shares = await fetchOnce(e.manifest)
  const outcomes = await Promise.allSettled(Array.from({ length: 4 }, async () => await enclave.match(matchRequest(e.manifest, shares, near(e.vector)))))
  assert.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
  for (const o of outcomes) if (o.status === 'rejected') assert.is((o.reason as { code?: string }).code, 'ERR_REPLAY')
})

Oracle('a match that fails before reconstruction consumes nothing: the same fetch completes with a spare', async () => {
  const e = await enrolAtHolders()
  const shares = await fetchOnce(e.manifest)
  const tampered = { ...shares[1], sealed: shares[1].sealed.slice() }
  tampered.sealed[40] ^= 1
  assert.is((await rejection(enclave.match(matchRequest(e.manifest, [shares[0], tampered], near(e.vector))))).code, 'ERR_NOT_ENOUGH_SHARES')
  assert.ok((await enclave.match(matchRequest(e.manifest, shares, near(e.vector)))).accept)
})

Oracle.run()

const Threshold = suite('the threshold is the tenant\'s')

Threshold('a threshold sent by the host is ignored: an impostor is rejected at the policy threshold', async () => {
  const e = await enrolAtHolders()
  const shares = await fetchOnce(e.manifest)
  const r = await enclave.match({ ...matchRequest(e.manifest, shares, unit(DIM)), threshold: -1 } as MatchRequest)
  assert.not.ok(r.accept)
  assert.is(r.threshold, 0.5)
  assert.is(verifyDecision(r.decision, enclave.signer).threshold, 0.5)
})

Threshold('a forged manifest (threshold -1, re-signed by another tenant, or altered and left unsigned) opens no share', async () => {
  const e = await enrolAtHolders()
  const shares = await fetchOnce(e.manifest)
  const evil = net.tenant('evil')
  const lowered = { ...e.manifest.body, policy: { ...e.manifest.body.policy, threshold: -1_000_000 } }
  const forgeries = [
    encodeManifest(signManifest({ ...lowered, tenant: evil.key.publicKey }, evil.key, evil.wire)),
    encodeCanonical({ ...manifestToWire(e.manifest), body: lowered })
  ]
  for (const forged of forgeries) {
    const err = await rejection(enclave.match(matchRequest(forged, shares, unit(DIM))))
    assert.is(err.code, 'ERR_NOT_ENOUGH_SHARES', String(err))
    assert.equal(err.bad, shares.map((s) => s.x), 'not one share opened under the forged manifest')
  }
  // Nothing was reconstructed, so nothing was consumed: with the real manifest the impostor is rejected.
  assert.not.ok((await enclave.match(matchRequest(e.manifest, shares, unit(DIM)))).accept)
})

Threshold.run()

const Decision = suite('decisions bind the enrolment; scores only by policy')

Decision('the decision names tenant, manifest digest and seq, and carries no score by default', async () => {
  const e = await enrolAtHolders()
  const r = await enclave.match(matchRequest(e.manifest, await fetchOnce(e.manifest), near(e.vector)))
  assert.is(r.score, undefined)
  const d = verifyDecision(r.decision, enclave.signer)
  assert.equal(d.tenant, tenant.key.publicKey)
  assert.equal(d.manifest, manifestDigest(encodeManifest(e.manifest)))
  assert.is(d.seq, e.manifest.body.seq)
  assert.equal(d.templateId, e.manifest.body.templateId)
  assert.ok(d.accept)
  assert.not.ok('score' in d, 'no score in the signed body')
})

Decision('with revealScore the score is in the decision, to two decimals', async () => {
  const e = await enrolAtHolders({ revealScore: true })
  const probe = near(e.vector)
  let dot = 0
  for (let i = 0; i < DIM; i++) dot += probe[i] * e.vector[i]
  const cos = dot / Math.hypot(...probe)
  const r = await enclave.match(matchRequest(e.manifest, await fetchOnce(e.manifest), probe))
  const d = verifyDecision(r.decision, enclave.signer)
  assert.is(d.score, r.score)
  assert.ok(Math.abs(d.score! - cos) <= 0.005 + 1e-6, `${d.score} vs ${cos}`)
  assert.is(Math.round(d.score! * 100) / 100, d.score, 'quantised to 0.01')
})

Decision.run()

const Rate = suite('fetch rate sized for continuous authentication')

Rate('by default a holder serves a burst of 3 fetches per verifier and template, then refuses (ERR_RATE_LIMITED)', async () => {
  const e = await enrolAtHolders()
  const { holder, x } = e.manifest.body.shares[0]
  for (let i = 0; i < 3; i++) await fetchShare(client.host, holder, { templateId: e.manifest.body.templateId, x, purpose: 'login', creds })
  assert.is(await codeOfAsync(fetchShare(client.host, holder, { templateId: e.manifest.body.templateId, x, purpose: 'login', creds })), 'ERR_RATE_LIMITED')
})

Rate('a tenant raises it in its policy', async () => {
  // A burst of 10 at the default refill (one every 10 s): a busy machine taking its time cannot earn the 11th.
  const e = await enrolAtHolders({ ratePerMinute: 6, burst: 10 })
  const { holder, x } = e.manifest.body.shares[0]
  for (let i = 0; i < 10; i++) await fetchShare(client.host, holder, { templateId: e.manifest.body.templateId, x, purpose: 'login', creds })
  assert.is(await codeOfAsync(fetchShare(client.host, holder, { templateId: e.manifest.body.templateId, x, purpose: 'login', creds })), 'ERR_RATE_LIMITED')
})

Rate.run()

const Stale = suite('shares cannot be held back')

Stale('shares whose request time has left the freshness window are refused by the enclave (ERR_STALE)', async () => {
  const e = await enrolAtHolders()
  // Fetched near the end of the holders' window (with room for a busy machine), matched just after it closes.
  const time = Date.now() - FRESHNESS_WINDOW_MS + 4_000
  const shares = await fetchOnce(e.manifest, time)
  while (Date.now() - time <= FRESHNESS_WINDOW_MS + 200) await new Promise((resolve) => setTimeout(resolve, 100))
  assert.is((await rejection(enclave.match(matchRequest(e.manifest, shares, near(e.vector))))).code, 'ERR_STALE')
})

Stale('shares presented with another request time do not open', async () => {
  const e = await enrolAtHolders()
  const shares = (await fetchOnce(e.manifest)).map((s) => ({ ...s, time: s.time + 1 }))
  const err = await rejection(enclave.match(matchRequest(e.manifest, shares, near(e.vector))))
  assert.is(err.code, 'ERR_NOT_ENOUGH_SHARES')
})

Stale.after(async () => {
  await enclave.close()
  await client.stop()
  await net.stop()
})

Stale.run()
