/**
 * Holder requests reuse streams (net/rpc.ts, net/stream-pool.ts): one
 * stream carries request after request, a refusal ends it, a holder closes a
 * stream left idle, and a request whose reused stream fails before any
 * answer is sent again on a new stream; a request has one deadline, cleared
 * once it is answered. Real nodes on 127.0.0.1.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, enrolByHand, fetchParties } from '../helpers/enrol.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import { request } from '../../net/rpc.ts'
import { StreamPool, streamPool, type Channel } from '../../net/stream-pool.ts'
import { okFrame } from '../../protocol/frame.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES } from '../../protocol/constants.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const IDLE_MS = 400
const net = await LocalNetwork.start({ nodes: 3, limits: { streamIdleMs: IDLE_MS } })
const client = await clientHost(net)
const { tenant, enclave, creds } = fetchParties(net)
const holders = net.nodes.slice(0, 3)
const peerOf = (i: number): string => holders[i].cert.body.peer
const enrolled = await enrolByHand(client.host, holders, tenant, { measurements: [enclave.measurement], t: 2 })

/** Fetch streams from the client to holder i, by state. */
function fetchStreams (i: number): Stream[] {
  return client.host.getConnections(peerIdFromString(peerOf(i))).flatMap((c) => c.streams).filter((s) => s.protocol === PROTOCOL.FETCH)
}
const open = (s: Stream): boolean => s.status === 'open' && s.remoteWriteStatus === 'writable'

/** A bare libp2p peer (TCP, noise, yamux) listening on `listen`, for a server whose behaviour a test scripts itself. */
async function plainPeer (listen: string[]): Promise<Libp2p> {
  return await createLibp2p({ addresses: { listen }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
}

async function until (what: string, ok: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const fetchOk = async (i: number): Promise<void> => {
  const res = await fetchShare(client.host, peerOf(i), { templateId: enrolled.templateId, x: enrolled.shares[i].x, purpose: 'login', creds })
  assert.is(res.body.x, enrolled.shares[i].x)
}

const reuse = suite('stream reuse')

reuse.after(async () => {
  await client.stop()
  await net.stop()
})

reuse('sequential requests to one holder travel on one stream', async () => {
  for (let k = 0; k < 6; k++) await fetchOk(0)
  assert.is(fetchStreams(0).filter(open).length, 1)
})

reuse('concurrent requests open streams as needed and the pool keeps them for the next burst', async () => {
  await Promise.all(Array.from({ length: 4 }, async () => { await fetchOk(1) }))
  const after = fetchStreams(1).filter(open).length
  assert.ok(after >= 1 && after <= 4, `${after} streams`)
  await Promise.all(Array.from({ length: 4 }, async () => { await fetchOk(1) }))
  assert.ok(fetchStreams(1).filter(open).length <= 4, 'a second burst reuses the first burst\'s streams')
})

reuse('a refusal ends the stream, and the next request is served on a new one', async () => {
  await fetchOk(2)
  assert.is(await codeOfAsync(fetchShare(client.host, peerOf(2), { templateId: randomBytes(32), x: 1, purpose: 'login', creds })), 'ERR_NOT_FOUND')
  await until('the refused stream is closed', () => fetchStreams(2).filter(open).length === 0)
  await fetchOk(2)
})

/** The code a raw fetch-protocol request to holder i is refused with, and how many new streams it took. */
async function refusedOnReusedStream (i: number, body: Uint8Array): Promise<{ code: string | undefined, dials: number }> {
  const opts = { timeoutMs: 5_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.FETCH] }
  const dial = client.host.dialProtocol.bind(client.host)
  let dials = 0
  client.host.dialProtocol = (async (...args: Parameters<typeof dial>) => { dials++; return await dial(...args) }) as typeof dial
  try {
    return { code: await codeOfAsync(request(client.host, peerIdFromString(peerOf(i)), PROTOCOL.FETCH, { body, ...opts })), dials }
  } finally {
    client.host.dialProtocol = dial
  }
}

reuse('an oversized request on a reused stream is still answered ERR_TOO_LARGE from its length prefix', async () => {
  await fetchOk(1)
  assert.ok(streamPool(client.host).size > 0, 'a stream is waiting to be reused')
  const r = await refusedOnReusedStream(1, new Uint8Array(MAX_MESSAGE_BYTES[PROTOCOL.FETCH] + 1))
  assert.equal(r, { code: 'ERR_TOO_LARGE', dials: 0 }, 'the refusal came on the reused stream, not from a retry on a new one')
  await fetchOk(1)
})

reuse('garbage on a reused stream is answered ERR_DECODE there, and the holder goes on serving', async () => {
  await fetchOk(2)
  const r = await refusedOnReusedStream(2, randomBytes(200))
  assert.equal(r, { code: 'ERR_DECODE', dials: 0 })
  await fetchOk(2)
})

reuse(`a holder closes a stream left idle for limits.streamIdleMs (${IDLE_MS} ms); the caller's next request is still served`, async () => {
  await fetchOk(0)
  assert.is(fetchStreams(0).filter(open).length, 1)
  await until('the holder closed the idle stream', () => fetchStreams(0).every((s) => s.remoteWriteStatus !== 'writable'), IDLE_MS + 3_000)
  await fetchOk(0)
})

reuse('a request whose reused stream fails before any answer is sent once more on a new stream', async () => {
  // A peer that answers the first request on a stream and resets the stream on the second.
  const server = await plainPeer(['/ip4/127.0.0.1/tcp/0'])
  const caller = await plainPeer([])
  let received = 0
  await server.handle('/bioshard-test/flaky/1.0.0', async (stream: Stream) => {
    const lp = lpStream(stream)
    await lp.read()
    received++
    await lp.write(okFrame({ n: received }))
    await lp.read().catch(() => undefined)
    received++
    stream.abort(new Error('going away'))
  })
  try {
    const opts = { timeoutMs: 3_000, maxResponseBytes: 1_024 }
    const first = await request(caller, server.getMultiaddrs()[0], '/bioshard-test/flaky/1.0.0', { body: Uint8Array.of(1), ...opts })
    assert.equal(first, { n: 1 })
    assert.is(streamPool(caller).size, 1, 'the stream went back to the pool')
    const second = await request(caller, server.getMultiaddrs()[0], '/bioshard-test/flaky/1.0.0', { body: Uint8Array.of(2), ...opts })
    assert.equal(second, { n: 3 }, 'answered on a new stream after the reused one was reset')
  } finally {
    await caller.stop()
    await server.stop()
  }
})

reuse('a request unanswered within timeoutMs fails ERR_TIMEOUT, and an answered one leaves no deadline timer behind', async () => {
  const server = await plainPeer(['/ip4/127.0.0.1/tcp/0'])
  const caller = await plainPeer([])
  await server.handle('/bioshard-test/silent/1.0.0', async (stream: Stream) => {
    await lpStream(stream).read() // and never answer
  })
  await server.handle('/bioshard-test/prompt/1.0.0', async (stream: Stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(okFrame({ ok: true }))
  })
  // Timers armed for exactly the request's deadline, and whether each was cleared.
  const TIMEOUT_MS = 4_321
  const armed = new Map<unknown, boolean>()
  const realSet = globalThis.setTimeout
  const realClear = globalThis.clearTimeout
  globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
    const t = Reflect.apply(realSet, globalThis, [fn, ms, ...args]) as ReturnType<typeof setTimeout>
    if (ms === TIMEOUT_MS) armed.set(t, false)
    return t
  }) as typeof setTimeout
  globalThis.clearTimeout = ((t?: Parameters<typeof clearTimeout>[0]) => {
    if (armed.has(t)) armed.set(t, true)
    realClear(t)
  }) as typeof clearTimeout
  try {
    try {
      const prompt = { body: Uint8Array.of(1), timeoutMs: TIMEOUT_MS, maxResponseBytes: 1_024 }
      const answered = await request(caller, server.getMultiaddrs()[0], '/bioshard-test/prompt/1.0.0', prompt)
      assert.equal(answered, { ok: true })
    } finally {
      globalThis.setTimeout = realSet
      globalThis.clearTimeout = realClear
    }
    assert.equal([...armed.values()], [true], 'one deadline was armed for the request and cleared when it was answered')
    const started = Date.now()
    const silent = { body: Uint8Array.of(2), timeoutMs: 300, maxResponseBytes: 1_024 }
    const code = await codeOfAsync(async () => await request(caller, server.getMultiaddrs()[0], '/bioshard-test/silent/1.0.0', silent))
    assert.is(code, 'ERR_TIMEOUT')
    assert.ok(Date.now() - started >= 250, 'not before its deadline')
  } finally {
    await caller.stop()
    await server.stop()
  }
})

const pool = suite('stream pool')

/** A stand-in stream: only the state the pool reads and the two ways it ends one. */
function fakeChannel (): Channel & { ended: () => string | undefined } {
  let ended: string | undefined
  const stream = {
    status: 'open',
    writeStatus: 'writable',
    readStatus: 'readable',
    remoteWriteStatus: 'writable',
    close: async () => { ended = 'closed'; stream.status = 'closed' },
    abort: () => { ended = 'aborted'; stream.status = 'aborted' }
  }
  return { stream: stream as unknown as Stream, lp: undefined as unknown as Channel['lp'], ended: () => ended }
}

pool('takes back what it was given, newest first, and nothing for another key', () => {
  const p = new StreamPool(4, 60_000)
  const a = fakeChannel()
  const b = fakeChannel()
  p.give('k', a)
  p.give('k', b)
  assert.is(p.take('other'), undefined)
  assert.is(p.take('k'), b)
  assert.is(p.take('k'), a)
  assert.is(p.take('k'), undefined)
})

pool('keeps at most maxIdle streams per key and closes the rest', () => {
  const p = new StreamPool(2, 60_000)
  const cs = [fakeChannel(), fakeChannel(), fakeChannel()]
  for (const c of cs) p.give('k', c)
  assert.is(p.size, 2)
  assert.is(cs[2].ended(), 'closed')
  p.clear()
})

pool('drops a stream that closed while idle instead of handing it out', () => {
  const p = new StreamPool(4, 60_000)
  const dead = fakeChannel()
  p.give('k', dead)
  ;(dead.stream as unknown as { remoteWriteStatus: string }).remoteWriteStatus = 'closed'
  assert.is(p.take('k'), undefined)
  assert.is(dead.ended(), 'aborted')
})

pool('closes streams left idle for idleMs', async () => {
  const p = new StreamPool(4, 50)
  const c = fakeChannel()
  p.give('k', c)
  await new Promise((resolve) => setTimeout(resolve, 120))
  assert.is(c.ended(), 'closed')
  assert.is(p.size, 0)
  const again = fakeChannel()
  p.give('k', again)
  assert.is(p.take('k'), again, 'the key is usable again after its streams expired')
})

reuse.run()
pool.run()
