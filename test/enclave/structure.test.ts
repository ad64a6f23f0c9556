/**
 * The host never handles a share or a template in the clear, by
 * construction: no host-side module — the enclave's host class, the
 * application-facing client, the library root — imports the functions that
 * open sealed shares, combine or reconstruct shares, or decrypt a template,
 * nor reaches the child's match logic. Only the child entry does.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { importClosure, type ImportClosure } from '../../enclave/import-graph.ts'
import { REPO_ROOT, ENCLAVE_ENTRY } from '../../enclave/read-set.ts'

/** Functions that turn sealed or split material into plaintext, by module. */
const FORBIDDEN: Record<string, string[]> = {
  'crypto/seal.ts': ['open', 'Opener'],
  'crypto/shares.ts': ['combineShares', 'reconstruct'],
  'crypto/envelope.ts': ['decryptTemplate', 'decryptTemplateWithKey']
}
/** Child-only modules. */
const CHILD_ONLY = ['enclave/match.ts', 'enclave/enclave-main.ts', 'enclave/face-probe.ts']

const rel = (p: string): string => relative(REPO_ROOT, p)

/** Every (importer → module: name) edge that reaches a forbidden function or a child-only module. */
function violations (closure: ImportClosure): string[] {
  const out: string[] = []
  for (const f of closure.files) if (CHILD_ONLY.includes(rel(f))) out.push(`reaches ${rel(f)}`)
  for (const [file, refs] of closure.edges) {
    for (const r of refs) {
      const shamir = r.resolved.kind === 'package' && r.resolved.name === 'shamir-secret-sharing'
      if (shamir && rel(file) !== 'crypto/shares.ts') out.push(`${rel(file)} imports shamir-secret-sharing directly`)
      if (r.resolved.kind !== 'file') continue
      const target = rel(r.resolved.path)
      const names = FORBIDDEN[target]
      if (names === undefined) continue
      const hit = r.names === '*' ? ['*'] : r.names.filter((n) => names.includes(n))
      for (const n of hit) out.push(`${rel(file)} → ${target}: ${n}${r.kind === 'dynamic' ? ' (dynamic)' : ''}`)
    }
  }
  return out
}

const clientDir = join(REPO_ROOT, 'client')
const hostRoots = [
  join(REPO_ROOT, 'enclave/enclave.ts'),
  join(REPO_ROOT, 'enclave/attestor.ts'),
  ...(existsSync(clientDir) ? readdirSync(clientDir).filter((f) => f.endsWith('.ts')).map((f) => join(clientDir, f)) : []),
  ...(existsSync(join(REPO_ROOT, 'index.ts')) ? [join(REPO_ROOT, 'index.ts')] : [])
]

const Structure = suite('host/enclave separation')

Structure('the enclave host class reaches no open/combine/reconstruct/decrypt and no child-only module', () => {
  const closure = importClosure([join(REPO_ROOT, 'enclave/enclave.ts'), join(REPO_ROOT, 'enclave/attestor.ts')])
  assert.equal(violations(closure), [])
})

Structure('nor does any application-facing module (client/*.ts, index.ts)', () => {
  for (const root of hostRoots) assert.equal(violations(importClosure([root])), [], rel(root))
  assert.ok(hostRoots.length >= 2)
})

Structure('the check can fail: walked from the child entry it finds exactly the plaintext paths', () => {
  const found = violations(importClosure([ENCLAVE_ENTRY]))
  assert.ok(found.includes('reaches enclave/match.ts'))
  assert.ok(found.includes('enclave/enclave-main.ts → crypto/seal.ts: Opener'))
  assert.ok(found.includes('enclave/match.ts → crypto/shares.ts: reconstruct'))
  assert.ok(found.includes('enclave/match.ts → crypto/envelope.ts: decryptTemplate'))
})

Structure('host-only modules are not in the child, and match.ts is imported by the child entry alone', () => {
  const child = importClosure([ENCLAVE_ENTRY])
  const childFiles = child.files.map(rel)
  for (const f of ['enclave/enclave.ts', 'enclave/launch.ts', 'enclave/read-set.ts', 'enclave/measurement.ts', 'enclave/attestor.ts']) {
    assert.not.ok(childFiles.includes(f), f)
  }
  const importers = [...child.edges]
    .filter(([, refs]) => refs.some((r) => r.resolved.kind === 'file' && rel(r.resolved.path) === 'enclave/match.ts'))
    .map(([f]) => rel(f))
  assert.equal(importers, ['enclave/enclave-main.ts'])
})

Structure('the child decodes manifests without loading libp2p (protocol/field-formats.ts, not fields.ts)', () => {
  const child = importClosure([ENCLAVE_ENTRY])
  assert.ok(child.files.map(rel).includes('protocol/manifest.ts'), 'the child decodes the manifest itself')
  assert.equal(child.packages.filter((p) => p.includes('libp2p') || p.startsWith('@multiformats')), [])
  assert.not.ok(child.files.map(rel).includes('protocol/fields.ts'))
})

Structure.run()
