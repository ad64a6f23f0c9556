/**
 * Corpus capture for `/bioshard/maintain/1.0.0`, off the wire of a throwaway
 * LocalNetwork: a refresh and a repair run by the client library
 * (refreshTemplate, repairTemplate), a refresh that fails because a holder is
 * down (so the coordinator aborts it), and a round opened by a maintainer the
 * tenant certified and then aborted. Every maintain stream any host of this
 * process dials is tapped, so holder-to-holder deals and masked sums are
 * recorded as they travel, not rebuilt. A replayed open gives a refusal frame.
 *
 * Written as `maintain-open-*` (one open per round), `maintain-step-*`
 * (start, commit, abort), `maintain-part-*` (deal, sum) and
 * `maintain-answer-*` (answer frames: every party's ready, a join and a done a round, refusals;
 * the targets read the rounds' reported commitments from them). The shares
 * and keys involved die with the network.
 *
 * Run: `node test/fuzz/capture-maintain.ts` (rewrites only test/fuzz/corpus/maintain-*.bin);
 * capture.ts calls {@link captureMaintenance} as well.
 *
 * @module
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Libp2p, Stream } from '@libp2p/interface'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { syntheticIdentity, prng } from '../../sim/synthetic.ts'
import { decodeMaintainMessage, readMaintainMessage, type MaintainKind } from '../../protocol/maintain.ts'
import { readVerifierCert } from '../../protocol/certs.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { decodeCanonical } from '../../crypto/canonical.ts'
import { toHex } from '../../crypto/bytes.ts'
import { clientHost } from '../helpers/enrol.ts'
import { RawRound } from '../helpers/maintain.ts'
import { CORPUS_DIR } from './corpus.ts'

/** The bytes one dialled maintain stream carried each way. */
interface Tap { peer: string, out: Uint8Array[], in: Uint8Array[] }

type DialProtocol = (this: Libp2p, peer: unknown, protocols: string | string[], options?: unknown) => Promise<Stream>

/**
 * Tap every maintain stream dialled by any libp2p host of this process (they
 * share one class): what is sent, and what arrives. Returns the taps and a
 * function that puts the class back.
 */
function tapMaintainStreams (sample: Libp2p): { taps: Tap[], restore: () => void } {
  const proto = Object.getPrototypeOf(sample) as { dialProtocol: DialProtocol }
  const original = proto.dialProtocol
  const taps: Tap[] = []
  proto.dialProtocol = async function (peer, protocols, options) {
    const stream = await original.call(this, peer, protocols, options)
    if (stream.protocol !== PROTOCOL.MAINTAIN) return stream
    const tap: Tap = { peer: String(peer), out: [], in: [] }
    taps.push(tap)
    const send = stream.send.bind(stream)
    stream.send = (data) => { tap.out.push(data.subarray().slice()); return send(data) }
    stream.addEventListener('message', (e) => { tap.in.push(e.data.subarray().slice()) })
    return stream
  }
  return { taps, restore: () => { proto.dialProtocol = original } }
}

/** Split a byte stream into its length-prefixed frames (unsigned varint length, then the frame); a cut-off tail is dropped. */
function frames (chunks: readonly Uint8Array[]): Uint8Array[] {
  const all = Buffer.concat(chunks)
  const out: Uint8Array[] = []
  let at = 0
  while (at < all.length) {
    let len = 0
    let shift = 0
    let i = at
    for (; i < all.length && shift < 35; i++, shift += 7) {
      len += (all[i] & 0x7f) * 2 ** shift
      if ((all[i] & 0x80) === 0) break
    }
    if (i >= all.length || i + 1 + len > all.length) break
    out.push(new Uint8Array(all.subarray(i + 1, i + 1 + len)))
    at = i + 1 + len
  }
  return out
}

/** The corpus group of a request kind. */
const GROUP: Record<MaintainKind, string> = {
  open: 'open', start: 'step', commit: 'step', abort: 'step', deal: 'part', sum: 'part', join: 'step', ready: 'step', done: 'step'
}
/** At most this many requests of one kind in one round are kept: the rest repeat them with other keys. */
const PER_ROUND_KIND = 2

/** Answers worth keeping once each: every party's `ready` (its commitments), one `join` and `done` a round, every refusal. */
function answerKey (frame: Uint8Array): string {
  const f = decodeCanonical(frame, MAX_RESPONSE_BYTES[PROTOCOL.MAINTAIN], 'answer') as { ok: boolean, body?: unknown }
  if (!f.ok) return `refusal ${toHex(frame)}`
  const b = readMaintainMessage(f.body).body
  return `${toHex(b.round)} ${b.kind} ${b.kind === 'ready' ? b.sender : ''}`
}

/** Name the tapped frames: requests by group and answers, each deduplicated per round and kind. */
function corpusOf (taps: readonly Tap[]): Array<[string, Uint8Array]> {
  const seen = new Map<string, number>()
  const out: Array<[string, Uint8Array]> = []
  const count = new Map<string, number>()
  const keep = (group: string, bytes: Uint8Array): void => {
    const n = count.get(group) ?? 0
    count.set(group, n + 1)
    out.push([`maintain-${group}-${n}`, bytes])
  }
  for (const tap of taps) {
    for (const req of frames(tap.out)) {
      const b = decodeMaintainMessage(req.slice()).body
      const key = `${toHex(b.round)} ${b.kind}`
      const n = seen.get(key) ?? 0
      seen.set(key, n + 1)
      if (n < (b.kind === 'open' ? 1 : PER_ROUND_KIND)) keep(GROUP[b.kind], req)
    }
    for (const answer of frames(tap.in)) {
      const key = answerKey(answer)
      const n = seen.get(key) ?? 0
      seen.set(key, n + 1)
      if (n === 0) keep('answer', answer)
    }
  }
  return out
}

async function enrol (client: Client, t: number, n: number, seed: number): Promise<Uint8Array> {
  const template = syntheticIdentity(128, prng(seed))
  return (await client.enroll({ template, modality: 'face', model: 'synthetic-128', t, n })).templateId
}

/** The rounds: a client refresh, a maintainer's open then abort, a replayed open, a failed refresh, a client repair. */
async function runRounds (net: LocalNetwork): Promise<void> {
  const tenant = net.tenant('maintaining')
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
  const raw = await clientHost(net, { credential: { key: tenant.key, cert: tenant.wire } })
  try {
    const a = await enrol(client, 2, 3, 11)
    await client.refresh(a)
    const m = await client.manifest(a)
    const holders = m.body.shares.map((s) => s.holder)
    const maintainer = net.verifier(tenant, ['maintain'], 'maintainer')
    const delegated = new RawRound(raw.host, m, maintainer.key)
    const open = delegated.bytes({ kind: 'open', op: 'refresh', manifest: m, helpers: m.body.shares.map((s) => s.x), cert: readVerifierCert(maintainer.wire) })
    await Promise.all(holders.map(async (p) => await delegated.send(p, open.slice())))
    // The same open again: its nonce is spent, so the answer is a refusal frame.
    await delegated.send(holders[0], open).catch(() => {})
    await delegated.all(holders, { kind: 'abort', reason: 'captured for the fuzz corpus' })

    const b = await enrol(client, 2, 4, 12)
    const mb = await client.manifest(b)
    const gone = mb.body.shares[1].holder
    await net.stopNode(net.nodes.findIndex((n) => n.cert.body.peer === gone))
    // A holder is down: the open fails there and the coordinator aborts at the others.
    await client.refresh(b).catch(() => {})
    await client.repair(b, { lost: [gone] })
  } finally {
    await raw.stop()
    await client.close()
  }
}

/** Run real rounds on a throwaway network and return the maintain messages they carried, named for the corpus. */
export async function captureMaintenance (): Promise<Array<[string, Uint8Array]>> {
  const net = await LocalNetwork.start({ nodes: 6, sites: 6 })
  let tap: ReturnType<typeof tapMaintainStreams> | undefined
  try {
    await net.converged()
    tap = tapMaintainStreams(net.nodes[0].libp2p as Libp2p)
    await runRounds(net)
    return corpusOf(tap.taps)
  } finally {
    tap?.restore()
    await net.stop()
  }
}

if (import.meta.main) {
  const files = await captureMaintenance()
  for (const f of readdirSync(CORPUS_DIR).filter((n) => n.startsWith('maintain-'))) rmSync(join(CORPUS_DIR, f))
  for (const [name, bytes] of files) writeFileSync(join(CORPUS_DIR, `${name}.bin`), bytes)
  console.log(`captured ${files.length} maintain messages into ${CORPUS_DIR}`)
  process.exit(0)
}
