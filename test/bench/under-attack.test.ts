/**
 * The under-attack benchmark end to end at a tiny, seeded size: a baseline,
 * then rounds beside each attack with the attacker paused and going, and each
 * attack reaching the nodes and answered as the outcome tests
 * (test/node/abuse.test.ts) say: a replayed request served at most once per
 * identity, a request dated outside the freshness window never served, no
 * silent or trickled stream ever served. No timing is asserted (speed is
 * checked by `npm run bench`, never by tests).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { measureUnderAttack, type UnderAttackParams, type UnderAttackRun } from '../../bench/under-attack.bench.ts'
import { setProgress } from '../../bench/harness.ts'
import type { AttackStats } from '../helpers/attack.ts'

setProgress(null)

/** Codes a cut-off identity's last requests may get besides the attack's own refusal. */
const CUT_OFF = ['ERR_BUSY', 'ERR_TIMEOUT']

const slice = suite('under-attack, a quick slice')
let run: UnderAttackRun | undefined

/** Tiny phases, seeded. Attackers at normal priority: at the lowest, a busy machine can starve them for seconds, and no timing is judged here. */
const QUICK: Partial<UnderAttackParams> = {
  nodes: 2,
  t: 2,
  n: 2,
  templates: 1,
  seed: 7,
  niceAttackers: false,
  warmupOps: 3,
  phaseOps: 5,
  phaseMs: 0,
  leadMs: 200,
  rounds: 2,
  roundOps: 3,
  roundMs: 0,
  settleMs: 0
}

slice.before(async () => {
  run = await measureUnderAttack(QUICK)
})

const stats = (kind: keyof UnderAttackRun['attacks']): AttackStats => {
  const s = run?.attacks[kind]
  if (s === undefined) throw new Error(`no stats for the ${kind} attack`)
  return s
}
const codes = (s: AttackStats): string[] => Object.keys(s.refused)

slice('a baseline, then per attack its paused rounds and its rounds going, compared by p99 against a goal, noting what the attacker got', () => {
  const results = run?.results ?? []
  const attacks = ['replay storm', 'stream flood', 'slow senders', 'skewed-clock flood']
  assert.equal(results.map((r) => r.name), ['verify, no attack', ...attacks.flatMap((a) => [`verify, ${a} paused`, `verify, ${a}`])])
  for (const a of attacks) {
    const r = results.find((x) => x.name === `verify, ${a}`)
    assert.is(r?.baseline, `verify, ${a} paused`)
    assert.is(r?.metric, 'p99')
    assert.is(r?.goal, '≤ 2')
    assert.ok(r?.verdict === 'ok' || r?.verdict === 'MISS')
    assert.match(r?.note ?? '', /^attacker: \d+ peer ids/)
  }
})

slice('replay storm: each identity\'s request served at most once, its replays refused with ERR_REPLAY', () => {
  const s = stats('replay')
  assert.ok(s.served <= s.peerIds, JSON.stringify(s))
  assert.ok((s.refused.ERR_REPLAY ?? 0) > 0, JSON.stringify(s))
  for (const code of codes(s)) assert.ok(code === 'ERR_REPLAY' || CUT_OFF.includes(code), code)
})

slice('skewed-clock flood: nothing served, refused with ERR_STALE', () => {
  const s = stats('skew')
  assert.is(s.served, 0, JSON.stringify(s))
  assert.ok((s.refused.ERR_STALE ?? 0) > 0, JSON.stringify(s))
  for (const code of codes(s)) assert.ok(code === 'ERR_STALE' || CUT_OFF.includes(code), code)
})

slice('stream flood and slow senders: streams opened, none of them served', () => {
  for (const kind of ['streams', 'slow'] as const) {
    const s = stats(kind)
    assert.ok(s.opened > 0, `${kind}: ${JSON.stringify(s)}`)
    assert.is(s.served, 0, `${kind}: ${JSON.stringify(s)}`)
  }
})

slice.run()
