/**
 * Storage slots name the owning tenant (protocol/ownership.ts): a holder keys
 * every share, manifest copy and tombstone by `tenantTag || templateId`, so
 * another tenant who learns a template id can neither squat on it at a
 * holder nor tombstone it there. Real nodes, real stores and erases.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties, prepareEnrolment, openFetched } from '../helpers/enrol.ts'
import { storeShare, fetchShare, eraseAt } from '../../client/holder-requests.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { splitSecret, commitShare, type Share } from '../../crypto/shares.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { Tenant } from '../../sim/local-network.ts'

const net = await LocalNetwork.start({ nodes: 3 })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave, creds } = fetchParties(net)
const rival = net.tenant('rival')
const holders = net.nodes.map((n) => ({ peer: n.cert.body.peer, site: n.config.site }))

/** A manifest signed by `who` for someone else's template id, placing its own shares at `at`. */
async function squat (who: Tenant, templateId: Uint8Array, at: typeof holders): Promise<{ manifest: Manifest, shares: Share[] }> {
  const shares = await splitSecret(randomBytes(600), 2, at.length)
  const manifest = buildManifest({
    templateId,
    tenant: who.key,
    tenantCert: who.wire,
    modality: 'face',
    model: 'rival-model',
    dim: 128,
    t: 2,
    n: at.length,
    shares: shares.map((s, i) => ({ x: s.x, holder: at[i].peer, site: at[i].site, commitment: commitShare(templateId, s) })),
    policy: { measurements: [enclave.measurement] }
  })
  return { manifest, shares }
}

const slots = suite('a holder keeps each tenant\'s template under its own slot')

slots('another tenant who learns an id can neither tombstone nor occupy it at a holder', async () => {
  const mine = await prepareEnrolment(tenant, holders, { t: 2, measurements: [enclave.measurement] })
  // The rival erases the id at holder 2 and stores its own share under it at holder 1 first.
  const rivalStore = await squat(rival, mine.templateId, [holders[2], holders[1]])
  await eraseAt(client.host, holders[2].peer, { manifest: rivalStore.manifest, signer: rival.key })
  const squatted = rivalStore.shares[1]
  await storeShare(client.host, holders[1].peer, { manifest: rivalStore.manifest, x: squatted.x, share: squatted.bytes, tenant: rival.key })
  // The owner's enrolment is untouched by either: every holder takes its share.
  for (const [i, s] of mine.shares.entries()) {
    await storeShare(client.host, holders[i].peer, { manifest: mine.manifest, x: s.x, share: s.bytes.slice(), tenant: tenant.key })
  }
  for (const [i, s] of mine.shares.entries()) {
    const now = Date.now()
    const res = await fetchShare(client.host, holders[i].peer, { templateId: mine.templateId, x: s.x, purpose: 'login', creds }, { now })
    assert.ok(equalBytes(openFetched(enclave.keys, res, now), s.bytes), `holder ${i} serves the owner's share`)
  }
  // And the rival's erase of its own slot leaves the owner's share where it is.
  await eraseAt(client.host, holders[1].peer, { manifest: rivalStore.manifest, signer: rival.key })
  const now = Date.now()
  const res = await fetchShare(client.host, holders[1].peer, { templateId: mine.templateId, x: mine.shares[1].x, purpose: 'login', creds }, { now })
  assert.ok(equalBytes(openFetched(enclave.keys, res, now), mine.shares[1].bytes))
})

slots.after(async () => {
  await client.stop()
  await net.stop()
})

slots.run()
