/**
 * A certified client opening streams without limit against a real node
 * process: its streams are bounded per peer, over all its connections (not
 * once per connection it opens), each stream beyond the bound is refused with
 * ERR_RATE_LIMITED and charged, and a peer that keeps opening them is cut
 * off (every connection closed, the peer banned) instead of costing the node
 * a protocol negotiation per stream for ever. A good client is served
 * throughout. Outcomes only; no timing is asserted.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, Stream } from '@libp2p/interface'
import type { Host } from '../../net/host.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { MAX_MAINTAIN_STREAMS } from '../../node/maintain/limits.ts'
import { LoneNode, type Held } from '../helpers/lone-node.ts'
import { answerOf, UNANSWERED } from '../helpers/abuse.ts'

/** Connections the flooding peer opens: each would have its own bound if the bound were per connection. */
const CONNECTIONS = 2
/** Streams beyond its bound the peer may open before the test gives up on it being cut off: far more than its refusal budget allows. */
const MAX_ATTEMPTS = 4_000
/** Stream opens in flight at once while flooding. */
const IN_FLIGHT = 16
/** How a stream the node refused and reset before this side had opened it is counted. */
const REFUSED_WHILE_OPENING = 'reset while opening'
/** Longest wait for the refusals of streams over the bound (ms): only ends a test whose node never refuses. */
const ANSWER_WAIT_MS = 15_000

const root = mkdtempSync(join(tmpdir(), 'bioshard-stream-bound-'))
const lone = await LoneNode.create(root)
await lone.start()
const held: Held = await lone.prepare()
await lone.store(held)
const peer = peerIdFromString(lone.peer)

async function goodClientServed (): Promise<void> {
  assert.ok(equalBytes(await lone.fetch(held), held.held.bytes), 'a good client is served')
}

/** A fresh certified client holding `n` connections to the node. */
async function connections (n: number): Promise<{ host: Host, conns: Connection[] }> {
  const host = await lone.anotherClient()
  for (let i = 1; i < n; i++) await host.dial(multiaddr(lone.node!.addrs[0]), { force: true, signal: AbortSignal.timeout(10_000) })
  const conns = host.getConnections(peer)
  assert.is(conns.length, n, 'the client holds several connections to the node')
  return { host, conns }
}

const bound = suite('a peer opening streams without limit')

bound('its streams are bounded over all its connections; those beyond are refused with ERR_RATE_LIMITED', async () => {
  const { conns } = await connections(CONNECTIONS)
  // A protocol's bound on every connection at once: as many streams again as the peer may hold. A refused stream the
  // peer leaves open is reset 500 ms after the refusal: on a busy machine that can come before this side has finished
  // opening it, so such a stream counts as refused too (it was not let open), under its own name.
  const opening = conns.flatMap((c) => Array.from({ length: MAX_MAINTAIN_STREAMS }, async () => await c.newStream(PROTOCOL.MAINTAIN)))
  const opened: Stream[] = []
  const answers: string[] = []
  for (const p of opening) {
    void p.then(async (s) => { opened.push(s); return await answerOf(s) }, () => REFUSED_WHILE_OPENING).then((a) => { answers.push(a) })
  }
  const refusals = opening.length - MAX_MAINTAIN_STREAMS
  const deadline = Date.now() + ANSWER_WAIT_MS
  while (answers.length < refusals && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.is(answers.length, refusals, `only the bound stays open, over both connections: ${JSON.stringify(answers)}`)
  // The refusal frame, or (read after the reset that follows it) none: never an answer of the protocol itself.
  assert.ok(answers.every((a) => a === 'ERR_RATE_LIMITED' || a === REFUSED_WHILE_OPENING || a === UNANSWERED), JSON.stringify(answers))
  // Which of the two a refused stream shows depends on the moment this side reads it; the code itself is asserted in the
  // next test, where the peer reads every refusal it gets.
  await goodClientServed()
  assert.is(answers.length, refusals, 'no stream within the bound was ended')
  for (const s of opened) s.abort(new Error('done'))
})

bound('a peer that keeps opening streams beyond its bound is cut off, and a good client is served throughout', async () => {
  const { conns } = await connections(CONNECTIONS)
  // The peer holds its bound open, silent, and opens more beyond it.
  const holding = await Promise.all(Array.from({ length: MAX_MAINTAIN_STREAMS }, async () => await conns[0].newStream(PROTOCOL.MAINTAIN)))
  const outcomes: Record<string, number> = {}
  let attempts = 0
  const connected = (): boolean => conns.some((c) => c.status === 'open')
  await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, i) => {
    while (connected() && attempts < MAX_ATTEMPTS) {
      attempts++
      const c = conns[i % conns.length]
      const o = await c.newStream(PROTOCOL.MAINTAIN).then(async (s) => await answerOf(s), () => 'not opened')
      outcomes[o] = (outcomes[o] ?? 0) + 1
      // A stream that fails at once settles in microtasks: let the connection's own events (its close) in.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }))
  assert.ok(!connected(), `the peer is cut off within ${MAX_ATTEMPTS} streams: ${attempts} opened, ${JSON.stringify(outcomes)}`)
  assert.ok((outcomes.ERR_RATE_LIMITED ?? 0) > 0, JSON.stringify(outcomes))
  assert.is(outcomes.ok, undefined)
  await goodClientServed()
  for (const s of holding) s.abort(new Error('done'))
})

bound.after(async () => {
  await lone.close()
  rmSync(root, { recursive: true, force: true })
})

bound.run()
