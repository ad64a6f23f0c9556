/**
 * Verify over real nodes when holders go away: one stopped holder is
 * replaced by a spare and named among the refusals; with fewer than t
 * holders left the verification fails with a QuorumError whose typed
 * refusals name the holders that did not answer.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { QuorumError } from '../../index.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'

const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(11)
const alice = syntheticIdentity(128, rand)
const policy = { ratePerMinute: 600, burst: 600 }
const enrolled = await client.enroll({ template: alice.slice(), modality: 'face', model: 'synthetic-128', t: 3, n: 5, policy })
const shares = enrolled.manifest.body.shares
const stop = async (holder: string): Promise<void> => { await net.nodes.find((n) => n.cert.body.peer === holder)?.stop() }
// Never the bootstrap node: the client keeps its DHT through it.
const stoppable = shares.filter((s) => s.holder !== net.nodes[0].cert.body.peer)

const quorum = suite('verify when holders go away')

quorum('one stopped holder: a spare serves, and the stopped one is named with its share', async () => {
  await stop(stoppable[0].holder)
  // The stopped holder may or may not be among the first asked; verify until it has been.
  for (let i = 0; i < 6; i++) {
    const r = await client.verify({ templateId: enrolled.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.ok(r.accept)
    assert.not.ok(r.holders.includes(stoppable[0].holder))
    const named = r.refused.find((x) => x.holder === stoppable[0].holder)
    if (named !== undefined) { assert.is(named.x, stoppable[0].x); return }
  }
})

quorum('fewer than t holders left: a QuorumError with the registry code and typed refusals', async () => {
  await stop(stoppable[1].holder)
  await stop(stoppable[2].holder)
  try {
    await client.verify({ templateId: enrolled.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.unreachable('verified with 2 of 5 holders')
  } catch (e) {
    assert.ok(e instanceof QuorumError, String(e))
    assert.is(e.code, 'ERR_QUORUM_UNAVAILABLE')
    const stopped = new Set(stoppable.slice(0, 3).map((s) => s.holder))
    assert.equal(new Set(e.refused.map((r) => r.holder)), stopped, 'exactly the stopped holders are named')
    for (const r of e.refused) assert.is(r.x, shares.find((s) => s.holder === r.holder)?.x)
    assert.equal(e.bad, [])
  }
})

quorum.after(async () => {
  await client.close()
  await net.stop()
})

quorum.run()
