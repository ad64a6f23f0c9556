/**
 * What a fuzz target is and how one call is judged. A target names the
 * function under test and the refusals it may give; every input must be
 * either accepted (and then pass the target's consistency check) or refused
 * with one of those typed errors, within a time budget. Anything else (an
 * untyped exception, a code the target does not list, a failed consistency
 * check, a call over budget) is a finding.
 *
 * @module
 */
import type fc from 'fast-check'
import { BioshardError } from '../../errors.ts'

/** A refusal a target may give: a stable code, or an argument error class the function documents. */
export type Refusal = string

/** One decoder or validator under fuzz. */
export interface Target {
  /** Short name (`--only`). */
  name: string
  /** The function(s) under test, as the inventory table shows them. */
  fn: string
  /** Codes (or documented error class names) that count as a typed refusal. */
  refusals: readonly Refusal[]
  /** Inputs: mutated captured messages, structured hostile values, hand-built hostile bytes. */
  input: fc.Arbitrary<unknown>
  /** Call the function under test; returns when accepted and consistent, throws otherwise. */
  run: (input: unknown) => unknown
}

/** The verdict on one call. */
export type Outcome =
  | { kind: 'accepted' }
  | { kind: 'refused', code: string }
  | { kind: 'crash', error: string }
  | { kind: 'hang', ms: number }

/** A consistency check that failed on an accepted input. */
export class InconsistentError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InconsistentError'
  }
}

/** Throw {@link InconsistentError} unless `ok`. */
export function consistent (ok: boolean, what: string): void {
  if (!ok) throw new InconsistentError(what)
}

/** Whether `e` is a refusal `target` lists. */
export function refusalOf (target: Target, e: unknown): string | undefined {
  if (e instanceof BioshardError) return target.refusals.includes(e.code) ? e.code : undefined
  const name = (e as Error | undefined)?.name
  if ((name === 'TypeError' || name === 'RangeError' || name === 'UsageError') && target.refusals.includes(name)) return name
  return undefined
}

function describe (e: unknown): string {
  if (e instanceof BioshardError) return `${e.name} ${e.code} (not a refusal this target lists): ${e.message}`
  if (e instanceof Error) return `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`
  return `non-error thrown: ${String(e)}`
}

/**
 * Run one input through `target` and judge it. A synchronous call cannot be
 * interrupted, so it is judged a hang after it returns late; an asynchronous
 * one is raced against the budget. (The long runner also watches from
 * outside its worker, to catch a call that never returns.)
 */
export async function judge (target: Target, input: unknown, budgetMs: number): Promise<Outcome> {
  const start = performance.now()
  let outcome: Outcome
  try {
    const r = target.run(input)
    if (r instanceof Promise) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => { resolve('late') }, budgetMs) })
      const first = await Promise.race([r, late]).finally(() => { clearTimeout(timer) })
      if (first === 'late') {
        r.catch(() => {})
        return { kind: 'hang', ms: performance.now() - start }
      }
    }
    outcome = { kind: 'accepted' }
  } catch (e) {
    const code = refusalOf(target, e)
    outcome = code !== undefined ? { kind: 'refused', code } : { kind: 'crash', error: describe(e) }
  }
  const ms = performance.now() - start
  return ms > budgetMs ? { kind: 'hang', ms } : outcome
}

/** A JSON form of an input that keeps byte strings ({@link reviveInput} reads it back). */
export function serialiseInput (input: unknown): string {
  return JSON.stringify(input, (_k, v: unknown) => v instanceof Uint8Array ? { $hex: Buffer.from(v).toString('hex') } : v)
}

/** Read an input written by {@link serialiseInput}. */
export function reviveInput (text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && typeof (v as { $hex?: unknown }).$hex === 'string') {
      return new Uint8Array(Buffer.from((v as { $hex: string }).$hex, 'hex'))
    }
    return v
  })
}
