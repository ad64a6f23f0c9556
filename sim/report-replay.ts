/**
 * The command line that replays a run: the scenario and every parameter a
 * flag can set, with the seed, so the same counts come back. Written into
 * the report's header and printed by `bioshard sim` when an invariant fails.
 *
 * @module
 */
import type { SimResult } from './types.ts'

/** A word for a POSIX shell: as is when it holds only safe characters, otherwise single-quoted. */
export function shellWord (word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/**
 * The `bioshard sim` command that replays `result`.
 *
 * @param result - the run's result
 * @param where - the scenario as given on the command line (a file path replays the file; default: the result's scenario name)
 *   and the output directory (default: none, so the command's own default)
 * @returns one line, shell-quoted
 * @example replayCommand(result) // 'bioshard sim --scenario churn --nodes 12 … --seed 42'
 */
export function replayCommand (result: SimResult, where: { scenario?: string, out?: string } = {}): string {
  const p = result.params
  const flags: Array<[string, unknown]> = [
    ['scenario', where.scenario ?? result.scenario],
    ['nodes', p.nodes], ['sites', p.sites], ['templates', p.templates], ['t', p.t], ['n', p.n], ['hours', p.hours],
    ['probes', p.probesPerHour], ['transport', p.transport], ['seed', p.seed]
  ]
  if ((p.maintainEvery ?? 0) > 0) flags.splice(flags.length - 1, 0, ['maintain', p.maintainEvery])
  if ((p.threads ?? 1) > 1) flags.splice(flags.length - 1, 0, ['threads', p.threads])
  if (where.out !== undefined) flags.push(['out', where.out])
  return ['bioshard sim', ...flags.map(([name, value]) => `--${name} ${shellWord(String(value))}`)].join(' ')
}
