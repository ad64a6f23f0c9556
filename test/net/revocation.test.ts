/**
 * Revocation and retirement over real nodes: a revocation dropped at one
 * node reaches every roster, the revoked node's connections close and it is
 * refused from then on; a forged revocation (wrong signer, other network) is
 * refused with a typed error; a retiring node takes no new stores, is never
 * placed, and on finishing destroys its shares and stops.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { revokeNode } from '../../keys/authority.ts'
import { encodeRevocationEntry, REVOCATIONS_DIR } from '../../node/standing.ts'
import { request } from '../../net/rpc.ts'
import { encodeAdmitMessage } from '../../protocol/admit.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { decodeCanonical, encodeCanonical } from '../../crypto/canonical.ts'
import { readRevocation, signRevocation } from '../../protocol/revocation.ts'
import { createClient } from '../../client/client.ts'
import { syntheticIdentity, prng } from '../../sim/synthetic.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { bareHost } from '../helpers/admit-flood.ts'

const net = await LocalNetwork.start({ nodes: 5, sites: 5 })
await net.converged()
const [a, b, c, d, e] = net.nodes
const peerOf = (n: typeof a): string => n.cert.body.peer

async function until (what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const revoke = suite('revocation')

revoke('a forged revocation (wrong signer, other network) is refused with a typed error and changes no roster', async () => {
  const host = await bareHost()
  try {
    const addr = a.addrs[0]
    await host.dial((await import('@multiformats/multiaddr')).multiaddr(addr))
    const real = revokeNode(net.authority, b.cert)
    const stranger = { info: { network: net.info.network, publicKey: generateSigningKey().key.publicKey }, key: generateSigningKey().key }
    stranger.info.publicKey = stranger.key.publicKey
    const wrongSigner = revokeNode(stranger, b.cert)
    // Signed by the right authority, for another network, carried on b's genuine certificate.
    const wire = signRevocation(net.authority.key, { network: 'bsn-0123456789abcdef', peer: peerOf(b), at: Date.now() })
    const otherNet = readRevocation(decodeCanonical(encodeCanonical(wire), 4096, 'revocation'))
    const forged = [wrongSigner, { cert: b.cert, revoked: otherNet }]
    for (const entry of forged) {
      const code = await codeOfAsync(request(host, peerIdFromString(peerOf(a)), PROTOCOL.ADMIT, {
        body: encodeAdmitMessage([entry]), timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT]
      }))
      assert.is(code, 'ERR_NOT_ADMITTED')
    }
    assert.ok(real.revoked !== undefined)
    assert.ok(a.roster.isAdmitted(peerOf(b)), 'b is still admitted at a')
  } finally {
    await host.stop()
  }
})

revoke('a revocation dropped at one node reaches every roster; the revoked node is disconnected and refused', async () => {
  const entry = revokeNode(net.authority, e.cert)
  mkdirSync(join(a.dir, REVOCATIONS_DIR), { recursive: true })
  writeFileSync(join(a.dir, REVOCATIONS_DIR, `${peerOf(e)}.rev`), encodeRevocationEntry(entry))
  const others = [a, b, c, d]
  await until('every other roster drops the revoked node', () => others.every((n) => !n.roster.isAdmitted(peerOf(e)) && n.roster.isRevoked(peerOf(e))))
  await until('connections to the revoked node are closed', () => others.every((n) => n.libp2p?.getConnections(peerIdFromString(peerOf(e))).length === 0))
  for (const n of others) assert.not.ok(n.roster.list().some((x) => x.peer === peerOf(e)))
  // The revoked node asks for an audit (any holder protocol): the gate refuses it.
  const host = e.libp2p
  assert.ok(host !== undefined)
  const code = await codeOfAsync(request(host, peerIdFromString(peerOf(a)), PROTOCOL.FETCH, {
    body: new Uint8Array([0xa0]), timeoutMs: 5_000, maxResponseBytes: 1024
  }))
  assert.ok(code !== 'ok' && code !== '', `refused (${code})`)
  // Its own entry, offered again without the revocation, does not bring it back.
  assert.not.ok(a.roster.add({ cert: e.cert }))
  assert.not.ok(a.roster.isAdmitted(peerOf(e)))
})

const retire = suite('retirement')

retire('a retiring node refuses stores, is never placed, and on finishing destroys its shares and stops', async () => {
  const tenant = net.tenant('acme')
  const client = await createClient({ bootstrap: [a.addrs[0]], authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  try {
    const held = await client.enroll({ template: syntheticIdentity(128, prng(3)), modality: 'face', model: 'synthetic-128', t: 2, n: 4 })
    const holders = held.manifest.body.shares.map((s) => s.holder)
    assert.ok(holders.includes(peerOf(d)), 'd holds a share before it retires')
    await d.retire()
    assert.ok(d.isRetiring)
    await until('the network hears d is retiring', () => [a, b, c].every((n) => n.roster.isRetiring(peerOf(d))))
    // The client hears it from a node's push or its next resync.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    // Four live sites remain (a, b, c; e is revoked): n = 4 cannot be placed without d.
    const code = await codeOfAsync(client.enroll({ template: syntheticIdentity(128, prng(4)), modality: 'face', model: 'synthetic-128', t: 2, n: 4 }))
    assert.is(code, 'ERR_NOT_ENOUGH_SITES')
    const r = await client.enroll({ template: syntheticIdentity(128, prng(5)), modality: 'face', model: 'synthetic-128', t: 2, n: 3 })
    assert.not.ok(r.manifest.body.shares.some((s) => s.holder === peerOf(d)), 'placement never picks a retiring node')
    const shredded = await d.finishRetirement()
    assert.is(shredded, 1)
    assert.is(await d.retired, 1)
    assert.is(d.libp2p, undefined, 'the node stopped')
  } finally {
    await client.close()
  }
})

retire.after(async () => { await net.stop() })
revoke.run()
retire.run()
