/**
 * Store and fetch between processes on loopback, against the floor a bare
 * libp2p request/response (bench/fixtures/echo-node.ts) sets on the same
 * machine in the same run, moving the same bytes. Each operation is
 * interleaved in rounds with its floor so drift on a noisy machine hits both
 * alike; goals are ratios to the floor ({@link FETCH_LATENCY_MAX},
 * {@link FETCH_THROUGHPUT_MIN}).
 *
 * Run alone: `node bench/node.bench.ts` (prints a table).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier } from '../keys/authority.ts'
import { provisionNode } from '../sim/local-network.ts'
import { createHost, type Host } from '../net/host.ts'
import { Admission } from '../net/admission.ts'
import { Roster } from '../net/roster.ts'
import { RefusalBudget } from '../net/policy/refusal-budget.ts'
import { storeShare, fetchShare, type FetchCredentials } from '../client/holder-requests.ts'
import type { Share } from '../crypto/shares.ts'
import { open } from '../crypto/seal.ts'
import { randomBytes, equalBytes, wipe } from '../crypto/bytes.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { toWire } from '../protocol/signed.ts'
import { encodeStoreRequest } from '../protocol/store.ts'
import { encodeFetchRequest, shareSealInfo } from '../protocol/fetch.ts'
import { readFrame } from '../protocol/frame.ts'
import { encodeManifest, type Manifest } from '../protocol/manifest.ts'
import { manifestDigest, sealBinding } from '../protocol/seal-binding.ts'
import { PROTOCOL, NONCE_BYTES } from '../protocol/constants.ts'
import { testEnclave, prepareEnrolment } from '../test/helpers/enrol.ts'
import { echoRequest, echoExchange, echoReusedExchange } from './fixtures/echo-node.ts'
import { startChild, type ChildPeer } from './fixtures/child.ts'
import {
  inTurn, sample, summarize, load, summarizeLoad, compare, progress, printTable, formatTime, toMs, type BenchResult, type LoadSamples
} from './harness.ts'

const TEMPLATE_BYTES = 2_048
const PURPOSE = 'login'
const RATE_PER_MINUTE = 1_000_000
const CONCURRENCY = 32
/** Untimed operations of each kind before the first timed one. */
const WARMUP_OPS = 100
/** Timed stores (each a fresh enrolment), in alternating rounds with the floor. */
const STORE_OPS = 150
const STORE_ROUNDS = 3
/** Sequential fetch and its floor: this many alternating rounds of this much timed time each. */
const SEQ_ROUNDS = 3
const SEQ_ROUND_MS = 800
/** Fetch under load and its floor: rounds of this length each. */
const LOAD_ROUNDS = 2
const LOAD_ROUND_MS = 2_500
const LOAD_WARMUP_MS = 300
/** Goals, as ratios to the floor. */
const FETCH_LATENCY_MAX = 1.5
const FETCH_THROUGHPUT_MIN = 0.6
const REQUEST_TIMEOUT_MS = 10_000

interface Enrolment { templateId: Uint8Array, manifest: Manifest, shares: Share[] }

/** Encrypt, split (2, 2) and sign a manifest placing share i at holder i. */
async function prepare (
  tenant: { key: SigningKey, wire: ReturnType<typeof toWire> },
  holders: Array<{ peer: string, site: string }>,
  measurement: Uint8Array
): Promise<Enrolment> {
  const policy = { purposes: [PURPOSE], ratePerMinute: RATE_PER_MINUTE, burst: RATE_PER_MINUTE }
  const prepared = await prepareEnrolment(tenant, holders, { t: 2, dim: TEMPLATE_BYTES / 4, measurements: [measurement], policy })
  const { templateId, template, secret, shares, manifest } = prepared
  wipe(template, secret)
  return { templateId, manifest, shares }
}

/** Send one raw request and return the sizes on the wire (length-prefixed payloads). */
async function exchange (
  host: Libp2p, peer: string, protocol: string, body: Uint8Array
): Promise<{ request: number, answer: number, bytes: Uint8Array }> {
  const stream = await host.dialProtocol(peerIdFromString(peer), protocol, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  const lp = lpStream(stream, { maxDataLength: 1 << 20 })
  await lp.write(body)
  const bytes = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray()
  await stream.close()
  return { request: body.length, answer: bytes.length, bytes }
}

/** One floor request/response on a new stream (the floor the goals are set against). */
function echoOnce (host: Libp2p, peer: string, body: Uint8Array, answerBytes: number): () => Promise<void> {
  const id = peerIdFromString(peer)
  const exchange = { body, answerBytes, timeoutMs: REQUEST_TIMEOUT_MS }
  return async () => { await echoExchange(host, id, exchange) }
}

/** One floor request/response on a reused stream, as the node's RPC client makes it. */
function echoReused (host: Libp2p, peer: string, body: Uint8Array, answerBytes: number): () => Promise<void> {
  const id = peerIdFromString(peer)
  const exchange = { body, answerBytes, timeoutMs: REQUEST_TIMEOUT_MS }
  return async () => { await echoReusedExchange(host, id, exchange) }
}

/** Start the two nodes and the echo peer; each is added to `children` as soon as it runs. */
async function startNodes (
  dir: string, execArgv: string[], children: ChildPeer[]
): Promise<{ nodes: ChildPeer[], echo: ChildPeer, authority: ReturnType<typeof loadAuthority>, sites: string[] }> {
  initAuthority(join(dir, 'authority'))
  const authority = loadAuthority(join(dir, 'authority'))
  const sites = ['site-1', 'site-2']
  const nodes: ChildPeer[] = []
  for (let i = 0; i < sites.length; i++) {
    const nodeDir = join(dir, `node-${i + 1}`)
    await provisionNode({ dir: nodeDir, site: sites[i], authority, bootstrap: nodes.length > 0 ? [nodes[0].addrs[0]] : [], limits: { maxInboundStreams: 64 } })
    progress(`node: starting node-${i + 1} (${sites[i]}) in a child process`)
    const start = ['node', 'start', '--dir', nodeDir]
    const node = await startChild('bin/bioshard.js', start, { label: `node-${i + 1}`, execArgv, env: { BIOSHARD_METRICS: 'off' } })
    children.push(node)
    nodes.push(node)
  }
  progress('node: starting the bare libp2p echo peer (floor)')
  const echo = await startChild('bench/fixtures/echo-node.ts', [], { label: 'echo', execArgv })
  children.push(echo)
  return { nodes, echo, authority, sites }
}

/**
 * Run the node benchmarks.
 *
 * Setup: two site nodes, each `bioshard node start` in its own child process
 * (the second bootstraps to the first), and the client — a `createHost` host
 * with role `client` — in this process. One template is enrolled at
 * (t, n) = (2, 2) with a policy rate limit the limiter never reaches. The
 * floor runs in a third child process and answers with the real request's
 * and answer's sizes, measured on the wire first.
 *
 * Measured:
 * - store: one share to one holder per operation (each a fresh enrolment,
 *   prepared outside the timed section), beside the floor at the store's sizes;
 * - fetch: one share from one holder, sequentially (median, p99) and with
 *   {@link CONCURRENCY} in flight (requests/s). The floor opens a stream per
 *   request; fetch reuses streams (see net/stream-pool.ts), so the echo on a
 *   reused stream is measured too and each fetch row also states its ratio
 *   to that like-for-like transport.
 *
 * Profile the node children: `BIOSHARD_BENCH_CPU_PROF=<dir> node bench/node.bench.ts`
 * writes one `.cpuprofile` per child process when they stop.
 *
 * @returns store and fetch results beside their floors, with goal verdicts for fetch
 * @example printTable(await run(), 'node')
 */
export async function run (): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bioshard-bench-'))
  const profDir = process.env.BIOSHARD_BENCH_CPU_PROF
  const execArgv = profDir !== undefined && profDir !== '' ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : []
  const children: ChildPeer[] = []
  let client: Host | undefined
  let admission: Admission | undefined
  let floorClient: Libp2p | undefined
  try {
    const { nodes, echo, authority, sites } = await startNodes(dir, execArgv, children)
    const anchor = { network: authority.info.network, authorities: [authority.info.publicKey] }

    const admitted = admitTenant(authority, 'bench-tenant')
    const tenant = { key: admitted.key, cert: admitted.cert, wire: toWire(admitted.cert) }
    const v = authoriseVerifier(tenant.key, 'bench-verifier', [PURPOSE])
    const verifier = { key: v.key, cert: v.cert, wire: toWire(v.cert) }
    const enclave = testEnclave(verifier)
    const creds: FetchCredentials = { verifier: verifier.key, cert: verifier.wire, attestation: enclave.attestation }
    const holders = nodes.map((n, i) => ({ peer: n.peer, site: sites[i] }))

    client = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client' })
    // The nodes serve certified clients only: the client proves the tenant's certificate in admission, as createClient does.
    const credential = { key: tenant.key, cert: tenant.wire }
    admission = new Admission({ libp2p: client, roster: new Roster(anchor), budget: new RefusalBudget(20, 60_000, 60_000), credential })
    await client.start()
    await admission.start()
    for (const n of nodes) await client.dial(multiaddr(n.addrs[0]), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    const accepted = Date.now() + REQUEST_TIMEOUT_MS
    while (admission.acceptances < nodes.length && Date.now() < accepted) await new Promise((resolve) => setTimeout(resolve, 25))
    floorClient = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    await floorClient.start()
    await floorClient.dial(multiaddr(echo.addrs[0]), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    const host = client
    const floorHost = floorClient

    // --- enrol the template that is fetched; check one fetch end to end ---
    progress('node: enrolling the template to fetch')
    const enrolled = await prepare(tenant, holders, enclave.measurement)
    await Promise.all(enrolled.shares.map(async (s, i) => {
      await storeShare(host, holders[i].peer, { manifest: enrolled.manifest, x: s.x, share: s.bytes.slice(), tenant: tenant.key })
    }))
    const x = enrolled.shares[0].x
    const holder = holders[0].peer
    const asked = Date.now()
    const check = await fetchShare(host, holder, { templateId: enrolled.templateId, x, purpose: PURPOSE, creds }, { now: asked })
    const binding = sealBinding(check.body.request, asked, manifestDigest(encodeManifest(enrolled.manifest)))
    const opened = open(enclave.keys, check.body.sealed, shareSealInfo(enrolled.templateId, x), binding)
    if (!equalBytes(opened, enrolled.shares[0].bytes)) throw new Error('the fetched share does not open to the stored one')
    wipe(opened)

    // --- wire sizes, so the floor moves the same bytes ---
    const fetchBody = encodeFetchRequest({
      templateId: enrolled.templateId,
      xs: [x],
      purpose: PURPOSE,
      enclave: creds.attestation,
      cert: creds.cert,
      sender: host.peerId.toString(),
      nonce: randomBytes(NONCE_BYTES),
      time: Date.now()
    }, creds.verifier)
    const fetchWire = await exchange(host, holder, PROTOCOL.FETCH, fetchBody)
    readFrame(fetchWire.bytes, 1 << 20, holder) // throws if the holder refused

    progress(`node: preparing ${STORE_OPS + 1} enrolments for store`)
    const stores: Enrolment[] = []
    for (let i = 0; i < STORE_OPS + 1; i++) stores.push(await prepare(tenant, holders, enclave.measurement))
    const probe = stores.pop() as Enrolment
    const storeBody = encodeStoreRequest({
      manifest: probe.manifest,
      x: probe.shares[0].x,
      share: probe.shares[0].bytes,
      sender: host.peerId.toString(),
      nonce: randomBytes(NONCE_BYTES),
      time: Date.now()
    }, tenant.key)
    const storeWire = await exchange(host, holder, PROTOCOL.STORE, storeBody)
    readFrame(storeWire.bytes, 1 << 20, holder)
    const sizes = (w: { request: number, answer: number }): string => `${w.request} B → ${w.answer} B`
    progress(`node: wire sizes: store ${sizes(storeWire)}, fetch ${sizes(fetchWire)}`)

    const results: BenchResult[] = []

    // --- warm up both paths (JIT, connections, caches) before any timing ---
    const fetchOp = async (): Promise<void> => {
      await fetchShare(host, holder, { templateId: enrolled.templateId, x, purpose: PURPOSE, creds }, { timeoutMs: REQUEST_TIMEOUT_MS })
    }
    const fetchFloorOp = echoOnce(floorHost, echo.peer, echoRequest(fetchWire.request, fetchWire.answer), fetchWire.answer)
    const fetchReusedOp = echoReused(floorHost, echo.peer, echoRequest(fetchWire.request, fetchWire.answer), fetchWire.answer)
    const storeFloorOp = echoOnce(floorHost, echo.peer, echoRequest(storeWire.request, storeWire.answer), storeWire.answer)
    progress('node: warming up')
    await sample('warmup floor', storeFloorOp, { warmup: 0, iterations: WARMUP_OPS })
    await sample('warmup floor', fetchFloorOp, { warmup: 0, iterations: WARMUP_OPS })
    await sample('warmup floor', fetchReusedOp, { warmup: 0, iterations: WARMUP_OPS })
    await sample('warmup fetch', fetchOp, { warmup: 0, iterations: WARMUP_OPS })

    // --- store, interleaved with its floor ---
    const storeOp = async (i: number): Promise<void> => {
      const e = stores[i]
      const request = { manifest: e.manifest, x: e.shares[0].x, share: e.shares[0].bytes, tenant: tenant.key }
      await storeShare(host, holder, request, { timeoutMs: REQUEST_TIMEOUT_MS })
    }
    const storeSamples: number[] = []
    const storeFloorSamples: number[] = []
    const perRound = STORE_OPS / STORE_ROUNDS
    for (let r = 0; r < STORE_ROUNDS; r++) {
      progress(`node: store (fresh enrolment, one share, synced to disk) and floor, round ${r + 1} of ${STORE_ROUNDS}`)
      const opts = { iterations: perRound, warmup: 0, maxIterations: perRound }
      // Each store consumes the next prepared enrolment.
      const offset = r * perRound
      await inTurn(r,
        async () => { storeFloorSamples.push(...await sample('store floor', storeFloorOp, opts)) },
        async () => { storeSamples.push(...await sample('store', async (i) => { await storeOp(offset + i) }, opts)) })
    }
    const storeFloor = summarize(`floor: echo ${sizes(storeWire)}`, storeFloorSamples, { note: 'bare libp2p request/response' })
    const store = summarize('store one share', storeSamples, { note: 'includes the synced write' })
    compare(store, storeFloor)
    results.push(storeFloor, store)

    // --- fetch, sequential, interleaved with its floor ---
    const seqFloor: number[] = []
    const seqReused: number[] = []
    const seqFetch: number[] = []
    for (let r = 0; r < SEQ_ROUNDS; r++) {
      progress(`node: sequential fetch and floor, round ${r + 1} of ${SEQ_ROUNDS}`)
      const opts = { iterations: 50, warmup: 5, minTimeMs: SEQ_ROUND_MS }
      await inTurn(r,
        async () => {
          seqFloor.push(...await sample('fetch floor', fetchFloorOp, opts))
          seqReused.push(...await sample('fetch floor, reused stream', fetchReusedOp, opts))
        },
        async () => { seqFetch.push(...await sample('fetch', fetchOp, opts)) })
    }
    const fetchFloor = summarize(`floor: echo ${sizes(fetchWire)}`, seqFloor, { note: 'bare libp2p request/response, new stream each' })
    const reusedFloor = summarize(`echo ${sizes(fetchWire)}, reused stream`, seqReused, { note: 'bare libp2p on a reused stream, as fetch sends' })
    const fetch = summarize('fetch one share', seqFetch)
    const vsReused = toMs(fetch.median, fetch.unit) / toMs(reusedFloor.median, reusedFloor.unit)
    compare(fetch, fetchFloor, { atMost: FETCH_LATENCY_MAX })
    const p99VsFloor = toMs(fetch.p99, fetch.unit) / toMs(fetchFloor.p99, fetchFloor.unit)
    fetch.note = `p99 ${p99VsFloor.toFixed(2)}× the floor's; ${vsReused.toFixed(2)}× the reused-stream echo`
    results.push(fetchFloor, reusedFloor, fetch)
    progress(`  fetch: median ${formatTime(fetch.median, fetch.unit)} vs floor ${formatTime(fetchFloor.median, fetchFloor.unit)}`)

    // --- fetch under load, interleaved with its floor ---
    const loadFloor: LoadSamples[] = []
    const loadReused: LoadSamples[] = []
    const loadFetch: LoadSamples[] = []
    for (let r = 0; r < LOAD_ROUNDS; r++) {
      progress(`node: ${CONCURRENCY} concurrent fetches and floor, round ${r + 1} of ${LOAD_ROUNDS}`)
      const opts = { concurrency: CONCURRENCY, durationMs: LOAD_ROUND_MS, warmupMs: LOAD_WARMUP_MS }
      await inTurn(r,
        async () => {
          loadFloor.push(await load('fetch floor', fetchFloorOp, opts))
          loadReused.push(await load('fetch floor, reused streams', fetchReusedOp, opts))
        },
        async () => { loadFetch.push(await load('fetch', fetchOp, opts)) })
    }
    const floorNote = 'bare libp2p request/response, new stream each'
    const reusedNote = 'bare libp2p on reused streams, as fetch sends'
    const floorUnderLoad = summarizeLoad(`floor: echo ${sizes(fetchWire)}`, loadFloor, { concurrency: CONCURRENCY, note: floorNote })
    const reusedUnderLoad = summarizeLoad(`echo ${sizes(fetchWire)}, reused streams`, loadReused, { concurrency: CONCURRENCY, note: reusedNote })
    const fetchUnderLoad = summarizeLoad('fetch one share', loadFetch, { concurrency: CONCURRENCY })
    compare(fetchUnderLoad, floorUnderLoad, { metric: 'opsPerSec', atLeast: FETCH_THROUGHPUT_MIN })
    fetchUnderLoad.note = `${(fetchUnderLoad.opsPerSec / reusedUnderLoad.opsPerSec).toFixed(2)}× the reused-stream echo's ops/s`
    results.push(floorUnderLoad, reusedUnderLoad, fetchUnderLoad)
    for (const e of stores) wipe(...e.shares.map((s) => s.bytes))
    wipe(...enrolled.shares.map((s) => s.bytes), ...probe.shares.map((s) => s.bytes))
    return results
  } finally {
    progress('node: stopping')
    await admission?.stop().catch(() => {})
    await Promise.allSettled([client?.stop(), floorClient?.stop()])
    await Promise.all(children.map(async (c) => await c.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) printTable(await run(), 'node')
