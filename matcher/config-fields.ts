/**
 * Field checks for matcher configuration (face and voice): each throws a
 * `TypeError`/`RangeError` naming the field, so a misconfigured model says
 * which setting is wrong.
 *
 * @module
 */

/** A finite number in `[min, max]`. */
export function num (v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new TypeError(`${name} must be a finite number`)
  }
  return inRange(v, name, min, max)
}

/** An integer in `[min, max]`. */
export function int (v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer`)
  return inRange(v, name, min, max)
}

function inRange (v: number, name: string, min: number, max: number): number {
  if (v < min || v > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${v}`)
  return v
}

/** A non-empty string. */
export function str (v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`${name} must be a non-empty string`)
  return v
}
