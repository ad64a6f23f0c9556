/**
 * Assertions shared by the test suites: what code a call failed with, and
 * that an argument error names its argument.
 */
import * as assert from 'uvu/assert'

function describe (e: unknown): string {
  const code = (e as { code?: unknown })?.code
  return typeof code === 'string' ? code : (e as Error)?.name ?? String(e)
}

/** The `code` of what `f` threw (or the error's name when it has none); `'no error'` when it returned. */
export function codeOf (f: () => unknown): string {
  try { f() } catch (e) { return describe(e) }
  return 'no error'
}

/** As {@link codeOf}, for a promise or an async function. */
export async function codeOfAsync (p: Promise<unknown> | (() => unknown)): Promise<string> {
  try { await (typeof p === 'function' ? p() : p) } catch (e) { return describe(e) }
  return 'no error'
}

function checkArgError (e: unknown, cls: typeof TypeError | typeof RangeError, name: string): void {
  assert.instance(e, cls, `expected ${cls.name} for ${name}, got ${String(e)}`)
  assert.ok((e as Error).message.includes(name), `message "${(e as Error).message}" should name ${name}`)
}

/** `fn` throws a `cls` whose message names the argument `name`. */
export function expectArgError (fn: () => unknown, cls: typeof TypeError | typeof RangeError, name: string): void {
  try { fn() } catch (e) { checkArgError(e, cls, name); return }
  assert.unreachable(`expected ${cls.name} naming ${name}`)
}

/** As {@link expectArgError}, for async functions. */
export async function expectArgErrorAsync (fn: () => unknown, cls: typeof TypeError | typeof RangeError, name: string): Promise<void> {
  try { await fn() } catch (e) { checkArgError(e, cls, name); return }
  assert.unreachable(`expected ${cls.name} naming ${name}`)
}
