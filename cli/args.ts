/**
 * Argument parsing shared by the CLI commands: `node:util` parseArgs in
 * strict mode (an unknown flag is an error, never ignored), with parse
 * failures turned into usage errors so every command exits 2 on a bad
 * command line, and a `--help` flag on every command.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './io.ts'

type Options = NonNullable<ParseArgsConfig['options']>

/** Parsed option values, by option name. */
export type Values = Record<string, string | boolean | string[] | undefined>

/** Parse `argv` strictly against `options` (a `help` flag is always added); `positionals: false` refuses bare words. */
export function parse<O extends Options> (
  argv: string[],
  options: O,
  settings: { positionals?: boolean } = {}
): { values: Values, positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: settings.positionals ?? true,
      strict: true
    })
    return { values: values as Values, positionals }
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

/** A required string option, or a usage error naming it. */
export function required (values: Record<string, unknown>, name: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`)
  return v
}

/** A string list option (repeatable flag), empty when absent. */
export function list (values: Record<string, unknown>, name: string): string[] {
  const v = values[name]
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []
}

/** A positive number option with a default. */
export function positive (values: Record<string, unknown>, name: string, fallback: number): number {
  const v = values[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`)
  return n
}
