/**
 * The static import graph of the project's own TypeScript modules: which
 * files a module loads at run time, which packages and which Node built-ins.
 * The enclave's read set and measurement are computed from it, and tests use
 * it to prove that host-side modules never reach the code that opens shares.
 * The parser is deliberately small ({@link parseImports}); a test cross-checks
 * it against the TypeScript compiler's AST.
 *
 * @module
 */
import { readFileSync, existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { isBuiltin } from 'node:module'

/** One runtime import or re-export declaration. */
export interface ImportRef {
  /** the module specifier as written */
  specifier: string
  /** imported (or re-exported) binding names as exported by the target; `'*'` for a namespace or star */
  names: string[] | '*'
  /** `static` for declarations, `dynamic` for `import('…')` with a string literal */
  kind: 'static' | 'dynamic'
}

// A default binding, then optionally `{ … }` or `* as ns`; or only one of those.
const IMPORT_DECL = /^import\s+(type\s+)?((?:[\w$]+\s*(?:,\s*)?)?(?:\{[^}]*\}|\*\s*as\s+[\w$]+)?)\s*from\s*(['"])([^'"\n]+)\3/gm
const IMPORT_BARE = /^import\s*(['"])([^'"\n]+)\1/gm
const EXPORT_FROM = /^export\s+(type\s+)?(\*(?:\s*as\s+[\w$]+)?|\{[^}]*\})\s*from\s*(['"])([^'"\n]+)\3/gm
const DYNAMIC = /\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g

/** Names inside `{ … }`, as exported by the target module; type-only specifiers dropped. */
function braceNames (clause: string): string[] {
  const inner = /\{([^}]*)\}/.exec(clause)?.[1] ?? ''
  const out: string[] = []
  for (const raw of inner.split(',')) {
    const s = raw.trim()
    if (s === '' || /^type\s/.test(s)) continue
    out.push(s.split(/\s+as\s+/)[0].trim())
  }
  return out
}

/**
 * The runtime imports of one module's source. Reads top-level `import … from`,
 * `import '…'` and `export … from` declarations that start a line (the
 * project's style), drops `import type` / `export type` (erased by type
 * stripping), and keeps `import { type A }` (which still loads the module).
 * Dynamic `import('…')` is reported separately and never followed: the
 * enclave names those modules as extra roots when it enables them.
 *
 * @param source - TypeScript or JavaScript ESM source
 * @returns static imports and re-exports (type-only ones dropped), then dynamic imports
 * @example parseImports("import { open } from '../matcher/crypto/seal.ts'") // [{ specifier: '../crypto/seal.ts', names: ['open'], kind: 'static' }]
 */
export function parseImports (source: string): ImportRef[] {
  if (typeof source !== 'string') throw new TypeError('source must be a string')
  const out: ImportRef[] = []
  for (const m of source.matchAll(IMPORT_DECL)) {
    if (m[1] !== undefined) continue
    const clause = m[2]
    let names: string[] | '*'
    if (/\*\s*as\s/.test(clause)) names = '*'
    else {
      names = braceNames(clause)
      if (/^[\w$]+/.test(clause.trim())) names.unshift('default')
    }
    out.push({ specifier: m[4], names, kind: 'static' })
  }
  for (const m of source.matchAll(IMPORT_BARE)) out.push({ specifier: m[2], names: [], kind: 'static' })
  for (const m of source.matchAll(EXPORT_FROM)) {
    if (m[1] !== undefined) continue
    out.push({ specifier: m[4], names: m[2].startsWith('*') ? '*' : braceNames(m[2]), kind: 'static' })
  }
  for (const m of source.matchAll(DYNAMIC)) out.push({ specifier: m[2], names: '*', kind: 'dynamic' })
  return out
}

/** What a specifier refers to. */
export type Resolved =
  | { kind: 'file', path: string }
  | { kind: 'builtin', name: string }
  | { kind: 'package', name: string }

/**
 * Classify and resolve a specifier imported by `fromFile`.
 *
 * @param fromFile - absolute path of the importing module
 * @param specifier - as written
 * @returns an absolute file path, a built-in name (without `node:`), or a package name
 * @throws {Error} when a relative import names a file that does not exist
 * @example resolveSpecifier('/repo/crypto/seal.ts', './bytes.ts') // { kind: 'file', path: '/repo/crypto/bytes.ts' }
 */
export function resolveSpecifier (fromFile: string, specifier: string): Resolved {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const path = resolve(dirname(fromFile), specifier)
    if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`${fromFile} imports ${specifier}, which is not a file`)
    return { kind: 'file', path }
  }
  if (specifier.startsWith('node:') || isBuiltin(specifier)) return { kind: 'builtin', name: specifier.replace(/^node:/, '') }
  const parts = specifier.split('/')
  return { kind: 'package', name: specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] }
}

/** The closure of a set of roots over static imports. */
export interface ImportClosure {
  /** absolute paths of every project module loaded, sorted */
  files: string[]
  /** npm packages imported by those modules, sorted */
  packages: string[]
  /** Node built-ins imported, sorted, without `node:` */
  builtins: string[]
  /** module → its runtime imports, for callers that inspect edges */
  edges: Map<string, Array<ImportRef & { resolved: Resolved }>>
}

/**
 * Walk static imports from `roots` through the project's own modules.
 * Packages are leaves (their files are not parsed); dynamic imports are
 * recorded in `edges` but not followed.
 *
 * @param roots - absolute paths of entry modules
 * @returns files, packages and built-ins reached
 * @throws {Error} when a relative import does not resolve
 * @example importClosure([join(repo, 'enclave/enclave-main.ts')]).packages // ['@noble/ciphers', 'cborg', 'shamir-secret-sharing']
 */
export function importClosure (roots: readonly string[]): ImportClosure {
  const files = new Set<string>()
  const packages = new Set<string>()
  const builtins = new Set<string>()
  const edges = new Map<string, Array<ImportRef & { resolved: Resolved }>>()
  const queue = roots.map((r) => resolve(r))
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (files.has(file)) continue
    files.add(file)
    const refs: Array<ImportRef & { resolved: Resolved }> = []
    for (const ref of parseImports(readFileSync(file, 'utf8'))) {
      try {
        refs.push({ ...ref, resolved: resolveSpecifier(file, ref.specifier) })
      } catch (e) {
        // A dynamic import is not followed, and the pattern also finds ones
        // quoted in comments: only a static import must resolve.
        if (ref.kind === 'static') throw e
      }
    }
    edges.set(file, refs)
    for (const ref of refs) {
      if (ref.kind === 'dynamic') continue
      const r = ref.resolved
      if (r.kind === 'file') queue.push(r.path)
      else if (r.kind === 'package') packages.add(r.name)
      else builtins.add(r.name)
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort(), builtins: [...builtins].sort(), edges }
}

/**
 * Directory of an installed package as Node would find it from `fromDir`
 * (the nearest `node_modules/<name>` walking up).
 *
 * @param name - package name, scoped or not
 * @param fromDir - where the lookup starts
 * @returns the absolute directory, or undefined when not installed
 * @example packageDir('cborg', repoRoot) // '/repo/node_modules/cborg'
 */
export function packageDir (name: string, fromDir: string): string | undefined {
  let dir = resolve(fromDir)
  for (;;) {
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return candidate
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}
