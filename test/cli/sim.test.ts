/**
 * `bioshard sim` as an operator and a CI script use it, on a stand-in run
 * loop passed to the command (it reports progress and returns a recorded
 * result) and stand-in scenarios: flags over a scenario's defaults, one-line
 * errors with exit 2, `--list`, the seed printed at start and in failures,
 * progress as lines off a terminal and as a bar on one, the files written,
 * and exit 1 when an invariant fails.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../../cli/main.ts'
import { COMMANDS } from '../../cli/commands.ts'
import type { CliIo } from '../../cli/io.ts'
import { createSimCommand, defaultThreads, type SimDeps } from '../../cli/commands/sim.ts'
import type { Progress, RunOptions } from '../../cli/commands/sim-runner.ts'
import { BioshardError } from '../../errors.ts'
import type { Scenario, SimResult } from '../../sim/types.ts'

/** The terminal's escape character (control sequences start with it). */
const ESC = String.fromCharCode(0x1b)
const FIXTURE = JSON.parse(readFileSync(new URL('../sim/fixtures/churn-result.json', import.meta.url), 'utf8')) as SimResult
const root = mkdtempSync(join(tmpdir(), 'bioshard-sim-cli-'))
let counter = 0
const fresh = (): string => join(root, `out-${++counter}`)

const SCENARIOS: Record<string, Scenario> = {
  baseline: {
    name: 'baseline',
    summary: 'a quiet network: every verification succeeds',
    invariant: 'nothing lost, every probe verified',
    defaults: { nodes: 8, sites: 4, templates: 6, hours: 3 },
    schedule: () => []
  },
  churn: {
    name: 'churn',
    summary: 'nodes crash and restart every hour',
    invariant: 'no template lost while failures <= n-t',
    defaults: { nodes: 12, templates: 24, hours: 12, coalitions: [['site-1', 'site-2']] },
    schedule: () => []
  }
}

const scenarios = {
  all: async () => SCENARIOS,
  load: async (name: string): Promise<Scenario> => {
    const s = SCENARIOS[name]
    if (s === undefined) throw new BioshardError('ERR_CONFIG', `unknown scenario '${name}' (bioshard sim --list)`)
    return s
  }
}

/** A stand-in run loop: reports each phase as the engine does and returns the recorded result with the run's parameters. */
function fakeRunner (change: (r: SimResult) => void = () => {}): { runner: SimDeps['runner'], calls: RunOptions[] } {
  const calls: RunOptions[] = []
  const runner: SimDeps['runner'] = async (options) => {
    calls.push(options)
    const report = (p: Progress): void => options.onProgress?.(p)
    const { templates, hours } = options.params
    report({ phase: 'start', done: 0, total: options.params.nodes, message: 'starting nodes' })
    report({ phase: 'start', done: options.params.nodes, total: options.params.nodes })
    for (let i = 0; i <= templates; i++) report({ phase: 'enroll', done: i, total: templates })
    for (let h = 0; h <= hours; h++) report({ phase: 'step', done: h, total: hours, message: h === 1 ? 'evil\x1b[2J\rline' : undefined })
    report({ phase: 'check', done: 1, total: 1 })
    const r = structuredClone(FIXTURE)
    r.scenario = options.scenario.name
    r.params = options.params
    change(r)
    return r
  }
  return { runner, calls }
}

function fakeIo (): { io: CliIo, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  const io: CliIo = { stdout: (t) => { out += t }, stderr: (t) => { err += t }, env: {}, stopSignal: new AbortController().signal }
  return { io, out: () => out, err: () => err }
}

interface Run { code: number, out: string, err: string, calls: RunOptions[] }

/** Run `bioshard sim …` through the CLI entry (so exit codes and error lines are the real ones). */
async function sim (argv: string[], deps: Partial<SimDeps> = {}, change?: (r: SimResult) => void): Promise<Run> {
  const fake = fakeRunner(change)
  const command = createSimCommand({ runner: fake.runner, scenarios, tty: false, now: () => 0, seed: () => 424242, ...deps })
  const f = fakeIo()
  const code = await runCli(['sim', ...argv], f.io, [command])
  return { code, out: f.out(), err: f.err(), calls: fake.calls }
}

const flags = suite('bioshard sim: flags')

flags('is registered, loaded on demand, with its help', async () => {
  const entry = COMMANDS.find((c) => c.name === 'sim')
  assert.ok(entry)
  const f = fakeIo()
  assert.is(await runCli(['sim', '--help'], f.io), 0)
  assert.match(f.out(), /Usage: bioshard sim --scenario <name\|file.json>/)
  assert.match(f.out(), /--transport <kind>\s+memory \| tcp/)
})

flags('flags override the scenario\'s defaults, which override the base', async () => {
  const out = fresh()
  const argv = ['--scenario', 'churn', '--nodes', '15', '--t', '2', '--hours', '4', '--seed', '7', '--transport', 'memory', '--probes', '0']
  const r = await sim([...argv, '--out', out])
  assert.is(r.code, 0, r.err)
  assert.is(r.calls.length, 1)
  assert.equal(r.calls[0].params, {
    nodes: 15, sites: 4, templates: 24, t: 2, n: 5, hours: 4, transport: 'memory', probesPerHour: 0, coalitions: [['site-1', 'site-2']], seed: 7, threads: 1
  })
  assert.is(r.calls[0].scenario.name, 'churn')
})

flags('without --threads, 100 nodes or more over tcp run in two threads, fewer or over memory in one', async () => {
  const threadsOf = async (argv: string[]): Promise<number | undefined> => {
    const r = await sim(['--scenario', 'baseline', '--seed', '1', '--out', fresh(), ...argv])
    assert.is(r.code, 0, r.err)
    return r.calls[0].params.threads
  }
  assert.is(await threadsOf(['--nodes', '200', '--transport', 'tcp']), Math.min(2, availableParallelism()))
  assert.is(await threadsOf(['--nodes', '99', '--transport', 'tcp']), 1)
  assert.is(await threadsOf(['--nodes', '200', '--transport', 'memory']), 1, 'memory channels do not cross threads')
  assert.is(await threadsOf(['--nodes', '200', '--transport', 'tcp', '--threads', '1']), 1, 'a flag wins')
  assert.is(await threadsOf(['--nodes', '8', '--transport', 'tcp', '--threads', '3']), 3)
  assert.is(defaultThreads({ nodes: 500, transport: 'tcp' }, 1), 1, 'never more threads than cores')
  assert.is(defaultThreads({ nodes: 500, transport: 'tcp' }, 16), 2)
})

flags('without --seed a fresh one is drawn and printed before the run', async () => {
  const r = await sim(['--scenario', 'baseline', '--out', fresh()])
  assert.is(r.code, 0, r.err)
  assert.is(r.calls[0].params.seed, 424242)
  assert.match(r.err.split('\n')[0], /^bioshard sim: baseline, seed 424242 \(replay with --seed 424242\)$/)
  assert.match(r.out, /seed 424242/)
})

flags('a bad flag or value is one line and exit 2, before anything runs', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--scenario', 'churn', '--nodes', 'many'], /--nodes must be an integer from 1 to 10000, got 'many'/],
    [['--scenario', 'churn', '--nodes', '0'], /--nodes must be an integer from 1/],
    [['--scenario', 'churn', '--seed=-1'], /--seed must be an integer from 0 to 4294967295/],
    [['--scenario', 'churn', '--seed', '4294967296'], /--seed must be an integer/],
    [['--scenario', 'churn', '--hours', '1.5'], /--hours must be an integer/],
    [['--scenario', 'churn', '--transport', 'udp'], /--transport must be one of memory, tcp, process, got 'udp'/],
    [['--scenario', 'churn', '--t', '6'], /t \(6\) must not exceed n \(5\)/],
    [['--scenario', 'churn', '--n', '13'], /n \(13\) must not exceed the number of nodes \(12\)/],
    [['--scenario', 'churn', '--sites', '40'], /sites \(40\) must not exceed/],
    [['--nodes', '5'], /--scenario <name\|file.json> is required/],
    [['--scenario', 'churn', '--bogus'], /Unknown option '--bogus'/],
    [['--scenario', 'churn', 'extra'], /Unexpected argument 'extra'/],
    [['--scenario', 'nosuch'], /ERR_CONFIG: unknown scenario 'nosuch'/]
  ]
  for (const [argv, message] of cases) {
    const r = await sim(argv)
    assert.is(r.code, 2, argv.join(' '))
    assert.match(r.err, message, argv.join(' '))
    assert.not.match(r.err, /\n\s+at /, 'no stack trace')
    assert.is(r.err.split('\n')[0].startsWith('bioshard sim: '), true)
    assert.is(r.calls.length, 0, 'nothing ran')
  }
})

const list = suite('bioshard sim --list')

list('describes every built-in scenario: name, summary, invariant, defaults', async () => {
  const r = await sim(['--list'])
  assert.is(r.code, 0)
  for (const [name, s] of Object.entries(SCENARIOS)) {
    assert.match(r.out, new RegExp(`^${name}$`, 'm'))
    assert.ok(r.out.includes(`  ${s.summary}\n`))
    assert.ok(r.out.includes(`  invariant: ${s.invariant}\n`))
  }
  assert.ok(r.out.includes('defaults:  nodes 8, sites 4, templates 6, hours 3'))
  assert.ok(r.out.includes('coalitions [["site-1","site-2"]]'))
  assert.ok(r.out.indexOf('baseline') < r.out.indexOf('churn'))
})

const progress = suite('bioshard sim: progress')

progress('off a terminal: plain lines per phase and per tenth, no control characters', async () => {
  const r = await sim(['--scenario', 'churn', '--templates', '100', '--seed', '1', '--out', fresh()])
  assert.is(r.code, 0, r.err)
  const lines = r.err.trim().split('\n')
  assert.ok(lines.includes('[0:00] start 0/12 (0 %) starting nodes'), r.err)
  assert.ok(lines.includes('[0:00] enroll 0/100 (0 %)'))
  assert.ok(lines.includes('[0:00] enroll 50/100 (50 %)'))
  assert.ok(lines.includes('[0:00] enroll 100/100 (100 %)'))
  assert.ok(lines.includes('[0:00] step 12/12 (100 %)'))
  assert.ok(lines.includes('[0:00] check 1/1 (100 %)'))
  assert.is(lines.filter((l) => l.includes(' enroll ')).length, 11, 'one line per tenth, not per template')
  assert.ok([...r.err].every((c) => c === '\n' || c.charCodeAt(0) >= 0x20), 'no control characters')
})

progress('on a terminal: one bar redrawn in place with phase, counts, elapsed and ETA', async () => {
  let clock = 0
  const r = await sim(['--scenario', 'churn', '--seed', '1', '--out', fresh()], { tty: true, now: () => (clock += 1000) })
  assert.is(r.code, 0, r.err)
  const redraw = `\\r${ESC}\\[2K`
  assert.ok(new RegExp(`${redraw}enroll [█░]{24} 12/24 {2}elapsed 0:\\d\\d {2}ETA 0:\\d\\d`).test(r.err), JSON.stringify(r.err))
  assert.ok(new RegExp(`${redraw}step {3}█{24} 12/12 {2}elapsed \\d:\\d\\d {2}ETA –`).test(r.err))
  assert.not.ok(r.err.includes(`${ESC}[2J`), 'a message cannot carry its own escape sequence')
  assert.match(r.err, /check .*\n$/, 'the bar ends its line')
})

const outcome = suite('bioshard sim: files, summary and exit code')

outcome('writes result.json, report.html and overview.svg and prints a one-screen summary', async () => {
  const out = fresh()
  const r = await sim(['--scenario', 'churn', '--seed', '9', '--out', out])
  assert.is(r.code, 0, r.err)
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as SimResult
  assert.is(result.params.seed, 9)
  assert.equal(result.counts, FIXTURE.counts)
  const html = readFileSync(join(out, 'report.html'), 'utf8')
  const flags = '--nodes 12 --sites 4 --templates 24 --t 3 --n 5 --hours 12 --probes 10 --transport tcp --seed 9'
  assert.ok(html.includes(`bioshard sim --scenario churn ${flags} --out ${out}`))
  assert.ok(readFileSync(join(out, 'overview.svg'), 'utf8').startsWith('<svg xmlns='))
  assert.match(r.out, /^scenario {4}churn, seed 9$/m)
  assert.match(r.out, /^verified {4}113 of 120 \(7 failed\)$/m)
  assert.match(r.out, /^ {2}holds {2}no template lost/m)
  assert.ok(r.out.includes(join(out, 'report.html')))
  assert.ok(r.out.split('\n').length < 25, 'one screen')
})

outcome('exits 1 when an invariant fails, naming it and the seed to replay', async () => {
  const out = fresh()
  const r = await sim(['--scenario', 'churn', '--seed', '31', '--out', out], {}, (res) => {
    res.invariants[0] = { ...res.invariants[0], holds: false, detail: '2 templates unrecoverable' }
  })
  assert.is(r.code, 1)
  assert.match(r.out, /^ {2}FAILS {2}no template lost while failures <= n-t: 2 templates unrecoverable$/m)
  assert.match(r.err, /bioshard sim: invariant fails: no template lost while failures <= n-t: 2 templates unrecoverable \(replay with --seed 31\)/)
  assert.match(r.err, /bioshard sim: replay: bioshard sim --scenario churn .* --seed 31/)
  assert.ok(existsSync(join(out, 'report.html')), 'the report is written for a failed run too')
})

outcome('a run that throws still names its seed', async () => {
  const runner: SimDeps['runner'] = async () => { throw new BioshardError('ERR_TIMEOUT', 'rosters did not converge') }
  const r = await sim(['--scenario', 'churn', '--seed', '77', '--out', fresh()], { runner })
  assert.is(r.code, 1)
  assert.match(r.err, /bioshard sim: run failed, seed 77 \(replay with --seed 77\)/)
  assert.match(r.err, /bioshard sim: ERR_TIMEOUT: rosters did not converge/)
})

outcome('a run stopped by a signal says so with its seed and exits 1', async () => {
  const stop = new AbortController()
  const runner: SimDeps['runner'] = async (options) => {
    stop.abort()
    throw options.signal?.reason ?? new Error('aborted')
  }
  const command = createSimCommand({ runner, scenarios, tty: false, now: () => 0 })
  let err = ''
  const io: CliIo = { stdout: () => {}, stderr: (t) => { err += t }, env: {}, stopSignal: stop.signal }
  const code = await runCli(['sim', '--scenario', 'baseline', '--seed', '5', '--out', fresh()], io, [command])
  assert.is(code, 1)
  assert.match(err, /bioshard sim: stopped, seed 5 \(replay with --seed 5\)/)
})

flags.run()
list.run()
progress.run()
outcome.run()
