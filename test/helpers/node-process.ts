/**
 * Test helper: run `bioshard node start` as a real child process through the
 * CLI entry (`bin/bioshard.js`), wait for its `ready` line, and read what it
 * printed (peer id, listen addresses, metrics URL). Every child is killed if
 * the test process exits first, so a failed test never leaves a node behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** How long a started node may take to say ready: it only ends a start that hangs, so a busy machine gets all of it. */
const READY_TIMEOUT_MS = 120_000

/** The CLI entry point, run with this process's Node. */
export const BIN = fileURLToPath(new URL('../../bin/bioshard.js', import.meta.url))

/** How a child ended. */
export interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** A running `bioshard node start` child. */
export interface NodeProcess {
  child: ChildProcess
  /** Peer id from the `peer` line. */
  peer: string
  /** Multiaddrs (with /p2p) from the `listening` lines. */
  addrs: string[]
  /** URL from the `metrics` line, when a metrics server runs. */
  metricsUrl?: string
  /** Everything written to stdout / stderr so far. */
  stdout: () => string
  stderr: () => string
  /** Resolves when the process has exited. */
  exited: Promise<Exit>
  /** Send `signal` and wait (bounded) for the exit; SIGKILLs if it does not come. */
  kill: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<Exit>
}

export interface StartOptions {
  /** Extra environment (BIOSHARD_* of the parent are never inherited). */
  env?: NodeJS.ProcessEnv
  /** How long to wait for `ready`. @default 20000 */
  readyTimeoutMs?: number
  /**
   * A command that runs the node in its place (it must exec its trailing
   * arguments, keeping the pid), e.g. `['prlimit', '--fsize=262144', '--']`.
   */
  prefix?: string[]
}

const live = new Set<ChildProcess>()
process.on('exit', () => { for (const c of live) c.kill('SIGKILL') })

function childEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BIOSHARD_')) env[k] = v
  return { ...env, FORCE_COLOR: '0', ...extra }
}

/**
 * Start `bioshard node start --dir <dir> ...args` and wait for `ready`.
 *
 * @throws {Error} with the child's stderr when it exits or stays silent instead
 * @example const node = await startNodeProcess(dir, ['--metrics', '127.0.0.1:0'])
 */
export async function startNodeProcess (dir: string, args: string[] = [], options: StartOptions = {}): Promise<NodeProcess> {
  const argv = [process.execPath, BIN, 'node', 'start', '--dir', dir, ...args]
  const [command, ...rest] = [...(options.prefix ?? []), ...argv]
  const child = spawn(command, rest, { env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  child.stdout.on('data', (d: string) => { out += d })
  child.stderr.on('data', (d: string) => { err += d })
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); resolve({ code, signal }) })
  })

  const kill = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> => {
    if (child.exitCode !== null || child.signalCode !== null) return await exited
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    try { return await exited } finally { clearTimeout(timer) }
  }

  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { done(false) }, timeoutMs)
    const check = (): void => { if (/^ready$/m.test(out)) done(true) }
    function done (ok: boolean): void {
      clearTimeout(timer)
      child.stdout.off('data', check)
      resolve(ok)
    }
    child.stdout.on('data', check)
    void exited.then(() => { done(/^ready$/m.test(out)) })
  })
  if (!ready) {
    const how = await kill('SIGKILL')
    throw new Error(`bioshard node start did not become ready (exit ${how.code ?? how.signal}):\n${err}${out}`)
  }
  const peer = /^peer (\S+)$/m.exec(out)?.[1]
  if (peer === undefined) throw new Error(`no peer line in:\n${out}`)
  const metricsUrl = /^metrics (\S+)$/m.exec(out)?.[1]
  return {
    child,
    peer,
    addrs: [...out.matchAll(/^listening (\S+)$/gm)].map((m) => m[1]),
    ...(metricsUrl !== undefined ? { metricsUrl } : {}),
    stdout: () => out,
    stderr: () => err,
    exited,
    kill
  }
}
