/**
 * Invariant 1 at run time: after a match, the host process's memory holds no
 * window of the template, its envelope or a plaintext share, and the enclave
 * child's memory holds none either once the match is done (it wipes them).
 *
 * The test process enrols (so it holds the template itself) and drives a
 * separate host process, which starts the enclave and only ever receives
 * sealed shares. As a verification does, it sends two of them ahead of the
 * match (opened by the enclave on arrival), and a spare that the match never
 * uses, which must be wiped with the rest. Both processes are then read from
 * outside:
 *
 * - `/proc/<pid>/mem` of the host and of the enclave child: every readable
 *   anonymous or writable mapping, searched for 64-byte windows. Controls
 *   prove the scan finds bytes that are there (a buffer the host is told to
 *   hold; the child's own public key).
 * - a V8 heap snapshot of the host. A snapshot records strings but never the
 *   contents of typed arrays or ArrayBuffers (checked below with a control),
 *   so it is searched for the hex and base64 forms of the windows — a leak
 *   through logging or string conversion — with a control string that it
 *   must find.
 *
 * Linux only (procfs); skipped elsewhere with a message.
 *
 * The template check guards two shared helpers in particular:
 * `decodeCanonical` wipes its canonical-form re-encoding and `decodeTemplate`
 * returns cborg's fresh copy instead of slicing another.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from '../../crypto/bytes.ts'
import { enrol, sealed } from '../helpers/match-request.ts'
import { CAN_SCAN, WINDOW, ask, runScript, scanProcess, windows } from '../helpers/process-memory.ts'

const Memory = suite('enclave memory')
const ENCLAVE = fileURLToPath(new URL('../../enclave/enclave.ts', import.meta.url))

/** The host: starts an enclave, forwards what it is sent, and obeys the test's controls. */
const HOST = `
import { Enclave } from ${JSON.stringify(ENCLAVE)}
import { writeHeapSnapshot } from 'node:v8'
const enclave = await Enclave.start()
const held = []
process.on('message', async (m) => {
  if (m.type === 'match') {
    try {
      const session = enclave.session()
      for (const share of m.ahead) enclave.preopen(session, m.target, share)
      const r = await enclave.match({ ...m.req, session })
      process.send({ type: 'result', accept: r.accept, score: r.score })
    } catch (e) { process.send({ type: 'result', error: String(e) }) }
  } else if (m.type === 'hold') {
    held.push(m.value)
    process.send({ type: 'held' })
  } else if (m.type === 'snapshot') {
    process.send({ type: 'snapshot', path: writeHeapSnapshot(m.path) })
  } else if (m.type === 'quit') {
    await enclave.close()
    process.exit(0)
  }
})
process.send({ type: 'ready', key: enclave.publicKey, pid: enclave.pid })
`

if (!CAN_SCAN) {
  process.stdout.write('SKIP enclave memory: needs Linux /proc/<pid>/mem\n')
  Memory.skip('after a match the host holds no window of the template, its envelope or a plaintext share')
  Memory.skip('after a match the enclave holds no window of the envelope, its data key or a plaintext share')
  Memory.skip('after a match the enclave holds no window of the template either')
  Memory.skip('a heap snapshot of the host holds no string form of them')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-memory-'))
  const host = runScript(HOST)
  const ready = await ask(host, 'ready')
  const enclaveKey = ready.key as Uint8Array
  const enclavePid = ready.pid as number

  // A distinctive 512-d template, enrolled here (this process holds it, the host never does).
  const vector = new Float32Array(512).map(() => Math.random() - 0.5)
  const e = await enrol({ vector, model: 'memory-test-model', t: 3, n: 5 })
  const { templateBytes, envelope, shares } = e
  const sealedShares = shares.slice(0, 4).map((s) => sealed(enclaveKey, e, s))
  const ahead = [sealedShares[0], sealedShares[1], sealedShares[3]]
  const probe = vector.map((v) => v + (Math.random() - 0.5) * 0.05)
  const target = { templateId: e.templateId, manifest: e.digest }
  const req = { manifest: e.manifestBytes, nonce: randomBytes(16), shares: sealedShares.slice(0, 3), probe: { kind: 'embedding', vector: probe } }
  const result = await ask(host, 'result', { type: 'match', ahead, target, req })

  const secrets: Array<{ name: string, bytes: Uint8Array }> = [
    ...windows(templateBytes).map((bytes, i) => ({ name: `template encoding #${i}`, bytes })),
    ...windows(new Uint8Array(vector.buffer)).map((bytes, i) => ({ name: `template float32 values #${i}`, bytes })),
    { name: 'envelope head (version, data key, nonce)', bytes: envelope.slice(0, WINDOW) },
    { name: 'envelope ciphertext', bytes: envelope.slice(envelope.length - WINDOW) },
    ...shares.slice(0, 3).map((s) => ({ name: `plaintext share x=${s.x}`, bytes: s.bytes.slice(100, 100 + WINDOW) })),
    { name: `plaintext share x=${shares[3].x}, sent ahead and never used`, bytes: shares[3].bytes.slice(100, 100 + WINDOW) }
  ]
  const control = randomBytes(WINDOW)
  await ask(host, 'held', { type: 'hold', value: control })
  const controlString = Buffer.from(randomBytes(WINDOW)).toString('hex')
  await ask(host, 'held', { type: 'hold', value: controlString })

  const hits = (found: boolean[], names: string[]): string[] => names.filter((_, i) => found[i])

  Memory('after a match the host holds no window of the template, its envelope or a plaintext share', () => {
    assert.equal(result.accept, true, String(result.error))
    const found = scanProcess(host.pid as number, [control, ...secrets.map((s) => s.bytes)])
    assert.ok(found[0], 'control: the scan finds a buffer the host holds')
    assert.equal(hits(found.slice(1), secrets.map((s) => s.name)), [])
  })

  Memory('after a match the enclave holds no window of the envelope, its data key or a plaintext share', () => {
    const wiped = secrets.filter((s) => !s.name.startsWith('template'))
    const found = scanProcess(enclavePid, [enclaveKey, ...wiped.map((s) => s.bytes)])
    assert.ok(found[0], 'control: the scan finds the enclave\'s own public key')
    assert.equal(hits(found.slice(1), wiped.map((s) => s.name)), [])
  })

  Memory('after a match the enclave holds no window of the template either', () => {
    const templ = secrets.filter((s) => s.name.startsWith('template'))
    assert.equal(hits(scanProcess(enclavePid, templ.map((s) => s.bytes)), templ.map((s) => s.name)), [])
  })

  Memory('a heap snapshot of the host holds no string form of them', async () => {
    const { path } = await ask(host, 'snapshot', { type: 'snapshot', path: join(dir, 'host.heapsnapshot') })
    const snap = readFileSync(path as string)
    assert.ok(snap.indexOf(controlString) >= 0, 'control: a held hex string appears in the snapshot')
    const why = 'as documented: typed-array contents never appear in a snapshot, so raw bytes are checked via /proc above'
    assert.is(snap.indexOf(Buffer.from(control)), -1, why)
    for (const { name, bytes } of secrets) {
      const b = Buffer.from(bytes)
      for (const form of [b, b.toString('hex'), b.toString('base64'), b.toString('base64url')]) {
        assert.is(snap.indexOf(form), -1, `${name} as ${typeof form === 'string' ? 'text' : 'bytes'}`)
      }
    }
  })

  Memory.after(async () => {
    const exited = new Promise((resolve) => host.once('exit', resolve))
    host.send({ type: 'quit' })
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
}

Memory.run()
