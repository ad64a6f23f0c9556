/**
 * The bound on streams a peer leaves unclosed after their last frame: past
 * it the peer's oldest is reset at once, a stream that closes is forgotten,
 * one that is never closed is reaped, and one peer's streams never reset
 * another's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LingeringStreams, type Lingering } from '../../net/policy/peer-streams.ts'

class FakeStream implements Lingering {
  aborted?: Error
  private readonly onClose: Array<() => void> = []
  abort (err: Error): void { this.aborted = err; this.close() }
  addEventListener (_type: 'close', listener: () => void): void { this.onClose.push(listener) }
  close (): void { for (const f of this.onClose.splice(0)) f() }
}

test('past the bound, the peer’s oldest lingering stream is reset', () => {
  const lingering = new LingeringStreams<FakeStream>(2, 60_000)
  const [a, b, c] = [new FakeStream(), new FakeStream(), new FakeStream()]
  lingering.add('p', a)
  lingering.add('p', b)
  assert.is(lingering.of('p'), 2)
  assert.is(a.aborted, undefined)
  lingering.add('p', c)
  assert.ok(a.aborted instanceof Error, 'the oldest is reset')
  assert.match(a.aborted.message, /more than 2 streams/)
  assert.is(b.aborted, undefined)
  assert.is(c.aborted, undefined)
  assert.is(lingering.of('p'), 2)
})

test('a stream the peer closes is forgotten and frees its place', () => {
  const lingering = new LingeringStreams<FakeStream>(1, 60_000)
  const [a, b] = [new FakeStream(), new FakeStream()]
  lingering.add('p', a)
  a.close()
  assert.is(lingering.of('p'), 0)
  lingering.add('p', b)
  assert.is(b.aborted, undefined)
  assert.is(lingering.of('p'), 1)
})

test('the bound is per peer', () => {
  const lingering = new LingeringStreams<FakeStream>(1, 60_000)
  const [a, b] = [new FakeStream(), new FakeStream()]
  lingering.add('p', a)
  lingering.add('q', b)
  assert.is(a.aborted, undefined)
  assert.is(b.aborted, undefined)
})

test('a stream the peer leaves unclosed is reset after the reap delay', async () => {
  const lingering = new LingeringStreams<FakeStream>(4, 20)
  const a = new FakeStream()
  lingering.add('p', a)
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.ok(a.aborted instanceof Error)
  assert.match(a.aborted.message, /did not close/)
  assert.is(lingering.of('p'), 0)
})

test('the bound must be a positive integer', () => {
  assert.throws(() => new LingeringStreams(0, 500), /positive integer/)
  assert.throws(() => new LingeringStreams(1.5, 500), /positive integer/)
})

test.run()
