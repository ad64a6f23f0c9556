/**
 * Where `bioshard sim` gets its run loop (sim/engine.ts) and its scenarios
 * (sim/scenarios.ts): both imported on first use, so `--help` and a bad
 * command line answer without loading the simulator, and the command takes
 * them as a dependency a test can replace. The types below are the
 * engine's contract as the command uses it.
 *
 * @module
 */
import type { Scenario, SimResult } from '../../sim/types.ts'
import type { Progress, RunOptions } from '../../sim/engine.ts'

export type { Progress, RunOptions }

/** Runs one simulation to its result. */
export type Runner = (options: RunOptions) => Promise<SimResult>

/** The built-in scenarios and how a `--scenario` argument (a name or a JSON file) becomes one. */
export interface ScenarioSource {
  /** Every built-in scenario by name, in the order `--list` prints them. */
  all: () => Promise<Record<string, Scenario>>
  /** @throws {BioshardError} ERR_CONFIG for an unknown name or a bad file */
  load: (nameOrPath: string) => Promise<Scenario>
}

/** The real run loop, sim/engine.ts `runSimulation`. */
export const runSimulation: Runner = async (options) => await (await import('../../sim/engine.ts')).runSimulation(options)

/** The real scenarios, sim/scenarios.ts `SCENARIOS` and `loadScenario`. */
export const scenarioSource: ScenarioSource = {
  all: async () => (await import('../../sim/scenarios.ts')).SCENARIOS,
  load: async (nameOrPath) => (await import('../../sim/scenarios.ts')).loadScenario(nameOrPath)
}
