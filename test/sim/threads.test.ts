/**
 * The simulator's nodes spread over worker threads (`threads` > 1): the same
 * seed gives the same counts in one thread and in two, for a run without
 * faults and for one where a holder crashes, the tenant erases while it is
 * down and it restarts (the measures and the erasure check read the real
 * stores in the host threads; the restarted node must reconcile for the
 * erasure to be complete). A partition decided on the main thread is
 * enforced by nodes in host threads; a host thread killed mid-run fails the
 * run with a typed error naming it and the seed; no thread outlives a run.
 * `bioshard sim --threads` parses the flag and refuses memory channels.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../../cli/main.ts'
import { createSimCommand } from '../../cli/commands/sim.ts'
import type { RunOptions } from '../../cli/commands/sim-runner.ts'
import { runSimulation } from '../../sim/engine.ts'
import { SCENARIOS, paramsFor } from '../../sim/scenarios.ts'
import { ThreadedFleet } from '../../sim/fleet-threads.ts'
import { HostThreadError } from '../../sim/host-thread.ts'
import { FaultInjector } from '../../sim/injector.ts'
import { Rng } from '../../sim/rng.ts'
import type { NodeFleet } from '../../sim/fleet.ts'
import type { Scenario, SimParams, SimResult } from '../../sim/types.ts'
import { deterministic } from '../helpers/sim-determinism.ts'

/** Run `scenario` and keep the fleet it ran on, to check its threads afterwards. */
async function run (scenario: Scenario, params: SimParams): Promise<{ result: SimResult, fleet: NodeFleet | undefined }> {
  let fleet: NodeFleet | undefined
  const result = await runSimulation({ scenario, params, onNetwork: (net) => { fleet = net } })
  return { result, fleet }
}

const stopped = (fleet: NodeFleet | undefined): boolean => fleet instanceof ThreadedFleet && fleet.runningThreads === 0

/** Node 1 crashes; the tenant erases half the templates while it is down; it restarts an hour later. */
const crashErase: Scenario = {
  name: 'crash-erase',
  summary: 'a holder crashes, templates are erased while it is down, it restarts',
  invariant: 'every erasure complete once the holder is back',
  defaults: { nodes: 6, sites: 6, templates: 8, t: 3, n: 5, hours: 3, probesPerHour: 4, coalitions: [['site-1', 'site-2']] },
  schedule: () => [
    { at: 0, kind: 'crash', node: 1 },
    { at: 1, kind: 'erase', fraction: 0.5 },
    { at: 2, kind: 'restart', node: 1 }
  ]
}

// One comparison, the demanding one: a crash, erasures and a restart read back from the host threads' stores.
const Same = suite('threads: the same seed gives the same counts in one thread and in two')

Same('a crash, erasures while the holder is down, and its restart', async () => {
  const params = paramsFor(crashErase, { seed: 16, transport: 'tcp' })
  const one = await run(crashErase, params)
  const two = await run(crashErase, { ...params, threads: 2 })
  const c = two.result.counts
  assert.is(c.erased, 4)
  assert.is(c.eraseIncomplete, 0, 'the restarted holder in its host thread reconciled away the erased shares')
  assert.equal(two.result.steps.map((s) => s.nodesUp), [5, 5, 6])
  for (const check of two.result.invariants) assert.ok(check.holds, `${check.name}: ${check.detail}`)
  assert.equal(deterministic(two.result), deterministic(one.result))
  assert.ok(stopped(two.fleet), 'no thread runs after the run')
})

Same.run()

const Faults = suite('threads: faults decided on the main thread, failures of a thread')

Faults('a partition applied from the main thread is enforced by nodes in both host threads', async () => {
  const fleet = await ThreadedFleet.start({ nodes: 4, threads: 2, seed: 17 })
  try {
    await fleet.converged()
    const injector = new FaultInjector(fleet, { rng: new Rng(17) })
    const peer = (i: number): string => fleet.nodes[i].cert.body.peer
    const side = [0, 2]
    await injector.apply({ at: 0, kind: 'partition', groups: [[0, 2], [1, 3]] })
    for (let i = 0; i < 4; i++) {
      const peers = await fleet.nodes[i].connectedPeers()
      const across = [0, 1, 2, 3].filter((j) => side.includes(j) !== side.includes(i)).map(peer)
      assert.ok(!peers.some((p) => across.includes(p)), `node ${i} (thread ${i % 2}) keeps no connection across the partition`)
    }
    assert.not.ok(injector.reachableFromClient(1))
    assert.ok(injector.reachableFromClient(2))
    // Gossip goes on meanwhile: no connection across is opened again.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const again = await fleet.nodes[1].connectedPeers()
    assert.ok(!again.includes(peer(0)) && !again.includes(peer(2)))
    await injector.apply({ at: 1, kind: 'heal' })
    assert.ok(injector.reachableFromClient(1))
  } finally {
    await fleet.stop()
  }
  assert.is(fleet.runningThreads, 0)
})

Faults('a host thread killed mid-run fails the run with a typed error naming the thread and the seed', async () => {
  const given = { seed: 18, nodes: 4, sites: 4, templates: 3, t: 2, n: 3, hours: 20, probesPerHour: 2, transport: 'tcp' as const, threads: 2 }
  const params = paramsFor(SCENARIOS.baseline, given)
  let fleet: NodeFleet | undefined
  const onProgress = (p: { phase: string, done: number }): void => {
    if (p.phase === 'step' && p.done === 1 && fleet instanceof ThreadedFleet) void fleet.killThread(1)
  }
  try {
    await runSimulation({ scenario: SCENARIOS.baseline, params, onProgress, onNetwork: (net) => { fleet = net } })
    assert.unreachable('the run went on without a thread')
  } catch (e) {
    assert.instance(e, HostThreadError)
    const err = e as HostThreadError
    assert.is(err.thread, 1)
    assert.is(err.seed, 18)
    assert.match(err.message, /thread 1 .*seed 18/)
  }
  assert.ok(stopped(fleet), 'the other thread was stopped too')
})

Faults('more than one thread needs tcp', async () => {
  const params = paramsFor(SCENARIOS.baseline, { seed: 19, nodes: 2, sites: 2, templates: 1, t: 2, n: 2, hours: 1, transport: 'memory', threads: 2 })
  try {
    await runSimulation({ scenario: SCENARIOS.baseline, params })
    assert.unreachable('ran')
  } catch (e) {
    assert.is((e as { code?: string }).code, 'ERR_CONFIG')
  }
})

Faults.run()

const Cli = suite('bioshard sim --threads')

/** `bioshard sim …` on a stand-in run loop that returns a recorded result with the run's parameters. */
async function cli (argv: string[]): Promise<{ code: number, out: string, err: string, calls: RunOptions[] }> {
  const recorded = JSON.parse(readFileSync(new URL('fixtures/churn-result.json', import.meta.url), 'utf8')) as SimResult
  const calls: RunOptions[] = []
  const scenarios = { all: async () => SCENARIOS, load: async () => SCENARIOS.baseline }
  const command = createSimCommand({ runner: async (o) => { calls.push(o); return { ...recorded, params: o.params } }, scenarios, tty: false, seed: () => 1 })
  let out = ''
  let err = ''
  const io = { stdout: (t: string) => { out += t }, stderr: (t: string) => { err += t }, env: {}, stopSignal: new AbortController().signal }
  const code = await runCli(['sim', '--scenario', 'baseline', '--out', mkdtempSync(join(tmpdir(), 'bioshard-threads-')), ...argv], io, [command])
  return { code, out, err, calls }
}

Cli('--threads reaches the run and the printed parameters', async () => {
  const r = await cli(['--threads', '2', '--transport', 'tcp'])
  assert.is(r.code, 0, r.err)
  assert.is(r.calls[0].params.threads, 2)
  assert.match(r.out, /tcp, threads 2;/)
})

Cli('--threads above 1 with memory channels, or out of range, is a one-line usage error', async () => {
  for (const argv of [['--threads', '2', '--transport', 'memory'], ['--threads', '0'], ['--threads', 'two']]) {
    const r = await cli(argv)
    assert.is(r.code, 2, argv.join(' '))
    assert.is(r.calls.length, 0)
    assert.match(r.err.split('\n')[0], /^bioshard sim: --threads/, r.err)
  }
})

Cli.run()
