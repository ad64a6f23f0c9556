/**
 * The encrypter wrapper (net/coalesced-writes.ts) hands the transport each
 * message as one buffer with the same bytes, and is otherwise the encrypter
 * it wraps. Wire compatibility with plain js-libp2p peers is covered by
 * test/net/interop.test.ts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'
import { coalescedWrites } from '../../net/coalesced-writes.ts'
import { concat, toHex } from '../../crypto/bytes.ts'

const Coalesced = suite('coalesced writes')

/** A connection that records what reaches its transport. */
function recordingConnection (): { connection: MessageStream, sent: unknown[] } {
  const sent: unknown[] = []
  const connection = { send: (data: unknown) => { sent.push(data); return true } } as unknown as MessageStream
  return { connection, sent }
}

/** A list of buffers as noise produces them (length, ciphertext), with the one method the wrapper uses. */
function list (...parts: Uint8Array[]): Parameters<MessageStream['send']>[0] {
  return { subarray: () => concat(...parts), byteLength: parts.reduce((n, p) => n + p.length, 0) } as unknown as Parameters<MessageStream['send']>[0]
}

/** An encrypter that sends what it is told to, on whichever side it is asked to secure. */
function fakeEncrypter (messages: Array<Parameters<MessageStream['send']>[0]>): (c: unknown) => ConnectionEncrypter {
  return () => ({
    protocol: '/fake/1.0.0',
    secureOutbound: async (connection: MessageStream) => { for (const m of messages) connection.send(m); return { connection } as never },
    secureInbound: async (connection: MessageStream) => { for (const m of messages) connection.send(m); return { connection } as never }
  })
}

Coalesced('each message reaches the transport as one buffer holding the same bytes, in order', async () => {
  const len = Uint8Array.of(0x00, 0x03)
  const body = Uint8Array.of(7, 8, 9)
  const single = Uint8Array.of(1, 2)
  for (const side of ['secureOutbound', 'secureInbound'] as const) {
    const { connection, sent } = recordingConnection()
    await coalescedWrites(fakeEncrypter([list(len, body), single]))({})[side](connection)
    assert.is(sent.length, 2)
    assert.instance(sent[0], Uint8Array)
    assert.is(toHex(sent[0] as Uint8Array), toHex(concat(len, body)), side)
    assert.is(sent[1], single, 'a single buffer passes through untouched')
  }
})

Coalesced('the wrapped encrypter keeps its protocol id', () => {
  assert.is(coalescedWrites(fakeEncrypter([]))({}).protocol, '/fake/1.0.0')
})

Coalesced.run()
