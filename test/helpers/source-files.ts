/**
 * The repository's TypeScript sources, for tests that read the tree itself
 * (the layout's import rules, the error-code registry).
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Every `.ts` file under `dir`, recursively, in a stable order. */
export function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p))
    else if (name.endsWith('.ts')) out.push(p)
  }
  return out
}
