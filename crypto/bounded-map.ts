/**
 * Insertion into a `Map` used as a bounded cache: the oldest entry (first in
 * insertion order) makes room for the new one.
 *
 * @module
 */

/**
 * Set `key` to `value`, first dropping the oldest entry when the map already
 * holds `max` (≥ 1) entries and `key` is not among them.
 *
 * @example setBounded(cache, id, key, 1024)
 */
export function setBounded<K, V> (map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max && !map.has(key)) map.delete(map.keys().next().value as K)
  map.set(key, value)
}
