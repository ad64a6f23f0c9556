/**
 * Roster digests: the digest field of admit messages is bounded before use
 * (exact length, bytes only), a digest depends on what a roster holds and
 * not on the order it was learnt in, and a real node answers a digest with
 * the buckets that differ only — twice per window for the same contents, so a
 * hostile peer sending digests that never match, oversized digests, forged
 * or stale entries gets a bounded amount of work out of it, while the node
 * keeps serving others.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { LocalNetwork } from '../../sim/local-network.ts'
import { Roster, bucketOf, differingBuckets } from '../../net/roster.ts'
import { request } from '../../net/rpc.ts'
import { createHost, type Host } from '../../net/host.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { admitNode, initAuthority, loadAuthority } from '../../keys/authority.ts'
import { clientHost } from '../helpers/enrol.ts'
import { codeOf, codeOfAsync } from '../helpers/assert.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES, WIRE_VERSION } from '../../protocol/constants.ts'
import {
  decodeAdmitMessage, encodeAdmitMessage, readAdmitMessage, ROSTER_BUCKETS, ROSTER_DIGEST_BYTES, type AdmitMessage, type RosterEntry
} from '../../protocol/admit.ts'

const net = await LocalNetwork.start({ nodes: 4, transport: 'memory' })
await net.converged(60_000)
const target = net.nodes[0]
const targetId = peerIdFromString(target.cert.body.peer)
const entries = (): RosterEntry[] => target.roster.list().map((e) => e.statement !== undefined ? { cert: e.cert, addrs: e.statement } : { cert: e.cert })

/** A peer that speaks only what the test sends: no admission service of its own, so it has been answered nothing yet. */
async function rawPeer (): Promise<{ host: Host, stop: () => Promise<void> }> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], transport: 'memory', anchor: net.anchor, role: 'client' })
  await host.start()
  await host.dial(multiaddr(target.addrs[0]))
  return { host, stop: async () => { await host.stop() } }
}

async function ask (host: Host, body: Uint8Array): Promise<AdmitMessage> {
  return readAdmitMessage(await request(host, targetId, PROTOCOL.ADMIT, { body, timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] }))
}

// ---------------------------------------------------------------------------

const wire = suite('digest on the wire')

wire('a message with a digest round-trips', async () => {
  const digest = randomBytes(ROSTER_DIGEST_BYTES)
  const msg = await decodeAdmitMessage(encodeAdmitMessage(entries(), undefined, digest))
  assert.equal(msg.digest, digest)
  assert.is(msg.entries.length, 4)
  assert.equal(readAdmitMessage({ v: WIRE_VERSION, entries: [], digest }).digest, digest)
})

wire('a digest of any other length, or not bytes, is refused before any entry is looked at', async () => {
  for (const digest of [randomBytes(ROSTER_DIGEST_BYTES - 1), randomBytes(ROSTER_DIGEST_BYTES + 1), randomBytes(256 * 1024)]) {
    assert.is(await codeOfAsync(decodeAdmitMessage(encodeAdmitMessage(entries(), undefined, digest))), 'ERR_DECODE')
    assert.is(codeOf(() => readAdmitMessage({ v: WIRE_VERSION, entries: [], digest })), 'ERR_DECODE')
  }
  const notBytes = encodeCanonical({ v: WIRE_VERSION, digest: 'x'.repeat(ROSTER_DIGEST_BYTES), entries: [] })
  assert.is(await codeOfAsync(decodeAdmitMessage(notBytes)), 'ERR_DECODE')
  assert.is(codeOf(() => readAdmitMessage({ v: WIRE_VERSION, entries: [], digest: [1, 2, 3] })), 'ERR_DECODE')
})

wire('a digest depends on the entries, not the order they were learnt in; a newer statement changes its bucket only', async () => {
  const list = entries()
  const a = new Roster(net.anchor)
  const b = new Roster(net.anchor)
  for (const e of list) a.offer(e)
  for (const e of [...list].reverse()) b.offer(e)
  assert.equal(a.digest(), b.digest())
  const c = new Roster(net.anchor)
  for (const e of list.map((e) => ({ cert: e.cert }))) c.offer(e)
  const differ = differingBuckets(a.digest(), c.digest())
  const buckets = new Set(list.map((e) => bucketOf(e.cert.body.peer)))
  assert.ok(differ.length > 0 && differ.every((d) => buckets.has(d)), 'only the buckets of nodes whose statements differ')
  assert.ok(differ.every((d) => d >= 0 && d < ROSTER_BUCKETS))
})

wire('a kept digest is never stale: a changed entry, a certificate expiring and a caller writing into it are all seen', () => {
  const list = entries()
  const full = new Roster(net.anchor)
  for (const e of list) full.offer(e)
  const growing = new Roster(net.anchor)
  for (const e of list.slice(1)) growing.offer(e)
  const before = growing.digest()
  assert.equal(growing.digest(), before, 'the same digest while nothing changes')
  growing.offer(list[0])
  assert.equal(growing.digest(), full.digest(), 'an offered entry is in the next digest')
  assert.not.equal(growing.digest(), before)
  const mine = growing.digest()
  mine[0] ^= 0xff
  assert.equal(growing.digest(), full.digest(), 'writing into an answer does not change the roster\'s digest')
  const firstExpiry = Math.min(...list.map((e) => e.cert.body.na))
  const now = Date.now()
  const atNow = full.digest(now)
  assert.equal(full.digest(firstExpiry), atNow, 'still valid at its last moment')
  assert.not.equal(full.digest(firstExpiry + 1), atNow, 'an expired certificate leaves the digest at once')
})

wire.run()

// ---------------------------------------------------------------------------

const hostile = suite('digests against a real node')

hostile('an empty roster\'s digest gets the whole roster, with the node\'s own digest', async () => {
  const client = await rawPeer()
  try {
    const answer = await ask(client.host, encodeAdmitMessage([], undefined, new Roster(net.anchor).digest()))
    assert.is(answer.entries.length, 4)
    assert.equal(answer.digest, target.roster.digest())
    const same = await ask(client.host, encodeAdmitMessage([], undefined, target.roster.digest()))
    assert.is(same.entries.length, 0, 'a matching digest gets nothing')
  } finally {
    await client.stop()
  }
})

hostile('digests that never match buy each bucket twice per window, and the node keeps serving others', async () => {
  const bad = await rawPeer()
  let sent = 0
  try {
    for (let i = 0; i < 40; i++) {
      const answer = await ask(bad.host, encodeAdmitMessage([], undefined, randomBytes(ROSTER_DIGEST_BYTES)))
      sent += answer.entries.length
    }
  } finally {
    await bad.stop()
  }
  assert.ok(sent <= 8, `at most the roster twice (a lost answer is sent again once): ${sent} entries sent for 40 digests`)
  const good = await rawPeer()
  try {
    assert.is((await ask(good.host, encodeAdmitMessage([], undefined, new Roster(net.anchor).digest()))).entries.length, 4)
  } finally {
    await good.stop()
  }
})

hostile('an oversized digest is refused with ERR_DECODE; forged and stale entries change nothing', async () => {
  const client = await rawPeer()
  try {
    const huge = encodeCanonical({ v: WIRE_VERSION, digest: randomBytes(128 * 1024), entries: [] })
    assert.is(await codeOfAsync(request(client.host, targetId, PROTOCOL.ADMIT, { body: huge, timeoutMs: 5_000, maxResponseBytes: 65_536 })), 'ERR_DECODE')

    // A certificate from another authority, for a fresh peer: refused, never listed.
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const dir = mkdtempSync(join(tmpdir(), 'bioshard-other-authority-'))
    initAuthority(dir)
    const forged = admitNode(loadAuthority(dir), stranger, 'site-x').cert
    rmSync(dir, { recursive: true, force: true })
    const forgedMsg = encodeAdmitMessage([{ cert: forged }], undefined, target.roster.digest())
    const refused = request(client.host, targetId, PROTOCOL.ADMIT, { body: forgedMsg, timeoutMs: 5_000, maxResponseBytes: 65_536 })
    assert.is(await codeOfAsync(refused), 'ERR_NOT_ADMITTED')
    assert.not.ok(target.roster.isAdmitted(stranger))

    // Entries it holds already, without their statements (stale): nothing changes, nothing is answered.
    const before = target.roster.digest()
    const stale = await ask(client.host, encodeAdmitMessage(entries().map((e) => ({ cert: e.cert })), undefined, before))
    assert.is(stale.entries.length, 0)
    assert.equal(target.roster.digest(), before)
  } finally {
    await client.stop()
  }
  const good = await clientHost(net)
  try {
    assert.is(good.roster.size(), 4, 'another client still learns the roster')
  } finally {
    await good.stop()
  }
})

hostile.after(async () => { await net.stop() })
hostile.run()
