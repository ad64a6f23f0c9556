/**
 * A certified client opening streams without limit against a real node
 * process: its streams are bounded per peer, over all its connections (not
 * once per connection it opens), each stream beyond the bound is refused with
 * ERR_RATE_LIMITED and charged, and a peer that keeps opening them is cut
 * off (every connection closed, the peer banned) instead of costing the node
 * a protocol negotiation per stream for ever. Streams it leaves unclosed
 * after their answer are bounded too, so that its flood reaches the handler
 * that charges it rather than libp2p's own limit, which resets for free. A
 * peer with no certificate is charged for every gated stream, those beyond
 * the few let wait for its admission included. A good client is served
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
import { DEFAULT_LIMITS } from '../../node/config.ts'
import { GATE_REFUSAL_WEIGHT } from '../../node/constants.ts'
import { ADMISSION_GRACE_MS, MAX_GRACE_STREAMS } from '../../net/constants.ts'
import { MINOR_REFUSAL_WEIGHT } from '../../net/policy/refusal-budget.ts'
import { LoneNode, type Held } from '../helpers/lone-node.ts'
import { answerOf, UNANSWERED } from '../helpers/abuse.ts'

/** Connections the flooding peer opens: each would have its own bound if the bound were per connection. */
const CONNECTIONS = 2
/** Refusals as ERR_RATE_LIMITED the node's default budget allows a peer before it is cut off. */
const BUDGETED_REFUSALS = Math.round(DEFAULT_LIMITS.invalidRequestBudget / MINOR_REFUSAL_WEIGHT)
/**
 * Streams beyond its bound the peer may open before it must be cut off: its budget and half as much again. Streams the
 * node does not charge (reset by libp2p's own limit before any handler) would let it open far more.
 */
const MAX_ATTEMPTS = Math.round(BUDGETED_REFUSALS * 1.5)
/**
 * Gated streams a peer with no certificate may open before it must be cut off: those the node lets wait for its
 * admission and as many again (it opens twice that many at once), and its budget of refusals twice over. Streams reset
 * for free while the others wait would let it open thousands.
 */
const STRANGER_IN_FLIGHT = 2 * MAX_GRACE_STREAMS
const MAX_STRANGER_ATTEMPTS = STRANGER_IN_FLIGHT + 2 * DEFAULT_LIMITS.invalidRequestBudget / GATE_REFUSAL_WEIGHT
/** Stream opens in flight at once while flooding. */
const IN_FLIGHT = 16
/** How a stream the node refused and reset before this side had opened it is counted. */
const REFUSED_WHILE_OPENING = 'reset while opening'
/** Longest wait for the refusals of streams over the bound (ms): only ends a test whose node never refuses. */
const ANSWER_WAIT_MS = 15_000
/**
 * Longest wait, once the peer has opened all it may, for the node to have dealt with those streams and cut it off (ms): on
 * a busy machine the node works through them after the peer has sent them. Only ends a test whose node never cuts it off.
 */
const CUT_OFF_WAIT_MS = 15_000

/** Wait until none of `conns` is open, or until `deadline` (`CUT_OFF_WAIT_MS` from now by default). */
async function closedWithin (conns: Connection[], deadline = Date.now() + CUT_OFF_WAIT_MS): Promise<boolean> {
  while (conns.some((c) => c.status === 'open') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  return conns.every((c) => c.status !== 'open')
}

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
  assert.ok(await closedWithin(conns), `the peer is cut off within ${MAX_ATTEMPTS} streams: ${attempts} opened, ${JSON.stringify(outcomes)}`)
  assert.ok((outcomes.ERR_RATE_LIMITED ?? 0) > 0, JSON.stringify(outcomes))
  assert.is(outcomes.ok, undefined)
  await goodClientServed()
  for (const s of holding) s.abort(new Error('done'))
})

bound('a peer with no certificate is charged for every gated stream, those beyond its admission wait included, and cut off within its budget', async () => {
  // Straight after connecting: inside the admission grace, when the node lets some of its streams wait to see whether
  // it is admitted. The peer opens more at once than may wait; those beyond are refused and charged too, not reset for free.
  const stranger = await lone.stranger()
  const [conn] = stranger.getConnections(peer)
  const outcomes: Record<string, number> = {}
  let attempts = 0
  await Promise.all(Array.from({ length: STRANGER_IN_FLIGHT }, async () => {
    while (conn.status === 'open' && attempts < MAX_STRANGER_ATTEMPTS) {
      attempts++
      // Its own libp2p would stop it at 64 open streams of one protocol: an attacker raises that.
      const o = await conn.newStream(PROTOCOL.FETCH, { maxOutboundStreams: 10 * STRANGER_IN_FLIGHT }).then(async (s) => await answerOf(s), () => 'not opened')
      outcomes[o] = (outcomes[o] ?? 0) + 1
      await new Promise((resolve) => setImmediate(resolve))
    }
  }))
  // Before its connection's admission grace ends: then the streams let wait are refused and charged, which cut off even a
  // peer whose streams beyond them were reset for free.
  const graceEnd = conn.timeline.open + ADMISSION_GRACE_MS
  assert.ok(await closedWithin([conn], graceEnd), `the peer is cut off within ${MAX_STRANGER_ATTEMPTS} streams, inside its admission grace: ` +
    `${attempts} opened, ${JSON.stringify(outcomes)}`)
  // The ban can come before any refusal frame is read: the codes themselves are asserted in test/net/access-gate.test.ts.
  assert.ok(Object.keys(outcomes).every((o) => o === 'ERR_NOT_ADMITTED' || o === UNANSWERED || o === 'not opened'), JSON.stringify(outcomes))
  await goodClientServed()
})

bound.after(async () => {
  await lone.close()
  rmSync(root, { recursive: true, force: true })
})

bound.run()
