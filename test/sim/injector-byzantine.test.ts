/**
 * Byzantine holders through the fault injector, over 5 real nodes and the
 * verifier library (enclave in its own process): t=3 of n=5, so every node
 * holds a share of every template. One node turns refusing, stalling,
 * corrupting and wrong-template in turn; verify survives each, names the
 * holder of a bad share, and uses spares past one that refuses or stalls.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { FaultInjector } from '../../sim/injector.ts'
import { Rng } from '../../sim/rng.ts'
import { createClient } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import { clientHost, testEnclave } from '../helpers/enrol.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import type { VerifyResult } from '../../client/verify.ts'

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const faults = new FaultInjector(net, { rng: new Rng(15) })
const tenant = net.tenant('acme')
// A hedge delay far above a holder's answer time on a busy machine: a slow liar is still heard, not overtaken by a spare.
const credentials = { tenant: { key: tenant.key, cert: tenant.wire } }
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials, timeouts: { hedgeMs: 1_000 } })
const rand = prng(15)
const alice = syntheticIdentity(128, rand)
const bob = syntheticIdentity(128, rand)
const policy = { ratePerMinute: 600, burst: 600 }
const enrol = async (template: Float32Array): Promise<Uint8Array> =>
  (await client.enroll({ template: template.slice(), modality: 'face', model: 'synthetic-128', t: 3, n: 5, policy })).templateId
// A first template, so a wrong-template holder has another share to answer with.
await enrol(bob)
const BYZANTINE = 4
const liar = net.nodes[BYZANTINE].cert.body.peer

/**
 * Enrol alice afresh (which connects the client to every holder, the
 * restarted liar too: verify asks connected holders first) and verify her
 * `rounds` times: each accepted, none built on the liar's share.
 */
async function verifyAll (rounds: number): Promise<VerifyResult[]> {
  const aliceId = await enrol(alice)
  const out: VerifyResult[] = []
  for (let i = 0; i < rounds; i++) {
    const v = await client.verify({ templateId: aliceId, probe: syntheticProbe(alice, rand), purpose: 'login' })
    assert.ok(v.accept, 'verified from the honest holders')
    assert.not.ok(v.holders.includes(liar), 'the liar\'s share is never used')
    out.push(v)
  }
  return out
}

const byzantine = suite('Byzantine holders')

byzantine('a refusing holder is refused past: verify uses spares', async () => {
  await faults.apply({ at: 0, kind: 'byzantine', node: BYZANTINE, behaviour: 'refuse' })
  assert.is(faults.behaviourOf(BYZANTINE), 'refuse')
  assert.ok(faults.isUp(BYZANTINE))
  const results = await verifyAll(6)
  assert.ok(results.some((v) => v.refused.some((r) => r.holder === liar && r.code === 'ERR_NOT_FOUND')), 'the refusal is reported')
})

byzantine('a stalling holder never answers; verify uses spares', async () => {
  await faults.apply({ at: 0, kind: 'byzantine', node: BYZANTINE, behaviour: 'stall' })
  await verifyAll(4)
  // Any fetch, good or not: an honest holder answers at once (here a refusal), the staller not at all.
  const plain = await clientHost(net)
  try {
    const verifier = net.verifier(tenant, ['login'])
    const creds = { verifier: verifier.key, cert: verifier.wire, attestation: testEnclave(verifier).attestation }
    const order = { templateId: crypto.getRandomValues(new Uint8Array(32)), x: 1, purpose: 'login', creds }
    assert.is.not(await codeOfAsync(fetchShare(plain.host, net.nodes[0].cert.body.peer, order, { timeoutMs: 1_500 })), 'ERR_TIMEOUT')
    assert.is(await codeOfAsync(fetchShare(plain.host, liar, order, { timeoutMs: 1_500 })), 'ERR_TIMEOUT')
  } finally {
    await plain.stop()
  }
})

for (const behaviour of ['corrupt', 'wrong-template'] as const) {
  byzantine(`a ${behaviour} holder's share is detected and the holder named, with signed evidence`, async () => {
    await faults.apply({ at: 0, kind: 'byzantine', node: BYZANTINE, behaviour })
    const results = await verifyAll(8)
    const blamed = results.flatMap((v) => v.bad).filter((b) => b.holder === liar)
    assert.ok(blamed.length > 0, 'the liar is named')
    assert.ok(blamed.every((b) => b.signed), 'it signed the response carrying the bad share')
  })
}

byzantine('a Byzantine node stays Byzantine across a crash and restart', async () => {
  await faults.apply({ at: 0, kind: 'crash', node: BYZANTINE })
  await faults.apply({ at: 1, kind: 'restart', node: BYZANTINE })
  assert.is(faults.behaviourOf(BYZANTINE), 'wrong-template')
  const results = await verifyAll(8)
  assert.ok(results.some((v) => v.bad.some((b) => b.holder === liar)), 'still named after the restart')
})

byzantine.after(async () => {
  await client.close()
  await net.stop()
})

byzantine.run()
