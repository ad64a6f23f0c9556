/**
 * What the enclave may read and how it is measured (enclave/
 * read-set.ts, measurement.ts, launch.ts, import-graph.ts): the read set is
 * exactly the child's import closure plus the packages it loads, the launch
 * grants nothing else, the measurement is stable and changes with any byte
 * the child could load, and no enclave code imports a network module.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { enclaveReadSet, inReadSet, ENCLAVE_ENTRY, FACE_PROBE_MODULE, REPO_ROOT, type ReadEntry } from '../../enclave/read-set.ts'
import { measure, measuredFiles } from '../../enclave/measurement.ts'
import { planLaunch, BASE_FLAGS, ADDON_FLAGS, ADDON_WARNING_OFF } from '../../enclave/launch.ts'
import { importClosure, parseImports, type ImportRef } from '../../enclave/import-graph.ts'
import { REFUSED_BUILTINS } from '../../enclave/harden.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { sharedPath } from '../../matcher/shared-path.ts'
import { DETECTOR_FILE, EMBEDDER_FILE } from '../../matcher/face/config.ts'

const NETWORK = ['net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'undici']
const haveModels = [DETECTOR_FILE, EMBEDDER_FILE].every((f) => { try { return statSync(sharedPath('models', f)).isFile() } catch { return false } })
const FACE = { detector: sharedPath('models', DETECTOR_FILE), embedder: sharedPath('models', EMBEDDER_FILE) }

const labels = (entries: ReadEntry[]): string[] => entries.map((e) => e.label)

// ---------------------------------------------------------------------------
const ReadSet = suite('enclave read set')

ReadSet('holds the child entry and what it imports, file by file, and the three packages it loads', () => {
  const entries = enclaveReadSet()
  const l = labels(entries)
  const childFiles = [
    'enclave/enclave-main.ts', 'enclave/match.ts', 'enclave/harden.ts',
    'crypto/seal.ts', 'crypto/shares.ts', 'crypto/envelope.ts',
    'matcher/template.ts', 'matcher/score.ts', 'protocol/decision.ts'
  ]
  for (const f of childFiles) {
    assert.ok(l.includes(f), f)
  }
  assert.equal(entries.filter((e) => e.dir).map((e) => e.label), ['node_modules/@noble/ciphers', 'node_modules/cborg', 'node_modules/shamir-secret-sharing'])
  assert.equal(l.filter((x) => !x.startsWith('node_modules/')), importClosure([ENCLAVE_ENTRY]).files.map((f) => relative(REPO_ROOT, f)))
})

ReadSet('leaves out host code, the network protocols, the face pipeline and any model without face models', () => {
  const l = labels(enclaveReadSet())
  const hostFiles = [
    'enclave/enclave.ts', 'enclave/launch.ts', 'enclave/measurement.ts', 'protocol/fetch.ts',
    'matcher/face/pipeline.ts', 'enclave/face-probe.ts', 'package.json'
  ]
  for (const f of hostFiles) {
    assert.not.ok(l.includes(f), f)
  }
  assert.not.ok(l.some((x) => x.startsWith('node/') || x.startsWith('face-model/') || x.includes('onnxruntime') || x.includes('sharp')))
})

if (haveModels) {
  ReadSet('with face models: the pipeline, this platform\'s native runtime only, and the two model files', () => {
    const entries = enclaveReadSet(FACE)
    const l = labels(entries)
    const faceEntries = [
      'enclave/face-probe.ts', 'matcher/face/pipeline.ts', 'face-model/detector', 'face-model/embedder',
      'node_modules/onnxruntime-common', 'node_modules/sharp/dist', 'node_modules/detect-libc', 'node_modules/semver', 'node_modules/@img/colour'
    ]
    for (const f of faceEntries) {
      assert.ok(l.includes(f), f)
    }
    assert.ok(l.includes(`node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}`))
    assert.not.ok(l.includes('node_modules/onnxruntime-node'), 'not the whole 288 MB package')
    assert.not.ok(l.some((x) => /global-agent|adm-zip/.test(x)), 'installer dependencies are never loaded')
    assert.not.ok(l.some((x) => x.startsWith('node_modules/sharp/src')))
    const sources = l.filter((x) => !x.startsWith('node_modules/') && !x.startsWith('face-model/'))
    assert.equal(sources, importClosure([ENCLAVE_ENTRY, FACE_PROBE_MODULE]).files.map((f) => relative(REPO_ROOT, f)))
  })
} else {
  ReadSet.skip('with face models: the pipeline, this platform\'s native runtime only, and the two model files')
}

ReadSet('the Node binary (the isolation canary) lies outside the read set', () => {
  assert.not.ok(inReadSet(enclaveReadSet(), process.execPath))
  assert.ok(inReadSet(enclaveReadSet(), join(enclaveReadSet().find((e) => e.dir)!.path, 'package.json')))
})

ReadSet.run()

// ---------------------------------------------------------------------------
const Launch = suite('enclave launch flags')

Launch('the child gets --permission, one --allow-fs-read per entry, and nothing that writes, spawns or debugs', async () => {
  const plan = await planLaunch()
  assert.is(plan.args[plan.args.length - 1], ENCLAVE_ENTRY)
  assert.ok(plan.args.includes('--permission'))
  const grants = plan.args.filter((a) => a.startsWith('--allow-'))
  assert.equal(grants, plan.entries.map((e) => `--allow-fs-read=${e.path}`))
  for (const a of plan.args) assert.not.ok(/^--allow-(fs-write|child-process|worker|addons|wasi|inspector)/.test(a), a)
  assert.equal(plan.args.slice(0, BASE_FLAGS.length), [...BASE_FLAGS])
})

if (haveModels) {
  Launch('image probes add --allow-addons and nothing else', async () => {
    const plan = await planLaunch({ modelDir: sharedPath('models') })
    const extra = plan.args.filter((a) => a.startsWith('--allow-') && !a.startsWith('--allow-fs-read='))
    assert.equal(extra, [...ADDON_FLAGS])
    assert.ok(plan.args.includes(ADDON_WARNING_OFF), 'the addon warning is silenced by its code, nothing more')
    assert.ok(plan.face !== undefined && plan.faceModelId === 'mobilefacenet-foamliu-a6cc9032')
  })
} else {
  Launch.skip('image probes add --allow-addons and nothing else')
}

Launch.run()

// ---------------------------------------------------------------------------
const Measurement = suite('enclave measurement')

Measurement('is stable across computations and launches', async () => {
  const a = await planLaunch()
  const b = await planLaunch()
  assert.equal(a.measurement, b.measurement)
  assert.is(a.measurement.length, 32)
})

Measurement('covers every file the child may read, including each file inside a package directory', async () => {
  const entries = enclaveReadSet()
  const files = await measuredFiles(entries)
  const l = files.map(([label]) => label)
  assert.ok(l.includes('crypto/seal.ts'))
  assert.ok(l.includes('node_modules/cborg/package.json'))
  const cborg = entries.find((e) => e.label === 'node_modules/cborg')!
  const count = (dir: string): number => readdirSync(dir).reduce((n, f) => n + (statSync(join(dir, f)).isDirectory() ? count(join(dir, f)) : 1), 0)
  assert.is(l.filter((x) => x.startsWith('node_modules/cborg/')).length, count(cborg.path))
  assert.equal(l, [...l].sort(), 'sorted by label')
})

Measurement('changes when any enclave source file changes, and not with where the code lives', async () => {
  const entries = enclaveReadSet()
  const base = await measure({ entries, flags: BASE_FLAGS, config: null })
  const dir = mkdtempSync(join(tmpdir(), 'enclave-measure-'))
  try {
    for (const label of ['enclave/match.ts', 'crypto/seal.ts', 'matcher/template.ts']) {
      const original = entries.find((e) => e.label === label)!
      const copy = join(dir, label.replaceAll('/', '_'))
      writeFileSync(copy, readFileSync(original.path))
      const moved = entries.map((e) => e.label === label ? { ...e, path: copy } : e)
      assert.ok(equalBytes(await measure({ entries: moved, flags: BASE_FLAGS, config: null }), base), `${label}: same bytes elsewhere, same measurement`)
      writeFileSync(copy, Buffer.concat([readFileSync(original.path), Buffer.from('\n// changed\n')]))
      assert.not.ok(equalBytes(await measure({ entries: moved, flags: BASE_FLAGS, config: null }), base), `${label}: changed bytes, new measurement`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

Measurement('changes with the flags, the configuration and the runtime', async () => {
  const entries = enclaveReadSet()
  const base = await measure({ entries, flags: BASE_FLAGS, config: null })
  assert.not.ok(equalBytes(await measure({ entries, flags: [...BASE_FLAGS, '--allow-fs-write=/'], config: null }), base))
  assert.not.ok(equalBytes(await measure({ entries, flags: BASE_FLAGS, config: { quality: { floor: 0.1 } } }), base))
  assert.not.ok(equalBytes(await measure({ entries, flags: BASE_FLAGS, config: null, runtime: 'node v0.0.0 linux x64' }), base))
  assert.not.ok(equalBytes(await measure({ entries: entries.slice(1), flags: BASE_FLAGS, config: null }), base), 'a file dropped from the set')
})

if (haveModels) {
  Measurement('image probes measure differently, and the model bytes count', async () => {
    const plain = await planLaunch()
    const face = await planLaunch({ modelDir: sharedPath('models') })
    assert.not.ok(equalBytes(plain.measurement, face.measurement))
    const files = await measuredFiles(face.entries)
    assert.ok(files.some(([l]) => l === 'face-model/embedder'))
  })
} else {
  Measurement.skip('image probes measure differently, and the model bytes count')
}

Measurement.run()

// ---------------------------------------------------------------------------
const Network = suite('enclave code and the network')

Network('no module the child loads imports a network built-in (Node 24 has no --allow-net)', () => {
  const closure = importClosure(haveModels ? [ENCLAVE_ENTRY, FACE_PROBE_MODULE] : [ENCLAVE_ENTRY])
  assert.equal(closure.builtins.filter((b) => NETWORK.includes(b)), [])
  for (const [file, refs] of closure.edges) {
    for (const r of refs) {
      assert.not.ok(r.resolved.kind === 'builtin' && NETWORK.includes(r.resolved.name), `${relative(REPO_ROOT, file)} imports ${r.specifier}`)
    }
  }
  assert.ok(NETWORK.filter((n) => n !== 'undici').every((n) => REFUSED_BUILTINS.includes(n)), 'and the child refuses each at run time')
})

Network('no package file the child may read requires or imports a network module', async () => {
  const pattern = /(?:require\(\s*|from\s*|import\(\s*)['"](?:node:)?(net|tls|http|https|http2|dgram|dns|undici)(?:\/[a-z]+)?['"]/
  const entries = enclaveReadSet(haveModels ? FACE : undefined).filter((e) => e.label.startsWith('node_modules/'))
  let scanned = 0
  for (const [label] of await measuredFiles(entries)) {
    if (!/\.(c|m)?js$/.test(label)) continue
    const entry = entries.find((e) => label === e.label || label.startsWith(e.label + '/'))!
    const path = entry.dir ? join(entry.path, label.slice(entry.label.length + 1)) : entry.path
    assert.not.ok(pattern.test(readFileSync(path, 'utf8')), label)
    scanned++
  }
  assert.ok(scanned > 20, `${scanned} files scanned`)
})

Network.run()

// ---------------------------------------------------------------------------
const Graph = suite('import graph parser')

/** The runtime imports of a file according to the TypeScript compiler. */
function tsImports (path: string): ImportRef[] {
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const out: ImportRef[] = []
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const clause = st.importClause
      if (clause?.isTypeOnly === true) continue
      let names: string[] | '*' = []
      if (clause?.namedBindings !== undefined && ts.isNamespaceImport(clause.namedBindings)) names = '*'
      else {
        if (clause?.name !== undefined) names.push('default')
        if (clause?.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings)) {
          for (const el of clause.namedBindings.elements) if (!el.isTypeOnly) names.push((el.propertyName ?? el.name).text)
        }
      }
      out.push({ specifier: st.moduleSpecifier.text, names, kind: 'static' })
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier !== undefined && ts.isStringLiteral(st.moduleSpecifier) && !st.isTypeOnly) {
      const names = st.exportClause === undefined || ts.isNamespaceExport(st.exportClause)
        ? '*' as const
        : st.exportClause.elements.filter((el) => !el.isTypeOnly).map((el) => (el.propertyName ?? el.name).text)
      out.push({ specifier: st.moduleSpecifier.text, names, kind: 'static' })
    }
  }
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0])) {
      out.push({ specifier: n.arguments[0].text, names: '*', kind: 'dynamic' })
    }
    ts.forEachChild(n, visit)
  }
  visit(sf)
  return out
}

const key = (r: ImportRef): string => `${r.kind} ${r.specifier} ${r.names === '*' ? '*' : [...r.names].sort().join(',')}`

Graph('agrees with the TypeScript compiler on every enclave module and every host module', () => {
  const roots = [ENCLAVE_ENTRY, FACE_PROBE_MODULE, join(REPO_ROOT, 'enclave/enclave.ts'), join(REPO_ROOT, 'enclave/attestor.ts')]
  const files = importClosure(roots).files
  assert.ok(files.length > 25)
  for (const f of files) {
    const ours = parseImports(readFileSync(f, 'utf8'))
    const theirs = tsImports(f)
    assert.equal(ours.filter((r) => r.kind === 'static').map(key).sort(), theirs.filter((r) => r.kind === 'static').map(key).sort(), relative(REPO_ROOT, f))
    // A dynamic import quoted in a comment may add to ours, never take away.
    for (const d of theirs.filter((r) => r.kind === 'dynamic')) assert.ok(ours.some((r) => key(r) === key(d)), `${relative(REPO_ROOT, f)}: ${d.specifier}`)
  }
})

Graph('reads default, named, aliased, namespace, side-effect and re-export forms; drops type-only ones', () => {
  const src = [
    "import a from 'pa'",
    "import b, { c as d, type E, f } from 'pb'",
    "import * as ns from 'pc'",
    "import 'pd'",
    "import type { G } from 'pe'",
    "import {\n  h,\n  type I\n} from 'pf'",
    "export { j as k } from 'pg'",
    "export * from 'ph'",
    "export type { L } from 'pi'",
    'const m = await import(\'pj\')'
  ].join('\n')
  assert.equal(parseImports(src).map(key).sort(), [
    'static pa default', 'static pb c,default,f', 'static pc *', 'static pd ', 'static pf h', 'static pg j', 'static ph *', 'dynamic pj *'
  ].sort())
})

Graph.run()
