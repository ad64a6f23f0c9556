/**
 * Turns a failure to bind a configured address (libp2p's listen addresses,
 * the metrics server) into a one-line configuration error naming the
 * address, instead of a stack trace: a port in use or an address this host
 * does not have is the operator's to fix, not a crash.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'

/** Errno codes of a bind that failed because of the address given (see bind(2)). */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not one of this host\'s',
  EACCES: 'binding it needs privileges (a port below 1024?)'
}

/** The errno code of `e` (or named in its message) or of any error in its cause chain or aggregate. */
function errnoOf (e: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof e !== 'object' || e === null) return undefined
  const code = (e as NodeJS.ErrnoException).code
  if (typeof code === 'string' && code in REASONS) return code
  // libp2p's UnsupportedListenAddressesError carries the transport's errors only as text.
  const named = /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(String((e as Error).message))
  if (named !== null) return named[1]
  const nested = [(e as { cause?: unknown }).cause, ...((e as { errors?: unknown[] }).errors ?? [])]
  for (const n of nested) {
    const found = errnoOf(n, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * A config error for a failed bind of `addrs` (what names the setting), or
 * undefined when `e` is not a bind failure.
 *
 * @example try { await host.start() } catch (e) { throw bindError(e, 'listen', addrs) ?? e }
 */
export function bindError (e: unknown, what: string, addrs: readonly string[]): BioshardError | undefined {
  const code = errnoOf(e)
  const unsupported = (e as Error | undefined)?.name === 'UnsupportedListenAddressesError'
  if (code === undefined && !unsupported) return undefined
  const reason = code !== undefined ? REASONS[code] : 'the port is in use or the address is not one this host has'
  return new BioshardError('ERR_CONFIG', `cannot listen on ${what} ${addrs.join(', ')}: ${reason}`, { cause: e })
}
