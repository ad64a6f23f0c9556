/**
 * `bioshard` command-line entry: finds the command, runs it with injected
 * stdio, and turns what it throws into an exit code scripts can rely on (a
 * bad command line or config 2, a refused operation 1), in this one place
 * for every command. Commands live one per module and are loaded on demand
 * (see commands.ts).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { EXIT, UsageError, type CliIo, type Command } from './io.ts'
import { BioshardError } from '../errors.ts'
import { COMMANDS } from './commands.ts'

// The package root is one level up from the sources, two from the compiled code in dist/.
const PKG_JSON = new URL(import.meta.url.endsWith('.js') ? '../../package.json' : '../package.json', import.meta.url)
const PKG = JSON.parse(readFileSync(PKG_JSON, 'utf8')) as { version: string }

function usage (commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: bioshard <command> [options]',
    '',
    'Threshold-shared biometric templates on a network of independent sites.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also after any command)',
    '  -v, --version  print the version',
    ''
  ].join('\n')
}

/**
 * An error from the operating system about a path or address the command
 * line or config named (EISDIR, EACCES, EADDRINUSE…): the user's to fix, so
 * one line and exit 2, never a stack trace.
 */
function isSystemError (e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string' && typeof (e as NodeJS.ErrnoException).code === 'string'
}

/** The first line of a message (some errors carry a trace or a list in theirs). */
function oneLine (message: string): string {
  return message.split('\n', 1)[0] ?? message
}

/**
 * Run the CLI with injected IO; returns the exit code.
 *
 * @example await runCli(['--version'], io)
 */
export async function runCli (argv: string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout(usage(commands))
    return first === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (first === '-v' || first === '--version') {
    io.stdout(`${PKG.version}\n`)
    return EXIT.OK
  }
  const command = commands.find((c) => c.name === first)
  if (command === undefined) {
    io.stderr(`bioshard: unknown command '${first}'\n\n${usage(commands)}`)
    return EXIT.USAGE
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`bioshard ${command.name}: ${e.message}\n(see bioshard ${command.name} --help)\n`)
      return EXIT.USAGE
    }
    if (e instanceof BioshardError) {
      io.stderr(`bioshard ${command.name}: ${e.code}: ${e.message}\n`)
      return e.code === 'ERR_CONFIG' ? EXIT.USAGE : EXIT.FAILURE
    }
    if (e instanceof TypeError || e instanceof RangeError || isSystemError(e)) {
      io.stderr(`bioshard ${command.name}: ${oneLine(e.message)}\n`)
      return EXIT.USAGE
    }
    throw e
  }
}

/** Process-level IO: real stdio, signals turned into an AbortSignal. */
export function processIo (): CliIo {
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    stdout: (t) => { process.stdout.write(t) },
    stderr: (t) => { process.stderr.write(t) },
    env: process.env,
    stopSignal: stop.signal
  }
}

/** Run as a process: real argv and stdio; exits with the command's code once it returns. */
export async function main (): Promise<void> {
  const code = await runCli(process.argv.slice(2), processIo())
  // A command that returned has closed what it opened; a stray timer in a
  // dependency must not keep the process alive past it.
  process.exitCode = code
  setImmediate(() => process.exit(code))
}

if (import.meta.main) await main()
