/**
 * Reading CBOR item heads without decoding values: where an item ends, how
 * many items it holds, whether its heads are canonical (shortest form, no
 * indefinite lengths). A message that peers may send in bulk (the roster)
 * is walked this way first, so its size in items is bounded before the
 * decoder builds anything, and its large arrays can be decoded one element
 * at a time with pauses between them.
 *
 * @module
 */
import { BioshardError, DecodeError } from '../errors.ts'

/** One item head: major type, argument (length, count or value), and where the head ends. */
export interface Head { major: number, arg: number, end: number }

/** What a walk may still take: items in all, and items in any one array or map. */
export interface ItemBudget { items: number, readonly perContainer: number }

/**
 * Read the head at `pos`.
 *
 * @throws {DecodeError} for truncation, indefinite or reserved lengths, or a head longer than it needs to be
 */
export function readHead (bytes: Uint8Array, pos: number, what: string): Head {
  if (pos >= bytes.length) throw new DecodeError(`${what} is truncated`)
  const head = bytes[pos]
  const major = head >> 5
  const info = head & 0x1f
  if (info < 24) return { major, arg: info, end: pos + 1 }
  if (info > 27) throw new DecodeError(`${what} uses an indefinite or reserved length`)
  const size = 1 << (info - 24)
  if (pos + 1 + size > bytes.length) throw new DecodeError(`${what} is truncated`)
  let arg = 0
  for (let i = 1; i <= size; i++) arg = arg * 256 + bytes[pos + i]
  // Floats (major 7, info 25–27) carry their bits, not a length; their width is the decoder's to check.
  const smallest = size === 1 ? 24 : 2 ** (4 * size)
  if (major !== 7 && arg < smallest) throw new DecodeError(`${what} is not canonically encoded: a head is longer than needed`)
  return { major, arg, end: pos + 1 + size }
}

/**
 * Where the item at `pos` ends, charging every item inside it to `budget`.
 *
 * @throws {TooLargeError} ERR_TOO_LARGE when the budget runs out or a container is longer than allowed; {DecodeError} as {@link readHead}
 */
export function skipItem (bytes: Uint8Array, pos: number, what: string, budget: ItemBudget): number {
  let pending = 1
  while (pending > 0) {
    const h = readHead(bytes, pos, what)
    pos = h.end
    pending--
    if (--budget.items < 0) throw tooMany(what)
    if (h.major === 2 || h.major === 3) {
      if (h.arg > bytes.length - pos) throw new DecodeError(`${what} is truncated`)
      pos += h.arg
    } else if (h.major === 4 || h.major === 5) {
      if (h.arg > budget.perContainer) throw new BioshardError('ERR_TOO_LARGE', `${what} has an array or map of ${h.arg} items, limit ${budget.perContainer}`)
      pending += h.major === 5 ? 2 * h.arg : h.arg
      if (pending > budget.items) throw tooMany(what)
    } else if (h.major === 6) {
      pending += 1
    }
  }
  return pos
}

function tooMany (what: string): BioshardError {
  return new BioshardError('ERR_TOO_LARGE', `${what} holds more items than allowed`)
}
