/**
 * The layout's dependency rules (docs/architecture.md, "Layout"): each room
 * may import only the rooms listed for it, the network stays out of the
 * matcher and the enclave, and only the CLI reaches the simulator. The rules
 * are checked over the real import graph of every source file, dynamic
 * imports included, so a new edge fails here before it lands.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync } from 'node:fs'
import { sourceFiles } from './helpers/source-files.ts'
import { join, relative, sep } from 'node:path'
import { importClosure, parseImports, resolveSpecifier } from '../enclave/import-graph.ts'
import { REPO_ROOT } from '../enclave/read-set.ts'

/** Rooms each room may import (besides itself). `errors` is the error-code registry at the root. */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  crypto: ['errors'],
  protocol: ['errors', 'crypto'],
  net: ['errors', 'crypto', 'protocol'],
  keys: ['errors', 'crypto', 'protocol'],
  node: ['errors', 'crypto', 'protocol', 'net', 'keys'],
  matcher: ['errors', 'crypto', 'protocol'],
  enclave: ['errors', 'crypto', 'protocol', 'matcher'],
  client: ['errors', 'crypto', 'protocol', 'net', 'keys', 'enclave', 'matcher'],
  index: ['errors', 'crypto', 'protocol', 'client', 'matcher'],
  sim: ['errors', 'crypto', 'protocol', 'net', 'keys', 'node', 'client', 'enclave', 'matcher'],
  cli: ['errors', 'crypto', 'protocol', 'net', 'keys', 'node', 'client', 'enclave', 'matcher', 'sim']
}
/** Packages that open sockets or speak libp2p: the matcher and the enclave never load them. */
const NETWORK_PACKAGES = /^(libp2p|@libp2p\/|@chainsafe\/|@multiformats\/|it-)/
const NETWORK_BUILTINS = new Set(['node:net', 'node:http', 'node:https', 'node:dgram', 'node:tls', 'node:http2', 'net', 'http', 'https', 'dgram', 'tls'])
/** Pure rooms: no file system, no sockets, no processes. */
const PURE = new Set(['errors', 'crypto', 'protocol'])
const IO_BUILTINS = /^(node:)?(fs|fs\/promises|net|http|https|dgram|tls|child_process|worker_threads)$/

const SOURCE_ROOMS = Object.keys(ALLOWED).filter((r) => r !== 'errors' && r !== 'index')

const roomOf = (file: string): string => {
  const r = relative(REPO_ROOT, file).split(sep)
  if (r.length === 1) return r[0] === 'index.ts' ? 'index' : r[0] === 'errors.ts' ? 'errors' : `root:${r[0]}`
  return r[0]
}

interface Edge { from: string, to: string, spec: string, kind: 'file' | 'package' | 'builtin' }

function edgesOf (file: string): Edge[] {
  return parseImports(readFileSync(file, 'utf8')).map((ref) => {
    const r = resolveSpecifier(file, ref.specifier)
    if (r.kind === 'file') return { from: file, to: r.path, spec: ref.specifier, kind: 'file' }
    if (r.kind === 'package') return { from: file, to: r.name, spec: ref.specifier, kind: 'package' }
    return { from: file, to: ref.specifier, spec: ref.specifier, kind: 'builtin' }
  })
}

const ALL = [join(REPO_ROOT, 'index.ts'), join(REPO_ROOT, 'errors.ts'), ...SOURCE_ROOMS.flatMap((r) => sourceFiles(join(REPO_ROOT, r)))]
const EDGES = ALL.flatMap(edgesOf)

/** Every edge that breaks a rule, as `file → target (rule)`. */
function violations (edges: readonly Edge[]): string[] {
  const out: string[] = []
  for (const e of edges) {
    const from = roomOf(e.from)
    const where = relative(REPO_ROOT, e.from)
    if (e.kind === 'file') {
      const to = roomOf(e.to)
      if (to !== from && !(ALLOWED[from] ?? []).includes(to)) out.push(`${where} → ${relative(REPO_ROOT, e.to)} (${from} may not import ${to})`)
    } else if ((from === 'matcher' || from === 'enclave') && (NETWORK_PACKAGES.test(e.to) || NETWORK_BUILTINS.has(e.to))) {
      out.push(`${where} → ${e.to} (${from} never touches the network)`)
    } else if (PURE.has(from) && e.kind === 'builtin' && IO_BUILTINS.test(e.to)) {
      out.push(`${where} → ${e.to} (${from} is pure)`)
    }
  }
  return out
}

const Layout = suite('layout: who may import whom')

Layout('every room imports only the rooms its rule allows', () => {
  assert.ok(EDGES.length > 300, `the graph was read (${EDGES.length} edges)`)
  assert.equal(violations(EDGES), [])
})

Layout('no file outside cli/ reaches sim/, even through other modules', () => {
  const roots = ALL.filter((f) => { const r = roomOf(f); return r !== 'cli' && r !== 'sim' })
  for (const root of roots) {
    const reached = importClosure([root]).files.filter((f) => roomOf(f) === 'sim')
    assert.equal(reached.map((f) => relative(REPO_ROOT, f)), [], relative(REPO_ROOT, root))
  }
})

Layout('every source file belongs to a room', () => {
  const rootFiles = readdirSync(REPO_ROOT).filter((n) => n.endsWith('.ts'))
  assert.equal(rootFiles.sort(), ['errors.ts', 'index.ts'])
})

Layout('the rule check catches each kind of breach', () => {
  const f = (p: string): string => join(REPO_ROOT, p)
  const planted: Edge[] = [
    { from: f('crypto/x.ts'), to: f('protocol/y.ts'), spec: '../protocol/y.ts', kind: 'file' },
    { from: f('protocol/x.ts'), to: f('net/y.ts'), spec: '../net/y.ts', kind: 'file' },
    { from: f('net/x.ts'), to: f('node/y.ts'), spec: '../node/y.ts', kind: 'file' },
    { from: f('node/x.ts'), to: f('client/y.ts'), spec: '../client/y.ts', kind: 'file' },
    { from: f('node/x.ts'), to: f('enclave/y.ts'), spec: '../enclave/y.ts', kind: 'file' },
    { from: f('node/x.ts'), to: f('matcher/y.ts'), spec: '../matcher/y.ts', kind: 'file' },
    { from: f('client/x.ts'), to: f('node/y.ts'), spec: '../node/y.ts', kind: 'file' },
    { from: f('matcher/x.ts'), to: f('net/y.ts'), spec: '../net/y.ts', kind: 'file' },
    { from: f('matcher/x.ts'), to: 'libp2p', spec: 'libp2p', kind: 'package' },
    { from: f('enclave/x.ts'), to: '@libp2p/tcp', spec: '@libp2p/tcp', kind: 'package' },
    { from: f('enclave/x.ts'), to: 'node:net', spec: 'node:net', kind: 'builtin' },
    { from: f('client/x.ts'), to: f('sim/y.ts'), spec: '../sim/y.ts', kind: 'file' },
    { from: f('node/x.ts'), to: f('sim/y.ts'), spec: '../sim/y.ts', kind: 'file' },
    { from: f('crypto/x.ts'), to: 'node:fs', spec: 'node:fs', kind: 'builtin' }
  ]
  assert.is(violations(planted).length, planted.length)
})

Layout.run()
