/**
 * Scenarios: the built-in set is complete and seeded; a scenario file
 * replays its recorded schedule and a bad file is ERR_CONFIG; and one run of
 * real nodes that combines the Byzantine, collusion and erase checks: a
 * corrupting holder is named while verification still succeeds, a coalition
 * of t − 1 sites reconstructs nothing and one of t sites reconstructs what
 * it holds, and after an erase nothing is fetchable, stored or on disk.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SCENARIOS, loadScenario, paramsFor } from '../../sim/scenarios.ts'
import { scenarioFile } from '../../sim/scenario-file.ts'
import { runSimulation } from '../../sim/engine.ts'
import { Rng } from '../../sim/rng.ts'
import { BioshardError } from '../../errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'bioshard-scenarios-'))
const write = (name: string, value: unknown): string => {
  const path = join(dir, name)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}
const configError = (f: () => unknown): string => {
  try { f() } catch (e) {
    assert.instance(e, BioshardError)
    assert.is((e as BioshardError).code, 'ERR_CONFIG')
    assert.not.match((e as Error).message, /\n/)
    return (e as Error).message
  }
  throw new assert.Assertion({ message: 'expected ERR_CONFIG', operator: 'throws', actual: 'no error', expects: 'ERR_CONFIG', generated: false })
}

const Files = suite('scenarios: built-ins and files')

Files('every built-in scenario is documented and its schedule is a function of the seed', () => {
  assert.equal(Object.keys(SCENARIOS).sort(), ['baseline', 'byzantine', 'churn', 'clog', 'collusion', 'mass-erase', 'partition'])
  for (const [name, s] of Object.entries(SCENARIOS)) {
    assert.is(s.name, name)
    assert.ok(s.summary.length > 10 && s.invariant.length > 10)
    const params = paramsFor(s, { seed: 9 })
    assert.equal(s.schedule(params, new Rng(9).fork('schedule')), s.schedule(params, new Rng(9).fork('schedule')), `${name} is seeded`)
    for (const e of s.schedule(params, new Rng(9).fork('schedule'))) assert.ok(e.at >= 0 && e.at < params.hours, `${name}: ${JSON.stringify(e)}`)
  }
  assert.ok(SCENARIOS['mass-erase'].schedule(paramsFor(SCENARIOS['mass-erase'], { seed: 1 }), new Rng(1)).some((e) => e.kind === 'erase' && e.fraction === 1))
})

Files('a scenario file replays its recorded schedule', () => {
  const churn = SCENARIOS.churn
  const params = paramsFor(churn, { seed: 77, hours: 12 })
  const recorded = churn.schedule(params, new Rng(77).fork('schedule'))
  const path = write('recorded.json', scenarioFile(churn, recorded, params))
  const replayed = loadScenario(path)
  assert.is(replayed.name, 'churn')
  assert.equal(replayed.defaults.hours, 12)
  assert.equal(replayed.schedule(params, new Rng(1)), recorded, 'the same events, whatever the seed')
  assert.is(loadScenario('churn'), churn)
})

Files('a bad scenario file is one ERR_CONFIG line naming the fault', () => {
  const ok = { name: 'x', summary: 's', invariant: 'i', defaults: {}, faults: [] }
  assert.match(configError(() => loadScenario(join(dir, 'missing.json'))), /built-in: baseline/)
  assert.match(configError(() => loadScenario(write('a.json', '{not json'))), /not JSON/)
  assert.match(configError(() => loadScenario(write('b.json', [1]))), /object/)
  assert.match(configError(() => loadScenario(write('c.json', { ...ok, name: 3 }))), /name/)
  assert.match(configError(() => loadScenario(write('d.json', { ...ok, faults: [{ at: 0, kind: 'meteor' }] }))), /faults\[0\]\.kind/)
  assert.match(configError(() => loadScenario(write('e.json', { ...ok, faults: [{ at: -1, kind: 'heal' }] }))), /faults\[0\]\.at/)
  assert.match(configError(() => loadScenario(write('f.json', { ...ok, faults: [{ at: 0, kind: 'crash' }] }))), /faults\[0\]\.node/)
  assert.match(configError(() => loadScenario(write('g.json', { ...ok, faults: [{ at: 0, kind: 'erase', fraction: 2 }] }))), /fraction/)
  assert.match(configError(() => loadScenario(write('h.json', { ...ok, faults: [{ at: 0, kind: 'byzantine', node: 1, behaviour: 'evil' }] }))), /behaviour/)
  assert.match(configError(() => loadScenario(write('i.json', { ...ok, faults: [{ at: 0, kind: 'crash', node: 1, extra: 1 }] }))), /extra/)
  assert.match(configError(() => loadScenario(write('j.json', { ...ok, defaults: { nodes: 0 } }))), /defaults\.nodes/)
  assert.match(configError(() => loadScenario(write('k.json', { ...ok, defaults: { seed: 1 } }))), /defaults\.seed/)
  assert.match(configError(() => loadScenario(write('l.json', { ...ok, defaults: { coalitions: [[]] } }))), /coalitions/)
  assert.match(configError(() => loadScenario(write('m.json', { ...ok, faults: [{ at: 0, kind: 'partition', groups: [[0]] }] }))), /groups/)
  assert.match(configError(() => loadScenario(write('n.json', { ...ok, extra: 1 }))), /extra/)
  const far = loadScenario(write('o.json', { ...ok, faults: [{ at: 0, kind: 'crash', node: 50 }] }))
  assert.match(configError(() => far.schedule(paramsFor(far, { seed: 1, nodes: 8 }), new Rng(1))), /node 50/)
})

Files.run()

const Run = suite('scenarios: Byzantine holders, coalitions and erasure on real nodes')

// A recorded schedule: node 1 (site-2) corrupts every share it returns from hour 0; half the templates are erased at hour 1.
const path = write('byzantine-erase.json', {
  name: 'byzantine-erase',
  summary: 'a corrupting holder, then half the templates erased',
  invariant: 'the holder is named, verify succeeds, erased templates are gone',
  defaults: { nodes: 8, sites: 5, templates: 16, t: 3, n: 5, hours: 2, probesPerHour: 6, coalitions: [['site-1', 'site-3'], ['site-1', 'site-3', 'site-4']] },
  faults: [{ at: 0, kind: 'byzantine', node: 1, behaviour: 'corrupt' }, { at: 1, kind: 'erase', fraction: 0.5 }]
})
const scenario = loadScenario(path)
const result = await runSimulation({ scenario, params: paramsFor(scenario, { seed: 5150 }) })
const check = (prefix: string): { holds: boolean, detail: string } => {
  const c = result.invariants.find((i) => i.name.startsWith(prefix))
  assert.ok(c !== undefined, `an invariant starting '${prefix}'`)
  return c
}

Run('the corrupting holder is named and every verification still succeeds', () => {
  assert.is(result.counts.byzantineNamed, 1)
  assert.ok(check('Byzantine holders are named').holds, check('Byzantine holders are named').detail)
  assert.is(result.counts.verified, result.counts.verifyAttempts, 'n − 1 honest holders ≥ t: verify succeeds from spares')
  assert.is(result.steps[0].liveShares.min, 4, 'the Byzantine holder\'s shares are not counted live')
})

Run('a coalition of t − 1 sites reconstructs nothing; one of t sites reconstructs what it holds t shares of', () => {
  const [small, large] = result.exposure.coalitions
  assert.is(small.maxShares, 2)
  assert.is(small.reconstructed, 0)
  assert.ok(large.reconstructed > 0, 'the check sees a reconstruction when one is possible')
  assert.ok(check('coalition site-1+site-3 (< t').holds)
  assert.ok(check('coalition site-1+site-3+site-4').holds)
  assert.is(result.exposure.maxPerSite, 1)
})

Run('after the erase no holder returns a share, no store holds one and no file holds its bytes', () => {
  assert.is(result.counts.erased, 8)
  assert.is(result.counts.eraseIncomplete, 0)
  assert.ok(check('after erase').holds, check('after erase').detail)
  for (const c of result.invariants) assert.ok(c.holds, `${c.name}: ${c.detail}`)
})

Run.after(() => { rmSync(dir, { recursive: true, force: true }) })
Run.run()
