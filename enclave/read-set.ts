/**
 * The enclave's allowed read set: exactly the files and directories its code
 * needs, handed to Node's permission model as `--allow-fs-read` and hashed
 * into its measurement. Paths are real paths (symlinks resolved), because
 * Node's module loader opens real paths and the permission model checks the
 * path it opens.
 *
 * @module
 */
import { realpathSync, statSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BioshardError } from '../errors.ts'
import { importClosure, packageDir, type ImportClosure } from './import-graph.ts'

/** Repository root (the directory holding `matcher/`): the checkout, or `dist/` when running compiled code. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url))
// The sources run as `.ts`; the compiled package (dist/) as `.js`.
const EXT = import.meta.url.endsWith('.js') ? '.js' : '.ts'
/** The child's entry module. */
export const ENCLAVE_ENTRY = fileURLToPath(new URL(`./enclave-main${EXT}`, import.meta.url))
/** Loaded by the child only when image probes are enabled. */
export const FACE_PROBE_MODULE = fileURLToPath(new URL(`./face-probe${EXT}`, import.meta.url))

/** One path the child may read. */
export interface ReadEntry {
  /** stable, location-independent name used in the measurement (`crypto/seal.ts`, `node_modules/cborg`, `face-model/embedder`) */
  label: string
  /** absolute real path */
  path: string
  /** a directory (readable recursively) or a single file */
  dir: boolean
}

/** Model files for raw image probes: absolute paths, already resolved. */
export interface FaceModelFiles {
  detector: string
  embedder: string
}

interface PackageRule {
  /** sub-paths to allow instead of the whole directory */
  paths?: () => string[]
  /** runtime dependencies, instead of package.json `dependencies` */
  deps?: (dir: string) => string[]
}

/** sharp's prebuilt binaries for this platform (glibc or musl, whichever npm installed). */
function sharpPlatformPackages (sharpDir: string): string[] {
  const out: string[] = []
  for (const libc of ['', 'musl']) {
    const plat = `${process.platform}${libc}-${process.arch}`
    for (const name of [`@img/sharp-${plat}`, `@img/sharp-libvips-${plat}`]) {
      if (packageDir(name, sharpDir) !== undefined) out.push(name)
    }
  }
  return out
}

const PACKAGE_RULES: Record<string, PackageRule> = {
  'onnxruntime-node': {
    // dist/binding.js requires `../bin/napi-v6/<platform>/<arch>/onnxruntime_binding.node`.
    paths: () => ['package.json', 'dist', join('bin', 'napi-v6', process.platform, process.arch)],
    deps: () => ['onnxruntime-common']
  },
  sharp: {
    // `src/` and `install/` are for building from source, never loaded.
    paths: () => ['package.json', 'dist'],
    deps: (dir) => ['@img/colour', 'detect-libc', 'semver', ...sharpPlatformPackages(dir)]
  }
}

/** Packages that modules of the closure import with `import('…')`. */
function dynamicPackages (closure: ImportClosure): string[] {
  const out = new Set<string>()
  for (const file of closure.files) {
    for (const ref of closure.edges.get(file) ?? []) {
      if (ref.kind === 'dynamic' && ref.resolved.kind === 'package') out.add(ref.resolved.name)
    }
  }
  return [...out].sort()
}

function declaredDependencies (dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  return Object.keys(pkg.dependencies ?? {})
}

function posix (p: string): string {
  return p.split(sep).join('/')
}

function real (path: string, what: string): string {
  try {
    return realpathSync(path)
  } catch (e) {
    throw new BioshardError('ERR_ENCLAVE', `${what} ${path} is missing`, { cause: e })
  }
}

/**
 * Compute the read set:
 *
 * - project modules: the static import closure of the child entry
 *   (`enclave-main.ts`), plus `face-probe.ts`'s closure when raw image probes
 *   are enabled — individual files, never a directory;
 * - packages those modules import: the whole package directory by default
 *   (@noble/ciphers, cborg, shamir-secret-sharing: small, pure JavaScript).
 *   Packages with native parts are narrowed to what loads on this platform, and
 *   their runtime dependencies are listed by hand: onnxruntime-node's declared
 *   dependencies include an installer and an HTTP proxy agent that it never
 *   loads at run time, and its directory holds binaries for five platforms;
 * - face model files, only when image probes are enabled.
 *
 * @param face - model files when image probes are enabled
 * @returns entries sorted by label, no label repeated
 * @throws {BioshardError} ERR_ENCLAVE when a module, package or model file is missing;
 *   ERR_MODEL when an optional package the face stack loads (onnxruntime-node, sharp) is not installed
 * @example enclaveReadSet().map((e) => e.label) // ['crypto/bytes.ts', …, 'node_modules/cborg', …]
 */
export function enclaveReadSet (face?: FaceModelFiles): ReadEntry[] {
  const roots = face === undefined ? [ENCLAVE_ENTRY] : [ENCLAVE_ENTRY, FACE_PROBE_MODULE]
  const closure = importClosure(roots)
  const entries = new Map<string, ReadEntry>()
  for (const file of closure.files) {
    const label = posix(relative(REPO_ROOT, file))
    if (label.startsWith('..')) throw new BioshardError('ERR_ENCLAVE', `enclave module ${file} lies outside the repository`)
    entries.set(label, { label, path: real(file, 'enclave module'), dir: false })
  }
  const addPackage = (name: string, fromDir: string): void => {
    const label = `node_modules/${name}`
    if ([...entries.keys()].some((k) => k === label || k.startsWith(label + '/'))) return
    const dir = packageDir(name, fromDir)
    if (dir === undefined) throw new BioshardError('ERR_ENCLAVE', `package ${name}, needed by the enclave, is not installed: npm install ${name}`)
    const rule = PACKAGE_RULES[name]
    if (rule?.paths === undefined) {
      entries.set(label, { label, path: real(dir, 'package'), dir: true })
    } else {
      for (const sub of rule.paths()) {
        const path = real(join(dir, sub), `package ${name} part`)
        entries.set(`${label}/${posix(sub)}`, { label: `${label}/${posix(sub)}`, path, dir: statSync(path).isDirectory() })
      }
    }
    for (const dep of rule?.deps?.(dir) ?? declaredDependencies(dir)) addPackage(dep, dir)
  }
  for (const name of closure.packages) addPackage(name, REPO_ROOT)
  // Optional packages are imported on first use (matcher/optional-deps.ts): the modules loaded may load them too.
  for (const name of dynamicPackages(closure)) {
    if (packageDir(name, REPO_ROOT) === undefined) {
      throw new BioshardError('ERR_MODEL', `image probes need the optional package ${name}: npm install ${name}`)
    }
    addPackage(name, REPO_ROOT)
  }
  if (face !== undefined) {
    entries.set('face-model/detector', { label: 'face-model/detector', path: real(face.detector, 'face detector model'), dir: false })
    entries.set('face-model/embedder', { label: 'face-model/embedder', path: real(face.embedder, 'face embedder model'), dir: false })
  }
  const out = [...entries.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
  for (const e of out) {
    // Node splits --allow-fs-read values on commas.
    if (e.path.includes(',')) throw new BioshardError('ERR_ENCLAVE', `read-set path ${e.path} contains a comma, which --allow-fs-read cannot express`)
  }
  return out
}

/**
 * Whether `path` lies inside the read set (equal to a file entry, or under a directory entry).
 *
 * @param entries - a read set
 * @param path - an absolute real path
 * @returns true when the child may read it
 * @example inReadSet(enclaveReadSet(), process.execPath) // false
 */
export function inReadSet (entries: readonly ReadEntry[], path: string): boolean {
  return entries.some((e) => e.path === path || (e.dir && path.startsWith(e.path + sep)))
}
