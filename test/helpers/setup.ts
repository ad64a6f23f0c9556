/**
 * Shared setup for a uvu suite that fails once, with its cause. uvu swallows
 * an error thrown by a `before` hook (the suite reports 0 passed and no
 * reason), and a setup done in a first test leaves later tests failing on
 * whatever it did not make (`templateId must be a Uint8Array`). Here the setup
 * runs in `before`, its error is kept, a first test named after it rethrows
 * that error, and every later test of the suite fails with
 * `setup failed: <cause>` before its body runs.
 */
import type { Test } from 'uvu'

/** The message of anything thrown, on one line. */
function causeOf (err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return message.split('\n')[0]
}

/**
 * Runs `make` before the tests of `s` and returns a getter for its result.
 * Call it right after `suite()`, before any test is added, so that its test
 * (`setup: <name>`) is the suite's first; the getter throws
 * `setup failed: <cause>` when `make` threw.
 */
export function sharedSetup<T> (s: Test, name: string, make: () => Promise<T>): () => T {
  const title = `setup: ${name}`
  let outcome: { ok: true, value: T } | { ok: false, error: unknown } | undefined
  s.before(async () => {
    try {
      outcome = { ok: true, value: await make() }
    } catch (error) {
      outcome = { ok: false, error }
    }
  })
  s.before.each((context) => {
    if (outcome?.ok === false && context.__test__ !== title) throw new Error(`setup failed: ${causeOf(outcome.error)}`)
  })
  s(title, () => {
    if (outcome?.ok === false) throw outcome.error
  })
  return () => {
    if (outcome === undefined) throw new Error(`setup not run yet: ${name}`)
    if (!outcome.ok) throw new Error(`setup failed: ${causeOf(outcome.error)}`)
    return outcome.value
  }
}
