/**
 * The maintainer's decisions with stand-in audits, standings and
 * refresh/repair: which templates it repairs and why, the n − 1 floor, the
 * refresh schedule, and a failure that does not stop the pass.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Maintainer, summarisePass, type MaintenanceReport, type MaintainerDeps } from '../../client/maintainer.ts'
import type { HolderAudit } from '../../client/audit.ts'
import { toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'

const ids = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)]
const ok = (holder: string, x: number): HolderAudit => ({ holder, x, outcome: 'passed' })

function deps (over: Partial<MaintainerDeps>, calls: string[]): MaintainerDeps {
  const report = (templateId: Uint8Array, action: 'refresh' | 'repair'): MaintenanceReport => (
    { templateId, action, seq: 2, bytes: 100, holders: [], replaced: [] })
  return {
    templates: () => ids,
    audit: async (id) => id[0] === 1
      ? [ok('A', 1), { holder: 'B', x: 2, outcome: 'failed', reason: 'bad proof' }, ok('C', 3)]
      : id[0] === 2 ? [ok('A', 1), ok('R', 2), ok('C', 3)] : [ok('A', 1), ok('B', 2), ok('C', 3)],
    standing: (p) => p === 'R' ? 'retiring' : 'admitted',
    refresh: async (id) => { calls.push(`refresh ${toHex(id)}`); return report(id, 'refresh') },
    repair: async (id, o) => { calls.push(`repair ${toHex(id)} ${o.lost.join(',')}`); return report(id, 'repair') },
    ...over
  }
}

test('repairs a template whose live holders fell to n − 1, naming the lost holders and why', async () => {
  const calls: string[] = []
  const r = await new Maintainer(deps({}, calls)).pass()
  assert.equal(calls, ['repair 01 B', 'repair 02 R'])
  assert.equal(r.templates[0].lost, [{ holder: 'B', reason: 'failed-audit' }])
  assert.equal(r.templates[1].lost, [{ holder: 'R', reason: 'retiring' }])
  assert.is(r.templates[2].action, 'none')
  assert.equal(r.audits, { passed: 8, failed: 1, noAnswer: 0, unauditable: 0 })
  assert.equal(r.lost, { 'failed-audit': 1, 'no-answer': 0, revoked: 0, retiring: 1, 'not-admitted': 0 })
  assert.match(summarisePass(r), 'repairs 2')
})

test('a floor gap of 2 waits for a second loss; refresh follows its schedule', async () => {
  const calls: string[] = []
  let now = 0
  const m = new Maintainer(deps({ floorGap: 2, refreshEveryMs: 1000, now: () => now }, calls))
  await m.pass()
  assert.equal(calls, ['refresh 01', 'refresh 02', 'refresh 03'])
  now = 500
  await m.pass()
  assert.is(calls.length, 3, 'nothing due yet')
  now = 1000
  await m.pass()
  assert.is(calls.length, 6)
})

test('a revoked or unknown holder counts as lost; a failing repair is recorded and the pass goes on', async () => {
  const calls: string[] = []
  const r = await new Maintainer(deps({
    standing: (p) => p === 'B' ? 'revoked' : p === 'C' ? 'unknown' : 'admitted',
    repair: async (id) => {
      if (id[0] === 1) throw new BioshardError('ERR_QUORUM_UNAVAILABLE', 'two holders down')
      calls.push(toHex(id))
      return { templateId: id, action: 'repair', seq: 2, bytes: 1, holders: [], replaced: [] }
    }
  }, calls)).pass()
  assert.is(r.templates[0].error, 'ERR_QUORUM_UNAVAILABLE: two holders down')
  assert.is(r.errors, 1)
  assert.equal(r.failed, { repairs: 1, refreshes: 0 })
  assert.equal(calls, ['02', '03'])
  assert.equal(r.templates[2].lost.map((l) => l.reason), ['revoked', 'not-admitted'])
})

test.run()
