/**
 * A node's maintenance rounds (node/maintain/sessions.ts, session.ts): bounded
 * per coordinator and in all, one per template, ended (share state wiped,
 * waiters failed) on timeout or close; a dealer's part is taken once, only
 * from a dealer of the round, only of the share's length.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { MaintainSessions } from '../../node/maintain/sessions.ts'
import type { SessionInit } from '../../node/maintain/session.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { codeOf, codeOfAsync } from '../helpers/assert.ts'

const XS = [1, 2, 3]
const manifest = { body: { t: 2, templateId: randomBytes(32), shares: XS.map((x) => ({ x, holder: `peer-${x}` })) } } as unknown as Manifest

function init (o: { coordinator?: string, slot?: Uint8Array, round?: Uint8Array } = {}): SessionInit {
  return {
    round: o.round ?? randomBytes(16),
    slot: o.slot ?? randomBytes(64),
    op: 'refresh',
    role: 'holder',
    coordinator: { peer: o.coordinator ?? 'coordinator-a', key: randomBytes(32) },
    manifest,
    x: 1,
    helpers: XS,
    share: { x: 1, bytes: randomBytes(40) }
  }
}

const sessions = suite('maintenance sessions')

sessions('rounds are bounded per coordinator, in all, and to one per template', () => {
  const table = new MaintainSessions({ perPeer: 2, total: 3 })
  table.open(init())
  table.open(init())
  assert.is(codeOf(() => table.open(init())), 'ERR_BUSY', 'a third round from one coordinator')
  const slot = randomBytes(64)
  const first = init({ coordinator: 'coordinator-b', slot })
  table.open(first)
  assert.is(codeOf(() => table.open(init({ coordinator: 'coordinator-c' }))), 'ERR_BUSY', 'over the total')
  table.close(first.round)
  const again = table.open(init({ coordinator: 'coordinator-b', slot }))
  assert.is(codeOf(() => table.open(init({ coordinator: 'coordinator-c', round: again.init.round }))), 'ERR_REPLAY', 'a round id already open')
  assert.is(codeOf(() => table.open(init({ coordinator: 'coordinator-d', slot }))), 'ERR_CONFLICT', 'a second round for one template')
})

sessions('a round that outlives its deadline is ended: share state wiped, waiters failed', async () => {
  const table = new MaintainSessions({ ttlMs: 30 })
  const i = init()
  const s = table.open(i)
  const waiting = codeOfAsync(s.whenComplete())
  await new Promise((resolve) => setTimeout(resolve, 120))
  assert.is(table.get(i.round), undefined)
  assert.is(await waiting, 'ERR_ABORTED')
  assert.ok(i.share?.bytes.every((b) => b === 0), 'the held share copy is wiped')
  assert.is(table.size, 0)
})

sessions('each dealer deals once, only dealers deal, and only parts of the share\'s length', () => {
  const table = new MaintainSessions()
  const i = init()
  const s = table.open(i)
  assert.is(codeOf(() => s.accept('deal', 9, randomBytes(40))), 'ERR_BAD_REQUEST', 'not a dealer of the round')
  assert.is(codeOf(() => s.accept('deal', 1, randomBytes(40))), 'ERR_BAD_REQUEST', 'its own x')
  assert.is(codeOf(() => s.accept('sum', 2, randomBytes(40))), 'ERR_BAD_REQUEST', 'a holder takes no sums')
  assert.is(codeOf(() => s.accept('deal', 2, randomBytes(39))), 'ERR_BAD_REQUEST', 'wrong length')
  s.accept('deal', 2, randomBytes(40))
  assert.is(codeOf(() => s.accept('deal', 2, randomBytes(40))), 'ERR_REPLAY', 'a second deal from one sender')
  s.outgoing()
  s.accept('deal', 3, randomBytes(40))
  assert.ok(s.complete)
  assert.is(s.commitments().commitment.length, 32)
  table.close(i.round)
  assert.ok(i.share?.bytes.every((b) => b === 0), 'closing before the commit wipes the old share copy too (the store keeps the old share)')
  assert.is(codeOf(() => s.accept('deal', 3, randomBytes(40))), 'ERR_NOT_FOUND', 'a part after the round ended')
})

sessions.run()
