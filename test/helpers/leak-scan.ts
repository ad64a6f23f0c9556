/**
 * Test helper for DESIGN invariant 1 (no node's storage or logs hold a
 * template, its ciphertext or a share): search raw bytes, or every file
 * under a directory, for any fixed-size window of given secrets, raw or as
 * lowercase hex. A 16-byte window of random-looking data does not occur by
 * chance, so any hit is a leak of at least that much of the secret.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { toHex, utf8 } from '../../crypto/bytes.ts'

/** A window of one of the secrets, found at `offset` of `where`. */
export interface Leak { where: string, offset: number, secret: number, form: 'raw' | 'hex' }

/** Windows of every secret, indexed by their first four bytes for a linear scan. */
export class LeakPatterns {
  readonly window: number
  private readonly index = new Map<number, Array<{ bytes: Uint8Array, secret: number, form: 'raw' | 'hex' }>>()
  private readonly lengths = new Set<number>()

  /**
   * @param secrets byte strings that must not appear (shares, templates, ciphertexts)
   * @param window bytes of a secret that count as a leak @default 16
   */
  constructor (secrets: readonly Uint8Array[], window = 16) {
    this.window = window
    secrets.forEach((s, secret) => {
      if (s.length < window) throw new RangeError(`secrets[${secret}] is shorter than the ${window}-byte window`)
      for (let i = 0; i + window <= s.length; i++) {
        const raw = s.slice(i, i + window)
        this.add(raw, secret, 'raw')
        this.add(utf8(toHex(raw)), secret, 'hex')
      }
    })
  }

  private add (bytes: Uint8Array, secret: number, form: 'raw' | 'hex'): void {
    const key = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
    const list = this.index.get(key) ?? []
    list.push({ bytes, secret, form })
    this.index.set(key, list)
    this.lengths.add(bytes.length)
  }

  /** The first window found in `haystack`, or undefined. */
  find (haystack: Uint8Array, where = 'bytes'): Leak | undefined {
    const view = new DataView(haystack.buffer, haystack.byteOffset, haystack.byteLength)
    for (let i = 0; i + 4 <= haystack.length; i++) {
      const hits = this.index.get(view.getUint32(i))
      if (hits === undefined) continue
      for (const h of hits) {
        if (i + h.bytes.length > haystack.length) continue
        let same = true
        for (let j = 4; j < h.bytes.length && same; j++) same = haystack[i + j] === h.bytes[j]
        if (same) return { where, offset: i, secret: h.secret, form: h.form }
      }
    }
    return undefined
  }

  /** The first window found in any file under `dir` (recursively). */
  findInTree (dir: string): Leak | undefined {
    for (const file of filesUnder(dir)) {
      const leak = this.find(readFileSync(file), file)
      if (leak !== undefined) return leak
    }
    return undefined
  }
}

/** Every regular file under `dir`, recursively. */
export function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const s = statSync(p)
    if (s.isDirectory()) out.push(...filesUnder(p))
    else if (s.isFile()) out.push(p)
  }
  return out
}
