/**
 * Waits a simulated holder uses to say nothing: a request it drops or
 * stalls is never answered, and ends only when the holder gives it up (its
 * request deadline, or the node stopping). Shared by the Byzantine handler
 * tables (sim/faults.ts) and the link shaping (sim/injector.ts).
 *
 * @module
 */
import { BioshardError } from '../errors.ts'

/** The error a silenced request ends with: by then its caller has given up, so nothing reaches it. */
function givenUp (): BioshardError {
  return new BioshardError('ERR_TIMEOUT', 'the request was never answered')
}

/**
 * Settle after `ms` (never, for an infinite `ms`), or reject as soon as any of `signals` aborts.
 *
 * @throws {BioshardError} ERR_TIMEOUT when a signal aborts first
 */
export async function pause (ms: number, signals: readonly AbortSignal[]): Promise<void> {
  const signal = AbortSignal.any([...signals])
  if (signal.aborted) throw givenUp()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { signal.removeEventListener('abort', aborted); resolve() }
    const aborted = (): void => { clearTimeout(timer); reject(givenUp()) }
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined
    signal.addEventListener('abort', aborted, { once: true })
  })
}

/**
 * Never answer: reject when any of `signals` aborts.
 *
 * @throws {BioshardError} ERR_TIMEOUT, always, once a signal aborts
 */
export async function silence (signals: readonly AbortSignal[]): Promise<never> {
  await pause(Number.POSITIVE_INFINITY, signals)
  throw givenUp()
}

/**
 * `work`, or a rejection as soon as `signal` aborts (the work itself runs on, unanswered).
 *
 * @throws {BioshardError} ERR_TIMEOUT when `signal` aborts first
 */
export async function unlessAborted<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw givenUp()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(givenUp()) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
