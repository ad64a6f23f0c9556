/**
 * A failed enrolment leaves no share nobody can erase. The manifest publish
 * is made to fail on an otherwise real client context (real holders, real
 * stores and erases): enroll erases every stored share and throws an
 * EnrollError naming the template id and any holder it could not clean; a
 * holder that was down for the erase drops the share itself once its grace
 * period has passed without a published manifest.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties, MODEL } from '../helpers/enrol.ts'
import { ManifestStore } from '../../client/manifest-store.ts'
import { RecordReplicas } from '../../net/record-replicas.ts'
import { enroll, EnrollError, type EnrollInput } from '../../client/enroll.ts'
import type { ClientContext } from '../../client/context.ts'
import { BioshardError } from '../../errors.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { slotKey } from '../../protocol/ownership.ts'
import type { ShareStore } from '../../node/store/share-store.ts'
import type { SiteNode } from '../../node/site-node.ts'

const GRACE_MS = 2_000
const net = await LocalNetwork.start({ nodes: 5, limits: { pendingGraceMs: GRACE_MS } })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave } = fetchParties(net)
const storeOf = (n: SiteNode): ShareStore => (n as unknown as { store: ShareStore }).store

/** A real client context whose manifest publish runs `before` and then fails. */
function failingContext (before: () => Promise<void> = async () => {}): ClientContext {
  const manifests = new ManifestStore(RecordReplicas.overRoster(client.host.services.dht, client.roster), net.anchor, tenant.key.publicKey)
  manifests.publish = async () => {
    await before()
    throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'no DHT peer stored the manifest record')
  }
  return {
    host: client.host,
    roster: client.roster,
    anchor: net.anchor,
    tenant: { key: tenant.key, cert: tenant.wire },
    manifests,
    enclave: async () => { throw new BioshardError('ERR_ENCLAVE', 'no enclave in this test') },
    timeouts: { requestMs: 5_000, hedgeMs: 150, dhtMs: 5_000 }
  }
}

const input = (): EnrollInput => ({
  template: randomBytes(512),
  modality: 'face',
  model: MODEL,
  dim: 128,
  t: 3,
  n: 5,
  policy: { measurements: [enclave.measurement] }
})

async function enrolFailure (ctx: ClientContext): Promise<EnrollError> {
  try {
    await enroll(ctx, input())
  } catch (e) {
    assert.instance(e, EnrollError, String(e))
    return e as EnrollError
  }
  assert.unreachable('enroll succeeded without a published manifest')
  throw new Error('unreachable')
}

async function sharesHeld (except?: SiteNode): Promise<number> {
  let n = 0
  for (const node of net.nodes) if (node !== except) n += await node.shareCount()
  return n
}

const cleanup = suite('a failed publish leaves no shares behind')

cleanup('the error names the id, every holder erased its share, nothing was retried', async () => {
  const e = await enrolFailure(failingContext())
  assert.is(e.code, 'ERR_QUORUM_UNAVAILABLE')
  assert.is(e.stage, 'publish')
  assert.is(e.templateId.length, 32)
  assert.equal(e.uncleaned, [])
  assert.is(await sharesHeld(), 0, 'shares were left at the holders')
  for (const node of net.nodes) assert.ok(await storeOf(node).isErased(slotKey(tenant.key.publicKey, e.templateId)), 'erased with a tombstone')
})

cleanup('a holder down during the cleanup is named, and drops the share itself after its grace period', async () => {
  const down = net.nodes[4]
  const e = await enrolFailure(failingContext(async () => { await down.stop() }))
  assert.equal(e.uncleaned, [down.cert.body.peer])
  assert.is(await sharesHeld(down), 0, 'the holders that were up erased their shares')
  await down.start()
  assert.is(await down.shareCount(), 1, 'the holder that was down still has it')
  const deadline = Date.now() + GRACE_MS + 30_000
  while (await down.shareCount() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
  assert.is(await down.shareCount(), 0, 'the unpublished share outlived the grace period')
})

cleanup.after(async () => {
  await client.stop()
  await net.stop()
})

cleanup.run()
