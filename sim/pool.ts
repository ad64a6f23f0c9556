/**
 * A bounded pool: run an async function over a list with at most `limit`
 * calls in flight, results in input order (so what a run records does not
 * depend on which call finished first).
 *
 * @module
 */

/**
 * Map `items` through `fn`, at most `limit` at a time.
 *
 * @returns the results, in the order of `items`
 * @example const sizes = await mapLimit(paths, 4, async (p) => (await stat(p)).size)
 */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return out
}
