/**
 * Scenario files: a recorded fault schedule replayed as a scenario. The file
 * is JSON, `{ name, summary, invariant, defaults, faults }`, with `faults` a
 * list of FaultEvent (sim/types.ts). Every field is checked here; a bad file
 * is one ERR_CONFIG naming the field, never a crash mid-run.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { BioshardError } from '../errors.ts'
import type { Behaviour, FaultEvent, Scenario, SimParams } from './types.ts'

/** Largest scenario file read: a recorded schedule of a long, large run fits many times over. */
export const MAX_SCENARIO_BYTES = 16 * 1024 * 1024
/** Integer parameters a file's defaults may set, with their bounds. */
const INT_DEFAULTS: Record<string, [number, number]> = {
  nodes: [1, 100_000],
  sites: [1, 100_000],
  templates: [0, 10_000_000],
  t: [2, 255],
  n: [2, 255],
  hours: [1, 1_000_000],
  probesPerHour: [0, 1_000_000],
  maintainEvery: [0, 1_000_000]
}
const BEHAVIOURS: readonly Behaviour[] = ['corrupt', 'refuse', 'stall', 'wrong-template']
/** Fields of each fault kind besides `at` and `kind`. */
const FIELDS: Record<FaultEvent['kind'], readonly string[]> = {
  crash: ['node'],
  restart: ['node'],
  depart: ['node'],
  partition: ['groups', 'oneWay'],
  isolate: ['node'],
  heal: [],
  link: ['node', 'latencyMs', 'jitterMs', 'loss'],
  clog: ['node'],
  unclog: ['node'],
  skew: ['node', 'ms'],
  byzantine: ['node', 'behaviour'],
  erase: ['fraction']
}

const bad = (what: string): BioshardError => new BioshardError('ERR_CONFIG', `scenario file: ${what}`)
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

function int (v: unknown, lo: number, hi: number, what: string): number {
  if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw bad(`${what} must be an integer from ${lo} to ${hi}`)
  return v as number
}

function num (v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw bad(`${what} must be a number from ${lo} to ${hi}`)
  return v
}

function text (v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 1000 || /[\r\n]/.test(v)) throw bad(`${what} must be one line of text`)
  return v
}

function checkGroups (v: unknown, what: string): number[][] {
  if (!Array.isArray(v) || v.length < 2 || !v.every((g) => Array.isArray(g))) throw bad(`${what} must be a list of at least two node lists`)
  return (v as unknown[][]).map((g, i) => g.map((n, j) => int(n, 0, 99_999, `${what}[${i}][${j}]`)))
}

/** Check one field of a fault event; returns its value. */
function checkField (e: Record<string, unknown>, field: string, what: string): unknown {
  const v = e[field]
  const w = `${what}.${field}`
  switch (field) {
    case 'node': return int(v, 0, 99_999, w)
    case 'groups': return checkGroups(v, w)
    case 'oneWay': if (v !== undefined && typeof v !== 'boolean') throw bad(`${w} must be true or false`); return v
    case 'latencyMs': case 'jitterMs': return int(v, 0, 3_600_000, w)
    case 'loss': case 'fraction': return num(v, 0, 1, w)
    case 'ms': return int(v, -86_400_000, 86_400_000, w)
    case 'behaviour': if (!BEHAVIOURS.includes(v as Behaviour)) throw bad(`${w} must be one of ${BEHAVIOURS.join(', ')}`); return v
    default: throw bad(`${w} is not a known field`)
  }
}

/** Check one fault event. */
function checkFault (v: unknown, i: number): FaultEvent {
  const what = `faults[${i}]`
  if (!isObject(v)) throw bad(`${what} must be an object`)
  const kind = v.kind
  if (typeof kind !== 'string' || !Object.hasOwn(FIELDS, kind)) throw bad(`${what}.kind must be one of ${Object.keys(FIELDS).join(', ')}`)
  const fields = FIELDS[kind as FaultEvent['kind']]
  for (const k of Object.keys(v)) if (k !== 'at' && k !== 'kind' && !fields.includes(k)) throw bad(`${what}.${k} is not a field of '${kind}'`)
  const out: Record<string, unknown> = { at: int(v.at, 0, 1_000_000, `${what}.at`), kind }
  for (const f of fields) {
    const value = checkField(v, f, what)
    if (value !== undefined) out[f] = value
  }
  return out as FaultEvent
}

/** Check a file's defaults. */
function checkDefaults (v: unknown): Scenario['defaults'] {
  if (v === undefined) return {}
  if (!isObject(v)) throw bad('defaults must be an object')
  const out: Record<string, unknown> = {}
  for (const [k, value] of Object.entries(v)) {
    if (k === 'coalitions') {
      if (!Array.isArray(value) || !value.every((c) => Array.isArray(c) && c.length > 0 && c.every((s) => typeof s === 'string' && /^[\w.-]{1,64}$/.test(s)))) {
        throw bad('defaults.coalitions must be a list of non-empty lists of site names')
      }
      out[k] = value
    } else if (Object.hasOwn(INT_DEFAULTS, k)) {
      out[k] = int(value, INT_DEFAULTS[k][0], INT_DEFAULTS[k][1], `defaults.${k}`)
    } else {
      throw bad(`defaults.${k} is not a parameter a scenario sets`)
    }
  }
  return out as Scenario['defaults']
}

/** A replayed schedule, checked against the run's node count when the run starts. */
function replay (faults: readonly FaultEvent[], source: string): Scenario['schedule'] {
  return (params: SimParams) => {
    for (const e of faults) {
      const named = 'node' in e ? [e.node] : e.kind === 'partition' ? e.groups.flat() : []
      if (named.some((n) => n >= params.nodes)) throw bad(`${source} names node ${Math.max(...named)} but the run has ${params.nodes} nodes`)
    }
    return faults.map((e) => structuredClone(e))
  }
}

/**
 * Parse and check a scenario file's JSON text.
 *
 * @param source - the file's name, for messages
 * @throws {BioshardError} ERR_CONFIG naming the first bad field
 */
export function parseScenario (json: string, source: string): Scenario {
  let v: unknown
  try { v = JSON.parse(json) } catch (e) { throw bad(`${source} is not JSON (${(e as Error).message.split('\n')[0]})`) }
  if (!isObject(v)) throw bad(`${source} must hold an object`)
  for (const k of Object.keys(v)) if (!['name', 'summary', 'invariant', 'defaults', 'faults'].includes(k)) throw bad(`${k} is not a field of a scenario`)
  if (!Array.isArray(v.faults)) throw bad('faults must be a list of fault events')
  const faults = v.faults.map(checkFault)
  return {
    name: text(v.name, 'name'),
    summary: text(v.summary, 'summary'),
    invariant: text(v.invariant, 'invariant'),
    defaults: checkDefaults(v.defaults),
    schedule: replay(faults, source)
  }
}

/**
 * Read a scenario file.
 *
 * @param known - the built-in names, suggested when the file does not exist
 * @throws {BioshardError} ERR_CONFIG for a missing, oversized or invalid file
 */
export function readScenarioFile (path: string, known: readonly string[] = []): Scenario {
  let json: string
  try {
    json = readFileSync(path, 'utf8')
  } catch {
    throw new BioshardError('ERR_CONFIG', `no built-in scenario or readable file '${path}'${known.length > 0 ? ` (built-in: ${known.join(', ')})` : ''}`)
  }
  if (json.length > MAX_SCENARIO_BYTES) throw bad(`${path} is larger than ${MAX_SCENARIO_BYTES} bytes`)
  return parseScenario(json, path)
}

/**
 * The scenario file that replays a run's schedule.
 *
 * @example writeFileSync('scenario.json', JSON.stringify(scenarioFile(scenario, result.faults, result.params)))
 */
export function scenarioFile (scenario: Pick<Scenario, 'name' | 'summary' | 'invariant'>, faults: readonly FaultEvent[], params: SimParams): object {
  const { seed: _seed, transport: _transport, threads: _threads, ...defaults } = params
  return { name: scenario.name, summary: scenario.summary, invariant: scenario.invariant, defaults, faults }
}
