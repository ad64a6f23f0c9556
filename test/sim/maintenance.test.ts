/**
 * Share maintenance in the simulator, on real nodes: three nodes at three of
 * the four sites leave for good, one an hour. Without maintenance every
 * template that had all three as holders is lost (one share left, t = 2);
 * with the tenant's maintainer running each hour, audits find the missing
 * holders and repairs give their shares to nodes still up before a third
 * holder goes, so nothing is lost. The repaired manifests are what the
 * measures read, and the maintenance traffic is counted.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runSimulation } from '../../sim/engine.ts'
import { paramsFor } from '../../sim/scenarios.ts'
import type { Scenario } from '../../sim/types.ts'

const attrition: Scenario = {
  name: 'attrition',
  summary: 'nodes 0, 1 and 2 (sites 1, 2 and 3) leave for good at hours 1, 2 and 3',
  invariant: 'with maintenance no template is lost',
  defaults: { nodes: 8, sites: 4, templates: 12, t: 2, n: 4, hours: 4, probesPerHour: 2, coalitions: [] },
  schedule: () => [0, 1, 2].map((node) => ({ at: node + 1, kind: 'depart', node }))
}

const off = await runSimulation({ scenario: attrition, params: { ...paramsFor(attrition, { seed: 99 }), transport: 'memory' } })
const on = await runSimulation({ scenario: attrition, params: { ...paramsFor(attrition, { seed: 99 }), transport: 'memory', maintainEvery: 1 } })

const Maintenance = suite('simulator: maintenance keeps templates through departures')

Maintenance('without maintenance, templates whose holders all left are lost', () => {
  assert.ok(off.counts.lost > 0, `lost ${off.counts.lost}`)
  assert.is(off.counts.repairs, undefined, 'no maintenance counts when maintenance is off')
})

Maintenance('with the maintainer each hour, nothing is lost, repairs happened and their traffic is counted', () => {
  assert.is(on.counts.lost, 0)
  assert.ok((on.counts.repairs ?? 0) > 0, 'templates were repaired')
  assert.ok((on.counts.maintenanceBytes ?? 0) > 0, 'maintenance traffic is counted')
  assert.ok(on.steps.every((s) => s.maintenance !== undefined), 'a pass ran every hour')
  for (const check of on.invariants) assert.ok(check.holds, `${check.name}: ${check.detail}`)
})

Maintenance('repaired templates keep one holder per site, and no node or site holds two shares of one', () => {
  assert.is(on.exposure.maxPerSite, 1)
  assert.is(on.exposure.maxPerNode, 1)
})

Maintenance.run()
