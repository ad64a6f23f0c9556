/**
 * What a CLI command needs from the outside world, injected so that commands
 * run in tests without a terminal.
 *
 * @module
 */

/** Injected stdio and environment of one CLI invocation. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); long-running commands await it. */
  stopSignal: AbortSignal
}

/** One `bioshard <name>` command (or command group). */
export interface Command {
  name: string
  summary: string
  /** Returns the process exit code. */
  run: (argv: string[], io: CliIo) => Promise<number>
}

/** Exit codes that scripts can rely on. */
export const EXIT = {
  OK: 0,
  FAILURE: 1, // the operation ran and failed (e.g. audit chain broken, a decision refused)
  USAGE: 2, // bad command line or config
  UNAVAILABLE: 3 // the network or a needed peer could not be reached
} as const

/** Thrown by commands for a bad command line; printed with the command's help. */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
