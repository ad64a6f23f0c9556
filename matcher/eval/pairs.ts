/**
 * Evaluation sets laid out one folder per identity
 * (`<dir>/<identity>/<image>`), and the all-pairs comparison over them:
 * every unordered pair of samples is genuine (same identity) or impostor.
 *
 * @module
 */
import { readdir } from 'node:fs/promises'
import { extname, join } from 'node:path'

/** File extensions treated as images. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']

/** One labelled sample file. */
export interface LabelledFile {
  identity: string
  /** Path relative to the dataset directory, `<identity>/<file>`. */
  name: string
  /** Absolute or dir-joined path. */
  path: string
}

/**
 * List the images of an identity-per-folder dataset, sorted by identity then
 * file name so runs are reproducible. Hidden entries and non-images are skipped.
 *
 * @param dir - the dataset directory
 * @returns the samples
 * @throws {TypeError} when `dir` is not a string
 * @throws {Error} the fs error when `dir` cannot be read
 * @example const files = await listIdentityDir('../shared/data/faces/raw')
 */
export async function listIdentityDir (dir: string): Promise<LabelledFile[]> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string')
  const out: LabelledFile[] = []
  const ids = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort()
  for (const identity of ids) {
    const files = (await readdir(join(dir, identity), { withFileTypes: true }))
      .filter((f) => f.isFile() && !f.name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(f.name).toLowerCase()))
      .map((f) => f.name)
      .sort()
    for (const f of files) out.push({ identity, name: `${identity}/${f}`, path: join(dir, identity, f) })
  }
  return out
}

/** One scored pair, by sample index. */
export interface ScoredPair {
  a: number
  b: number
  score: number
}

/** Genuine and impostor scores of all unordered pairs. */
export interface PairScores {
  genuine: ScoredPair[]
  impostor: ScoredPair[]
}

/**
 * Score every unordered pair i < j.
 *
 * @param identities - the identity of each sample
 * @param score - similarity of samples i and j (higher = more alike)
 * @returns the pairs split by same/different identity
 * @example scoreAllPairs(['a', 'a', 'b'], (i, j) => cosine(e[i], e[j]))
 */
export function scoreAllPairs (identities: readonly string[], score: (i: number, j: number) => number): PairScores {
  const genuine: ScoredPair[] = []
  const impostor: ScoredPair[] = []
  for (let i = 0; i < identities.length; i++) {
    for (let j = i + 1; j < identities.length; j++) {
      const p = { a: i, b: j, score: score(i, j) };
      (identities[i] === identities[j] ? genuine : impostor).push(p)
    }
  }
  return { genuine, impostor }
}
