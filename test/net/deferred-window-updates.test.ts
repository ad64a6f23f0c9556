/**
 * The muxer wrapper (net/deferred-window-updates.ts) holds yamux's plain
 * window updates and sends them in front of the next frame; it never holds
 * an update that changes stream state, never lets a sender's window shrink
 * by more than a bounded amount, and leaves the muxer otherwise unchanged.
 * Over real TCP between two libp2p peers: a request and its answer on a
 * reused stream take two encrypted messages instead of four, and transfers
 * far larger than the window still complete in both directions, with a
 * stock yamux peer on the other end too.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lpStream } from '@libp2p/utils'
import type { ConnectionEncrypter, MessageStream, StreamMuxerFactory } from '@libp2p/interface'
import { deferredWindowUpdates } from '../../net/deferred-window-updates.ts'
import { FLUSH_DELTA, MAX_HELD_STREAMS } from '../../net/constants.ts'
import { concat, equalBytes, toHex } from '../../crypto/bytes.ts'

const Deferred = suite('deferred window updates')

const WINDOW_UPDATE = 0x01
const DATA = 0x00
const SYN = 0x01
const FIN = 0x04

/** A yamux frame header (spec: version 0, type, flags, stream id, length). */
function header (type: number, flags: number, streamId: number, length: number): Uint8Array {
  const h = new Uint8Array(12)
  const v = new DataView(h.buffer)
  h[1] = type
  v.setUint16(2, flags)
  v.setUint32(4, streamId)
  v.setUint32(8, length)
  return h
}

/** Split what reached the transport back into frame headers (and data lengths). */
function frames (sent: Uint8Array[]): Array<{ type: number, flags: number, streamId: number, length: number }> {
  const out: Array<{ type: number, flags: number, streamId: number, length: number }> = []
  const all = concat(...sent)
  for (let at = 0; at < all.length;) {
    const v = new DataView(all.buffer, all.byteOffset + at, 12)
    const f = { type: all[at + 1], flags: v.getUint16(2), streamId: v.getUint32(4), length: v.getUint32(8) }
    out.push(f)
    at += 12 + (f.type === DATA ? f.length : 0)
  }
  return out
}

/** Wrap a muxer factory that only exposes the connection it was given, and record what reaches that connection's transport. */
function wrapped (): { send: (data: Uint8Array) => boolean, sent: Uint8Array[] } {
  const sent: Uint8Array[] = []
  const send = (data: Uint8Array | { subarray: () => Uint8Array }): boolean => {
    sent.push(data instanceof Uint8Array ? data : data.subarray())
    return true
  }
  const connection = { send } as unknown as MessageStream
  let given: MessageStream | undefined
  const createStreamMuxer = (c: MessageStream): never => {
    given = c
    return {} as never
  }
  const factory = (): StreamMuxerFactory => ({ protocol: '/fake-mux', createStreamMuxer }) as unknown as StreamMuxerFactory
  const outer = deferredWindowUpdates(factory)({})
  assert.is(outer.protocol, '/fake-mux', 'the wrapped factory keeps its protocol id')
  outer.createStreamMuxer(connection)
  return { send: (data) => given!.send(data), sent }
}

Deferred('a plain window update waits and goes out, merged per stream, in front of the next frame', () => {
  const mux = wrapped()
  assert.is(mux.send(header(WINDOW_UPDATE, 0, 3, 2_000)), true)
  mux.send(header(WINDOW_UPDATE, 0, 3, 500))
  mux.send(header(WINDOW_UPDATE, 0, 5, 700))
  assert.is(mux.sent.length, 0, 'nothing sent yet')
  const data = concat(header(DATA, 0, 3, 4), Uint8Array.of(1, 2, 3, 4))
  mux.send(data)
  assert.is(mux.sent.length, 1, 'one buffer: one encrypted message')
  assert.equal(frames(mux.sent), [
    { type: WINDOW_UPDATE, flags: 0, streamId: 3, length: 2_500 },
    { type: WINDOW_UPDATE, flags: 0, streamId: 5, length: 700 },
    { type: DATA, flags: 0, streamId: 3, length: 4 }
  ])
  assert.is(toHex(mux.sent[0].subarray(24)), toHex(data), 'the frame itself is unchanged')
})

Deferred('frames pass through untouched when nothing is held', () => {
  const mux = wrapped()
  const data = concat(header(DATA, 0, 1, 2), Uint8Array.of(9, 9))
  mux.send(data)
  assert.is(mux.sent[0], data)
})

Deferred('an update with flags (SYN, FIN, …) is never held, and takes what is held with it', () => {
  const mux = wrapped()
  mux.send(header(WINDOW_UPDATE, 0, 7, 100))
  mux.send(header(WINDOW_UPDATE, SYN, 9, 0))
  mux.send(header(WINDOW_UPDATE, FIN, 11, 0))
  assert.equal(frames(mux.sent), [
    { type: WINDOW_UPDATE, flags: 0, streamId: 7, length: 100 },
    { type: WINDOW_UPDATE, flags: SYN, streamId: 9, length: 0 },
    { type: WINDOW_UPDATE, flags: FIN, streamId: 11, length: 0 }
  ])
})

Deferred('a large grant goes at once, and so does a stream\'s held sum once it reaches the bound', () => {
  const mux = wrapped()
  mux.send(header(WINDOW_UPDATE, 0, 1, FLUSH_DELTA))
  assert.equal(frames(mux.sent), [{ type: WINDOW_UPDATE, flags: 0, streamId: 1, length: FLUSH_DELTA }])
  mux.sent.length = 0
  const step = FLUSH_DELTA / 4
  for (let i = 0; i < 3; i++) mux.send(header(WINDOW_UPDATE, 0, 3, step))
  assert.is(mux.sent.length, 0)
  mux.send(header(WINDOW_UPDATE, 0, 3, step))
  assert.equal(frames(mux.sent), [{ type: WINDOW_UPDATE, flags: 0, streamId: 3, length: FLUSH_DELTA }])
})

Deferred('updates held for many streams are sent once the stream bound is reached', () => {
  const mux = wrapped()
  for (let id = 1; id < MAX_HELD_STREAMS; id++) mux.send(header(WINDOW_UPDATE, 0, id * 2 + 1, 10))
  assert.is(mux.sent.length, 0)
  mux.send(header(WINDOW_UPDATE, 0, 999, 10))
  assert.is(frames(mux.sent).length, MAX_HELD_STREAMS)
  assert.ok(frames(mux.sent).every((f) => f.type === WINDOW_UPDATE && f.length === 10))
})

Deferred('session frames (ping, go away) and updates for stream 0 are not held', () => {
  const mux = wrapped()
  mux.send(header(WINDOW_UPDATE, 0, 0, 10))
  mux.send(header(0x02, SYN, 0, 1))
  assert.is(mux.sent.length, 2)
})

// --- over TCP ---

const PROTOCOL = '/test/echo/1.0.0'

/** Count the encrypted messages a peer sends (noise hands each to the connection with one send). */
function counting (counter: { messages: number }) {
  return (components: unknown): ConnectionEncrypter => {
    const inner = noise()(components as never)
    const outer = Object.create(inner) as ConnectionEncrypter
    const count = (c: MessageStream): MessageStream => {
      const send = c.send.bind(c)
      c.send = (d) => { counter.messages++; return send(d) }
      return c
    }
    outer.secureOutbound = async (c, o) => await inner.secureOutbound(count(c), o)
    outer.secureInbound = async (c, o) => await inner.secureInbound(count(c), o)
    return outer
  }
}

async function peer (deferred: boolean, counter = { messages: 0 }): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [counting(counter)],
    streamMuxers: [deferred ? deferredWindowUpdates(yamux()) : yamux()]
  })
  // Echo: answer each length-prefixed message with the same bytes, until the stream ends.
  await node.handle(PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: 8 << 20 })
    for (;;) {
      let m: Uint8Array
      try { m = (await lp.read()).subarray() } catch { break }
      await lp.write(m)
    }
    await stream.close().catch(() => {})
  })
  await node.start()
  return node
}

Deferred('a request and its answer on a reused stream take two encrypted messages, not four', async () => {
  const sent = { messages: 0 }
  const answered = { messages: 0 }
  const [a, b] = [await peer(true, sent), await peer(true, answered)]
  try {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL)
    const lp = lpStream(stream)
    for (let i = 0; i < 5; i++) { await lp.write(new Uint8Array(700)); await lp.read() }
    sent.messages = 0
    answered.messages = 0
    const exchanges = 50
    for (let i = 0; i < exchanges; i++) {
      await lp.write(new Uint8Array(700).fill(i))
      assert.is((await lp.read()).subarray()[0], i)
    }
    // Stock yamux sends four: request; window update, answer; window update.
    assert.ok(sent.messages + answered.messages <= exchanges * 2 + 10, `${sent.messages} + ${answered.messages} messages for ${exchanges} exchanges`)
    await stream.close()
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
})

const pairings = [
  ['both wrapped', true, true],
  ['wrapped caller, stock yamux answering', true, false],
  ['stock yamux caller, wrapped answering', false, true]
] as const
for (const [name, deferA, deferB] of pairings) {
  Deferred(`messages many times the 256 KiB window cross in both directions (${name})`, async () => {
    const [a, b] = [await peer(deferA), await peer(deferB)]
    try {
      const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 8 << 20 })
      for (const size of [3 << 20, 100, 1 << 20]) {
        const body = new Uint8Array(size)
        for (let i = 0; i < size; i += 4096) body[i] = (i >>> 12) & 0xff
        await lp.write(body, { signal: AbortSignal.timeout(20_000) })
        const back = (await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray()
        assert.ok(equalBytes(back, body), `${size} bytes came back intact`)
      }
      await stream.close()
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
}

Deferred.run()
