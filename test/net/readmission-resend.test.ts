/**
 * A node that refuses a certified client's request as unadmitted (its
 * acceptance of the client's credential is gone: a new connection after a
 * link cut or a restart whose exchange outlasted the node's grace) gets the
 * request once more, after a fresh admission exchange, within the request's
 * deadline; a node that keeps refusing gets it twice, never more. Over real
 * nodes; the refusal is the gate's own code, raised before the fetch handler
 * sees the request.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, enrolByHand, fetchParties, openFetched } from '../helpers/enrol.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const net = await LocalNetwork.start({ nodes: 3 })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave, creds } = fetchParties(net)
const enrolled = await enrolByHand(client.host, net.nodes.slice(), tenant, { measurements: [enclave.measurement], t: 2 })

/** Fetches node 1 received, and how many of the next ones it refuses as unadmitted. */
let arrived = 0
let refuseNext = 0
net.hooks = {
  ...net.hooks,
  around: async (node, protocol, _ctx, serve) => {
    if (node !== 1 || protocol !== PROTOCOL.FETCH) return await serve()
    arrived++
    if (refuseNext > 0) {
      refuseNext--
      throw new BioshardError('ERR_NOT_ADMITTED', 'this node serves admitted nodes and certified clients only')
    }
    return await serve()
  }
}

async function fetchFromOne (): Promise<Uint8Array> {
  const now = Date.now()
  const order = { templateId: enrolled.templateId, x: enrolled.shares[1].x, purpose: 'login', creds }
  const res = await fetchShare(client.host, net.nodes[1].cert.body.peer, order, { now, timeoutMs: 30_000 })
  return openFetched(enclave.keys, res, now)
}

const Resend = suite('a request refused as unadmitted is sent once more after a fresh exchange')

Resend.after(async () => {
  await client.stop()
  await net.stop()
})

Resend('refused once: the second send is served, and the share opens', async () => {
  arrived = 0
  refuseNext = 1
  const share = await fetchFromOne()
  assert.ok(equalBytes(share, enrolled.shares[1].bytes))
  assert.is(arrived, 2)
})

Resend('refused every time: ERR_NOT_ADMITTED after exactly two sends', async () => {
  arrived = 0
  refuseNext = 5
  assert.is(await codeOfAsync(fetchFromOne()), 'ERR_NOT_ADMITTED')
  assert.is(arrived, 2)
  refuseNext = 0
})

Resend('other refusals are not resent', async () => {
  arrived = 0
  const order = { templateId: enrolled.templateId, x: enrolled.shares[1].x, purpose: 'not-a-purpose-of-the-policy', creds }
  const now = Date.now()
  const code = await codeOfAsync(fetchShare(client.host, net.nodes[1].cert.body.peer, order, { now, timeoutMs: 30_000 }))
  assert.is.not(code, 'no error')
  assert.is(arrived, 1)
})

Resend.run()
