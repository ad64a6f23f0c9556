/**
 * Field checks for matcher configuration (face and voice): each throws a
 * `TypeError`/`RangeError` naming the field, so a misconfigured model says
 * which setting is wrong.
 *
 * @module
 */

/** A finite number (optionally an integer) in `[min, max]`. */
export function num (v: unknown, name: string, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw new TypeError(`${name} must be ${integer ? 'an integer' : 'a finite number'}`)
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${v}`)
  return v
}

/** A non-empty string. */
export function str (v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${name} must be a non-empty string`)
  return v
}
