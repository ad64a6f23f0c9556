/**
 * Where `bioshard sim` gets its run loop (sim/engine.ts) and its scenarios
 * (sim/scenarios.ts): both imported on first use, so `--help` and a bad
 * command line answer without loading the simulator, and the command takes
 * them as a dependency a test can replace. The types below are the
 * engine's contract as the command uses it.
 *
 * @module
 */
import type { Scenario, SimParams, SimResult } from '../../sim/types.ts'

/** A run's progress as the engine reports it. */
export interface Progress { phase: 'start' | 'enroll' | 'step' | 'check', done: number, total: number, message?: string }

/** What one run is given. */
export interface RunOptions {
  scenario: Scenario
  params: SimParams
  /** Working directory for the nodes' data (default: the engine's own temporary directory). */
  dir?: string
  onProgress?: (p: Progress) => void
  signal?: AbortSignal
}

/** Runs one simulation to its result. */
export type Runner = (options: RunOptions) => Promise<SimResult>

/** The built-in scenarios and how a `--scenario` argument (a name or a JSON file) becomes one. */
export interface ScenarioSource {
  /** Every built-in scenario by name, in the order `--list` prints them. */
  all: () => Promise<Record<string, Scenario>>
  /** @throws {BioshardError} ERR_CONFIG for an unknown name or a bad file */
  load: (nameOrPath: string) => Promise<Scenario>
}

// Sources run as .ts, the built package as .js next to them.
const EXT = import.meta.url.endsWith('.js') ? '.js' : '.ts'
const ENGINE = new URL(`../../sim/engine${EXT}`, import.meta.url).href
const SCENARIOS = new URL(`../../sim/scenarios${EXT}`, import.meta.url).href

/** The real run loop, sim/engine.ts `runSimulation`. */
export const runSimulation: Runner = async (options) => {
  const engine = await import(ENGINE) as { runSimulation: Runner }
  return await engine.runSimulation(options)
}

/** The real scenarios, sim/scenarios.ts `SCENARIOS` and `loadScenario`. */
export const scenarioSource: ScenarioSource = {
  all: async () => (await import(SCENARIOS) as { SCENARIOS: Record<string, Scenario> }).SCENARIOS,
  load: async (nameOrPath) => (await import(SCENARIOS) as { loadScenario: (s: string) => Scenario }).loadScenario(nameOrPath)
}
