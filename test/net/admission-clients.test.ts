/**
 * Certified clients and refusal charging, against real nodes. A client
 * proves a tenant certificate, or a verifier certificate with its tenant's,
 * in its admit request and is then authorised at the node; proofs for
 * another peer, stale, from another authority or without the chain are
 * refused; uncertified peers are never authorised. Every refusal is charged:
 * a loop of refusals that used to cost nothing (not found, not admitted)
 * gets an unauthenticated peer cut off, and then its address.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { initAuthority, loadAuthority, admitTenant, admitNode } from '../../keys/authority.ts'
import { request } from '../../net/rpc.ts'
import { encodeAdmitMessage } from '../../protocol/admit.ts'
import { makeClientProof } from '../../protocol/client-proof.ts'
import { toWire } from '../../protocol/signed.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES, FRESHNESS_WINDOW_MS } from '../../protocol/constants.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { clientHost } from '../helpers/enrol.ts'
import { bareHost } from '../helpers/admit-flood.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import type { Admission } from '../../net/admission.ts'
import type { SiteNode } from '../../node/site-node.ts'

const net = await LocalNetwork.start({ nodes: 2, limits: { invalidRequestBudget: 3 } })
await net.converged()
const hosts: Array<Awaited<ReturnType<typeof clientHost>>> = []
const admissionOf = (n: SiteNode): Admission => (n as unknown as { admission: Admission }).admission
const opts = { timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] }

const certified = suite('certified clients')

certified('a tenant certificate, and a verifier certificate with its chain, make a client authorised; no proof does not', async () => {
  const tenant = net.tenant('acme')
  const verifier = net.verifier(tenant, ['login'])
  const [asTenant, asVerifier, plain] = await Promise.all([
    clientHost(net, { credential: { key: tenant.key, cert: tenant.wire } }),
    clientHost(net, { credential: { key: verifier.key, cert: verifier.wire, chain: tenant.wire } }),
    clientHost(net, { credential: null })
  ])
  hosts.push(asTenant, asVerifier, plain)
  const node = admissionOf(net.nodes[0])
  assert.ok(node.isAuthorised(asTenant.host.peerId.toString()))
  assert.ok(node.isAuthorised(asVerifier.host.peerId.toString()))
  assert.not.ok(node.isAuthorised(plain.host.peerId.toString()))
  assert.ok(node.isAuthorised(net.nodes[1].cert.body.peer), 'an admitted node is authorised')
  assert.ok(asTenant.admission.accepted(net.nodes[0].cert.body.peer))
  // The connection closes: the client is no longer authorised.
  await asTenant.host.hangUp(peerIdFromString(net.nodes[0].cert.body.peer))
  const deadline = Date.now() + 30_000
  while (node.isAuthorised(asTenant.host.peerId.toString()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.not.ok(node.isAuthorised(asTenant.host.peerId.toString()))
})

certified('proofs for another peer, stale, from another authority or missing the chain are refused', async () => {
  const plain = hosts[2]
  const target = peerIdFromString(net.nodes[1].cert.body.peer)
  const tenant = net.tenant('acme-2')
  const verifier = net.verifier(tenant, ['login'])
  const self = plain.host.peerId.toString()
  const send = async (proof: unknown): Promise<string> =>
    await codeOfAsync(request(plain.host, target, PROTOCOL.ADMIT, { body: encodeAdmitMessage([], proof), ...opts }))
  const cred = { key: tenant.key, cert: tenant.wire }
  assert.is(await send(makeClientProof(cred, net.info.network, net.nodes[0].cert.body.peer, Date.now())), 'ERR_NOT_AUTHORISED', 'for another peer')
  assert.is(await send(makeClientProof(cred, net.info.network, self, Date.now() - 2 * FRESHNESS_WINDOW_MS)), 'ERR_STALE')
  initAuthority(`${net.dir}/foreign`)
  const foreign = admitTenant(loadAuthority(`${net.dir}/foreign`), 'mallory')
  assert.is(await send(makeClientProof({ key: foreign.key, cert: toWire(foreign.cert) }, net.info.network, self, Date.now())), 'ERR_NOT_ADMITTED')
  const chainless = makeClientProof({ key: verifier.key, cert: verifier.wire }, net.info.network, self, Date.now())
  assert.is(await send(chainless), 'ERR_DECODE', 'a verifier certificate without its chain')
  const wrongKey = makeClientProof({ key: tenant.key, cert: verifier.wire, chain: tenant.wire }, net.info.network, self, Date.now())
  assert.is(await send(wrongKey), 'ERR_BAD_SIGNATURE', 'signed by a key the certificate does not name')
  assert.not.ok(admissionOf(net.nodes[1]).isAuthorised(self))
})

certified.run()

const charging = suite('every refusal is charged')

charging('a loop of cheap refusals cuts an uncertified peer off, then refuses its address to new uncertified peers', async () => {
  const target = net.nodes[0]
  const targetId = peerIdFromString(target.cert.body.peer)
  const known = hosts[1]
  const looper = await clientHost(net, { credential: null })
  hosts.push(looper)
  // ERR_NOT_ADMITTED (another authority's certificate) is not malformed: a small charge each, never free.
  initAuthority(`${net.dir}/other`)
  const stranger = admitNode(loadAuthority(`${net.dir}/other`), looper.host.peerId.toString(), 'site-x').cert
  const codes: string[] = []
  for (let i = 0; i < 400 && codes.at(-1) !== 'ERR_BUSY'; i++) {
    codes.push(await codeOfAsync(request(looper.host, targetId, PROTOCOL.ADMIT, { body: encodeAdmitMessage([{ cert: stranger }]), ...opts, timeoutMs: 2_000 })))
  }
  const refusals = codes.filter((c) => c === 'ERR_NOT_ADMITTED' || c === 'ERR_RATE_LIMITED').length
  assert.ok(codes.includes('ERR_BUSY') || codes.includes('ERR_TIMEOUT'), `cut off after ${refusals} refusals: ${codes.slice(-3).join(',')}`)
  assert.ok(refusals > 3, 'a few small refusals are not a ban')

  // Fresh peer ids from the same address sending garbage: the address is banned after a few of them.
  const addr = multiaddr(target.addrs[0])
  let cut = ''
  for (let k = 0; k < 12 && cut === ''; k++) {
    const next = await bareHost()
    for (let i = 0; i < 4; i++) {
      const code = await codeOfAsync(request(next, addr, PROTOCOL.STORE, { body: new Uint8Array(64), ...opts, maxResponseBytes: 4096 }))
      if (code === 'ERR_BUSY' || code === 'ERR_TIMEOUT') { cut = `peer ${k + 1}`; break }
    }
    await next.stop()
  }
  assert.ok(cut !== '', 'fresh peer ids from that address are refused')
  const fresh = await bareHost()
  const refused = await codeOfAsync(request(fresh, addr, PROTOCOL.ADMIT, { body: encodeAdmitMessage([]), ...opts }))
  await fresh.stop()
  assert.ok(refused === 'ERR_BUSY' || refused === 'ERR_TIMEOUT', `a new uncertified peer from the banned address is refused: ${refused}`)
  // A client that proved its certificate before still gets in (after the few connections a banned address is allowed), and admitted nodes stay authorised.
  await known.host.hangUp(targetId)
  await new Promise((resolve) => setTimeout(resolve, 1_100))
  await request(known.host, targetId, PROTOCOL.ADMIT, { body: encodeAdmitMessage([]), ...opts })
  assert.ok(admissionOf(target).isAuthorised(net.nodes[1].cert.body.peer))
})

charging.after(async () => {
  for (const h of hosts) await h.stop()
  await net.stop()
})
charging.run()
