/**
 * Seq at the integer limit and far-future times on the refresh path, at real
 * holders: a template stored at seq MAX_SEQ − 1 is refreshed by hand (a
 * tenant-signed round, as any coordinator can send it). Commits whose
 * tenant-signed manifest carries seq MAX_SEQ + 1, Number.MAX_SAFE_INTEGER,
 * 2^53 + 2 (past what a JS number holds exactly) or 2^64 − 1 (the largest
 * CBOR integer), and commits timed far in the future, are refused with typed
 * codes, and the round still commits at MAX_SEQ afterwards. From MAX_SEQ the
 * next round cannot commit at all (ERR_DECODE), the coordinator aborts it, and
 * every holder keeps its MAX_SEQ share.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { LocalNetwork } from '../../sim/local-network.ts'
import { manifestToWire, signManifest, type Manifest } from '../../protocol/manifest.ts'
import { MAX_SEQ } from '../../protocol/constants.ts'
import type { ReadyBody } from '../../protocol/maintain.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { sign } from '../../crypto/sign.ts'
import { SIG } from '../../crypto/tags.ts'
import { toHex } from '../../crypto/bytes.ts'
import { shareMatches } from '../../crypto/shares.ts'
import { storeShare } from '../../client/holder-requests.ts'
import { clientHost, prepareEnrolment } from '../helpers/enrol.ts'
import { RawRound } from '../helpers/maintain.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const enc = (v: unknown): Uint8Array => cborEncode(v, rfc8949EncodeOptions)

const net = await LocalNetwork.start({ nodes: 3, sites: 3 })
await net.converged()
const tenant = net.tenant('limits')
const raw = await clientHost(net, { credential: { key: tenant.key, cert: tenant.wire } })
const holders = net.nodes.map((n) => ({ peer: n.cert.body.peer, site: n.config.site }))
const peers = holders.map((h) => h.peer)

/** A tenant-signed manifest whose body is `m`'s with `seq` (any CBOR integer), built without the manifest encoder's checks. */
function manifestAtSeq (m: Manifest, seq: number | bigint): Record<string, unknown> {
  const body = { ...manifestToWire(m).body, seq }
  return { body, sig: sign(SIG.MANIFEST, enc(body), tenant.key), cert: tenant.wire }
}

/** A tenant-signed commit of round `r` carrying `manifest` (a wire form), with the header's time moved by `skewMs`. */
function commitBytes (r: RawRound, manifest: unknown, time: { skewMs?: number, at?: number } = {}): Uint8Array {
  const header = r.header('commit')
  const body = { ...header, time: time.at ?? header.time + (time.skewMs ?? 0), manifest }
  return enc({ body, sig: sign(SIG.MAINTAIN, enc(body), tenant.key) })
}

/** Open and start a refresh of `m` at every holder; the readies, by peer. */
async function readyRound (m: Manifest): Promise<{ r: RawRound, ready: Map<string, ReadyBody> }> {
  const r = new RawRound(raw.host, m, tenant.key)
  await r.all(peers, { kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x) })
  const answers = await r.all(peers, { kind: 'start' })
  return { r, ready: new Map(answers.map((a) => [a.sender, a as ReadyBody])) }
}

/** The honest next manifest: seq + 1 with each holder's reported commitments. */
function next (m: Manifest, ready: Map<string, ReadyBody>): Manifest {
  const shares = m.body.shares.map((e) => ({ ...e, commitment: ready.get(e.holder)?.commitment as Uint8Array, audit: ready.get(e.holder)?.audit }))
  return signManifest({ ...m.body, seq: m.body.seq + 1, shares }, tenant.key, tenant.wire)
}

const prepared = await prepareEnrolment(tenant, holders, { t: 2, measurements: [new Uint8Array(32)] })
prepared.secret.fill(0)
const start = signManifest({ ...prepared.manifest.body, seq: MAX_SEQ - 1 }, tenant.key, tenant.wire)
await Promise.all(prepared.shares.map(async (s, i) => await storeShare(raw.host, peers[i], { manifest: start, x: s.x, share: s.bytes, tenant: tenant.key })))
const slot = slotKey(tenant.key.publicKey, prepared.templateId)
const heldShares = async (): Promise<Array<{ x: number, share: Uint8Array }>> =>
  await Promise.all(net.nodes.map(async (n) => await n.heldShare(slot) as { x: number, share: Uint8Array }))

/** The manifest at MAX_SEQ the first test commits. */
let atLimit: Manifest | undefined

const Limits = suite('maintenance at the seq and time limits, at real holders')

Limits('commits past MAX_SEQ or timed far ahead are refused with typed codes; the round then commits at MAX_SEQ', async () => {
  const { r, ready } = await readyRound(start)
  const honest = next(start, ready)
  assert.is(honest.body.seq, MAX_SEQ)
  const refusals: Array<[string, Uint8Array, string]> = [
    ['seq MAX_SEQ + 1', commitBytes(r, manifestAtSeq(honest, MAX_SEQ + 1)), 'ERR_DECODE'],
    ['seq Number.MAX_SAFE_INTEGER', commitBytes(r, manifestAtSeq(honest, Number.MAX_SAFE_INTEGER)), 'ERR_DECODE'],
    ['seq 2^53 + 2', commitBytes(r, manifestAtSeq(honest, 2n ** 53n + 2n)), 'ERR_DECODE'],
    ['seq 2^64 − 1', commitBytes(r, manifestAtSeq(honest, 2n ** 64n - 1n)), 'ERR_DECODE'],
    ['a commit timed 2^40 ms ahead', commitBytes(r, manifestToWire(honest), { skewMs: 2 ** 40 }), 'ERR_STALE'],
    ['a commit timed at Number.MAX_SAFE_INTEGER', commitBytes(r, manifestToWire(honest), { at: Number.MAX_SAFE_INTEGER }), 'ERR_STALE']
  ]
  for (const [what, bytes, code] of refusals) {
    for (const p of peers) assert.is(await codeOfAsync(r.send(p, bytes.slice())), code, `${what} at ${p.slice(-6)}`)
  }
  const done = await r.all(peers, { kind: 'commit', manifest: honest })
  assert.ok(done.every((d) => d.kind === 'done'), 'the round commits at MAX_SEQ after the refusals')
  atLimit = honest
  const held = await heldShares()
  held.forEach((h, i) => {
    const entry = honest.body.shares.find((e) => e.holder === peers[i])
    assert.ok(entry !== undefined && shareMatches(prepared.templateId, { x: h.x, bytes: h.share }, entry.commitment), 'each holder keeps its new share')
  })
})

Limits('from MAX_SEQ no commit is possible: seq MAX_SEQ + 1 is refused, the round aborts, every holder keeps its share', async () => {
  assert.ok(atLimit !== undefined, 'the first test committed seq MAX_SEQ')
  const current = atLimit
  const at = (await heldShares()).map((h) => toHex(h.share))
  const { r } = await readyRound(current)
  const bytes = commitBytes(r, manifestAtSeq(current, MAX_SEQ + 1))
  for (const p of peers) assert.is(await codeOfAsync(r.send(p, bytes.slice())), 'ERR_DECODE')
  await r.all(peers, { kind: 'abort', reason: 'no seq is left' })
  assert.equal((await heldShares()).map((h) => toHex(h.share)), at, 'every holder keeps its MAX_SEQ share')
})

Limits.after(async () => {
  await raw.stop()
  await net.stop()
})

Limits.run()
