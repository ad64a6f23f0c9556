/**
 * Abuse of a real node process by peers it lets in (DESIGN invariant 8, issue
 * 17): clocks off within and beyond the freshness window, the same signed
 * fetch replayed many times, a peer opening streams without limit, and slow
 * senders trickling a request. Outcomes only (what was served, what was
 * refused and with which code, that a good client is still served while the
 * abuse goes on); no timing is asserted.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { FRESHNESS_WINDOW_MS, PROTOCOL } from '../../protocol/constants.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { LoneNode, type Held } from '../helpers/lone-node.ts'
import { codeOfAsync } from '../helpers/assert.ts'
import { openSilentStreams, slowSender } from '../helpers/abuse.ts'

/** Margin inside and outside the window (ms): far more than the test's own run time. */
const MARGIN_MS = 10_000
/** Replays of one request. */
const REPLAYS = 40
/** Streams the flooder tries to open on one connection. */
const FLOOD_STREAMS = 300
/** Slow senders at once, and how often each sends one more byte (ms). */
const SLOW_SENDERS = 8
const SLOW_BYTE_MS = 250

const root = mkdtempSync(join(tmpdir(), 'bioshard-abuse-'))
const lone = await LoneNode.create(root)
await lone.start()
const held: Held = await lone.prepare()
await lone.store(held)

/** The good client is served, byte for byte. */
async function goodClientServed (): Promise<void> {
  assert.ok(equalBytes(await lone.fetch(held), held.held.bytes), 'a good client is served')
}

const skew = suite('clock skew: a client whose clock is off')

skew('within the freshness window (either way) the request is served', async () => {
  for (const off of [-(FRESHNESS_WINDOW_MS - MARGIN_MS), FRESHNESS_WINDOW_MS - MARGIN_MS]) {
    assert.ok(equalBytes(await lone.fetch(held, { now: Date.now() + off }), held.held.bytes), `clock off by ${off} ms`)
  }
})

skew('beyond it (either way) the request is refused with ERR_STALE, and the node serves others', async () => {
  for (const off of [-(FRESHNESS_WINDOW_MS + MARGIN_MS), FRESHNESS_WINDOW_MS + MARGIN_MS, 10 * 365 * 86_400_000]) {
    assert.is(await codeOfAsync(lone.fetch(held, { now: Date.now() + off })), 'ERR_STALE', `clock off by ${off} ms`)
  }
  await goodClientServed()
})

skew.run()

const replay = suite('replay storm: one signed fetch sent again and again')

replay('served once; every replay refused (ERR_REPLAY) or its sender cut off, never served twice', async () => {
  const r = lone.replayable(held)
  const outcomes = [await r.send()]
  for (let i = 0; i < REPLAYS; i++) outcomes.push(await r.send({ timeoutMs: 5_000 }))
  assert.is(outcomes[0], 'ok')
  assert.is(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(' '))
  // Past its refusal budget the replaying peer is disconnected: its later sends find no way in (ERR_BUSY).
  for (const o of outcomes.slice(1)) assert.ok(o === 'ERR_REPLAY' || o === 'ERR_BUSY', o)
  assert.ok(outcomes.includes('ERR_REPLAY'))
})

replay('the node goes on serving fresh requests after the storm', async () => {
  await goodClientServed()
})

replay.run()

const flood = suite('a peer opening streams without limit, and slow senders')

flood('a flood of streams opened at once on one connection: the good client is served while they stay open', async () => {
  const attacker = await lone.anotherClient()
  // Streams over the node's per-connection limit are refused; the rest stay open, silent.
  const opened = await openSilentStreams(attacker, peerIdFromString(lone.peer), PROTOCOL.FETCH, FLOOD_STREAMS)
  await goodClientServed()
  for (const s of opened) s.abort(new Error('done'))
})

flood('slow senders (a byte at a time) do not hold up a good client', async () => {
  const attacker = await lone.anotherClient()
  const peer = peerIdFromString(lone.peer)
  const senders = await Promise.all(Array.from({ length: SLOW_SENDERS }, async () => await slowSender(attacker, peer, PROTOCOL.FETCH, SLOW_BYTE_MS)))
  await goodClientServed()
  await goodClientServed()
  await Promise.all(senders.map(async (s) => { await s.stop() }))
  await goodClientServed()
})

flood.after(async () => {
  await lone.close()
  rmSync(root, { recursive: true, force: true })
})

flood.run()
