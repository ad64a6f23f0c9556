/**
 * Domain-separated SHA-256: `H(tag, ...parts)` hashes a length-prefixed
 * encoding of the tag and each part, so `("ab","c")` and `("a","bc")` never
 * collide and no two contexts share a digest.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { utf8, u32be, plain } from './bytes.ts'
import type { HashTag } from './tags.ts'

/**
 * SHA-256 over `tag` and `parts`, each prefixed by its 4-byte big-endian length.
 *
 * @example taggedHash(HASH.PLACEMENT, templateId, new Uint8Array([1]))
 */
export function taggedHash (tag: HashTag, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  const t = utf8(tag)
  h.update(u32be(t.length)); h.update(t)
  for (const p of parts) { h.update(u32be(p.length)); h.update(p) }
  return plain(h.digest())
}

/** Plain SHA-256 (for interop values such as code measurements of files). */
export function sha256 (data: Uint8Array): Uint8Array {
  return plain(createHash('sha256').update(data).digest())
}
