/**
 * Subject consent through the verifier library on real nodes: the
 * application prepares an id, the subject signs consent over it with their
 * own key, the enrolment carries it to every holder, and the subject can
 * later erase with that key. Ids the client did not prepare, used twice, or
 * consent signed over another id are refused before anything is stored.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { subjectConsent } from '../../protocol/manifest.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import { eraseAt } from '../../client/holder-requests.ts'
import { clientHost } from '../helpers/enrol.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
await net.converged()
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const MODEL = 'synthetic-128'
const rand = prng(3)
const alice = syntheticIdentity(128, rand)
const shares = async (): Promise<number> => (await Promise.all(net.nodes.map(async (n) => await n.shareCount()))).reduce((a, b) => a + b, 0)

const consent = suite('subject consent')
consent.after(async () => {
  await client.close()
  await net.stop()
})

consent('a prepared id carries the subject\'s signed consent to every holder; the subject erases with its own key', async () => {
  const subject = generateSigningKey().key
  const { templateId, tenant: tenantKey } = client.prepareEnrollment()
  const consent = subjectConsent(templateId, tenantKey, subject)
  const r = await client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 2, n: 3, templateId, consent })
  assert.ok(equalBytes(r.templateId, templateId))
  assert.is(r.manifest.body.consent.by, 'subject')
  assert.ok(equalBytes(r.manifest.body.consent.subject as Uint8Array, subject.publicKey))
  assert.ok((await client.verify({ templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept)
  const plain = await clientHost(net)
  try {
    for (const s of r.manifest.body.shares) {
      const receipt = await eraseAt(plain.host, s.holder, { manifest: r.manifest, signer: subject, by: 'subject' })
      assert.ok(receipt.body.held, 'the subject\'s own key erases the share')
    }
  } finally {
    await plain.stop()
  }
})

consent('an id not prepared here, an id used twice, and consent over another id are refused before anything is stored', async () => {
  const subject = generateSigningKey().key
  const before = await shares()
  const stranger = randomBytes(32)
  const strangerConsent = subjectConsent(stranger, tenant.key.publicKey, subject)
  const unprepared = client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 2, n: 3, templateId: stranger, consent: strangerConsent })
  assert.is(await codeOfAsync(unprepared), 'ERR_BAD_REQUEST')
  const { templateId } = client.prepareEnrollment()
  const other = client.prepareEnrollment().templateId
  const otherConsent = subjectConsent(other, tenant.key.publicKey, subject)
  const crossed = client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 2, n: 3, templateId, consent: otherConsent })
  assert.is(await codeOfAsync(crossed), 'ERR_BAD_SIGNATURE')
  const once = client.prepareEnrollment().templateId
  await client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 2, n: 3, templateId: once })
  assert.is(await codeOfAsync(client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 2, n: 3, templateId: once })), 'ERR_BAD_REQUEST')
  assert.is(await shares(), before + 3, 'only the one good enrolment stored shares')
})

consent.run()
