/**
 * The enclave process (enclave/enclave.ts and the child it runs):
 * templates enrolled by hand (encrypt → split → commit → seal each share to
 * the enclave key), matched inside a real isolated child; bad shares named;
 * decisions verifiable; the child's sandbox; crash, restart and timeouts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Enclave, type MatchRequest } from '../../enclave/enclave.ts'
import { NotEnoughSharesError } from '../../crypto/shares.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { verifyDecision } from '../../protocol/decision.ts'
import { processAttestation, readAttestation } from '../../protocol/attestation.ts'
import { ProcessAttestor } from '../../enclave/attestor.ts'
import { unit, near, enrol, sealed, request, rejection, remanifest } from '../helpers/match-request.ts'

const enclave = await Enclave.start()

// ---------------------------------------------------------------------------
const Match = suite('Enclave.match')

Match('a genuine probe is accepted and an impostor rejected', async () => {
  const e = await enrol()
  const genuine = await enclave.match(request(enclave, e, near(e.vector)))
  assert.ok(genuine.accept)
  assert.ok(genuine.score! > 0.95, `genuine score ${genuine.score}`)
  assert.equal(genuine.bad, [])
  const impostor = await enclave.match(request(enclave, e, unit(128)))
  assert.not.ok(impostor.accept)
  assert.ok(impostor.score! < 0.5, `impostor score ${impostor.score}`)
})

Match('the revealed score is the cosine of probe and template, to two decimals (int8 templates too)', async () => {
  const e = await enrol({ dtype: 'i8', dim: 256 })
  const probe = unit(256)
  let dot = 0
  for (let i = 0; i < 256; i++) dot += probe[i] * e.vector[i]
  const r = await enclave.match(request(enclave, e, probe))
  // Quantised to 0.01 (±0.005), plus the int8 rounding.
  assert.ok(Math.abs(r.score! - dot) < 0.015, `${r.score} vs ${dot}`)
  assert.is(r.accept, r.score! >= 0.5)
})

Match('the decision verifies under the enclave signer and fails under another key or when tampered', async () => {
  const e = await enrol()
  const req = request(enclave, e, near(e.vector))
  const r = await enclave.match(req)
  const body = verifyDecision(r.decision, enclave.signer)
  assert.equal(body.templateId, e.templateId)
  assert.equal(body.tenant, e.manifest.body.tenant)
  assert.equal(body.manifest, e.digest)
  assert.is(body.seq, e.manifest.body.seq)
  assert.equal(body.nonce, req.nonce)
  assert.equal(body.measurement, enclave.measurement)
  assert.is(body.score, r.score)
  assert.is(body.threshold, 0.5)
  assert.is(body.accept, true)
  assert.ok(Math.abs(body.time - Date.now()) < 60_000, 'stamped now, not some other time')
  assert.is((await rejection(Promise.resolve().then(() => verifyDecision(r.decision, generateSigningKey().key.publicKey)))).code, 'ERR_BAD_SIGNATURE')
  const tampered = r.decision.slice()
  tampered[tampered.length - 1] ^= 1
  assert.is((await rejection(Promise.resolve().then(() => verifyDecision(tampered, enclave.signer)))).code, 'ERR_BAD_SIGNATURE')
})

Match('a corrupted sealed share and a share failing its commitment are named in bad; t good ones among more still match', async () => {
  const e = await enrol({ t: 3, n: 5 })
  const key = enclave.publicKey
  const shares = e.shares.map((s) => sealed(key, e, s))
  shares[0].sealed[40] ^= 0xff // tampered in transit: fails to open
  const wrong = { x: e.shares[1].x, bytes: e.shares[1].bytes.slice() }
  wrong.bytes[0] ^= 1
  shares[1] = sealed(key, e, wrong) // opens, fails the manifest's commitment
  const r = await enclave.match(request(enclave, e, near(e.vector), shares))
  assert.ok(r.accept)
  assert.equal(r.bad, [e.shares[0].x, e.shares[1].x].sort((a, b) => a - b))
  assert.equal(verifyDecision(r.decision, enclave.signer).bad, r.bad, 'bad holders are in the signed decision')
})

Match('a share sealed for another x, another request, another request time or another enclave is bad', async () => {
  const e = await enrol({ t: 2, n: 6 })
  const key = enclave.publicKey
  const good = sealed(key, e, e.shares[0])
  const otherX = { ...sealed(key, e, e.shares[1]), x: e.shares[2].x }
  const otherRequest = { ...sealed(key, e, e.shares[3]), request: randomBytes(32) }
  const sealedAt = sealed(key, e, e.shares[5])
  const otherTime = { ...sealedAt, time: sealedAt.time - 1 } // never the time it was sealed under, however fast this runs
  const otherEnclave = sealed(generateSigningKey().key.publicKey, e, e.shares[4]) // an Ed25519 key read as X25519: not ours
  const more = sealed(key, e, e.shares[1])
  const r = await enclave.match(request(enclave, e, near(e.vector), [good, otherX, otherRequest, otherEnclave, more, otherTime]))
  assert.ok(r.accept)
  assert.equal(r.bad, [e.shares[2].x, e.shares[3].x, e.shares[4].x, e.shares[5].x].sort((a, b) => a - b))
})

Match('fewer than t good shares → ERR_NOT_ENOUGH_SHARES naming the bad x, then spares complete it', async () => {
  const e = await enrol({ t: 3, n: 5 })
  const key = enclave.publicKey
  const first = e.shares.slice(0, 3).map((s) => sealed(key, e, s))
  first[2].sealed[first[2].sealed.length - 1] ^= 1
  const err = await rejection(enclave.match(request(enclave, e, near(e.vector), first)))
  assert.ok(err instanceof NotEnoughSharesError, String(err))
  assert.is(err.code, 'ERR_NOT_ENOUGH_SHARES')
  assert.equal(err.bad, [e.shares[2].x])
  // The caller fetches a spare and tries again with the good ones.
  const retry = [first[0], first[1], sealed(key, e, e.shares[3])]
  assert.ok((await enclave.match(request(enclave, e, near(e.vector), retry))).accept)
})

Match('a combined envelope that does not authenticate → ERR_DECRYPT (the tenant signed another model than it encrypted under)', async () => {
  const e = remanifest(await enrol(), { model: 'another-model' })
  assert.is((await rejection(enclave.match(request(enclave, e, near(e.vector))))).code, 'ERR_DECRYPT')
})

Match('a probe of another dimension → ERR_BAD_REQUEST; an image probe without face models → ERR_BAD_REQUEST', async () => {
  const e = await enrol()
  assert.is((await rejection(enclave.match(request(enclave, e, unit(64))))).code, 'ERR_BAD_REQUEST')
  const req: MatchRequest = { ...request(enclave, e, e.vector), probe: { kind: 'image', bytes: new Uint8Array(100) } }
  assert.is((await rejection(enclave.match(req))).code, 'ERR_BAD_REQUEST')
})

Match('malformed requests are refused on the host, naming the field', async () => {
  const e = await enrol()
  const good = request(enclave, e, e.vector)
  const cases: Array<[Partial<MatchRequest> | Record<string, unknown>, string, typeof TypeError | typeof RangeError]> = [
    [{ manifest: new Uint8Array(0) }, 'req.manifest', RangeError],
    [{ manifest: 'bytes' }, 'req.manifest', TypeError],
    [{ nonce: new Uint8Array(4) }, 'req.nonce', RangeError],
    [{ shares: [] }, 'req.shares', RangeError],
    [{ shares: [good.shares[0], good.shares[0], good.shares[1]] }, 'req.shares[1].x', RangeError],
    [{ shares: [{ ...good.shares[0], request: new Uint8Array(31) }] }, 'req.shares[0].request', RangeError],
    [{ shares: [{ ...good.shares[0], time: -1 }] }, 'req.shares[0].time', TypeError],
    [{ probe: { kind: 'embedding', vector: [1, 2] } }, 'req.probe.vector', TypeError]
  ]
  for (const [change, field, type] of cases) {
    const err = await rejection(enclave.match({ ...good, ...change } as MatchRequest))
    assert.ok(err instanceof type && err.message.includes(field), `${field}: ${String(err)}`)
  }
})

Match('many concurrent requests are multiplexed to the right callers', async () => {
  const enrolled = await Promise.all(Array.from({ length: 12 }, async () => await enrol({ dim: 64 })))
  const results = await Promise.all(enrolled.flatMap((e) => [
    enclave.match(request(enclave, e, near(e.vector))).then((r) => ({ e, r, genuine: true })),
    enclave.match(request(enclave, e, unit(64))).then((r) => ({ e, r, genuine: false }))
  ]))
  for (const { e, r, genuine } of results) {
    assert.is(r.accept, genuine)
    assert.equal(verifyDecision(r.decision, enclave.signer).templateId, e.templateId)
  }
})

Match('the caller\'s buffers are left intact (the child wipes its own copies)', async () => {
  const e = await enrol()
  const probe = near(e.vector)
  const before = probe.slice()
  const req = request(enclave, e, probe)
  const sealedBefore = req.shares.map((s) => s.sealed.slice())
  await enclave.match(req)
  assert.equal(probe, before)
  assert.equal(req.shares.map((s) => s.sealed), sealedBefore)
})

Match.run()

// ---------------------------------------------------------------------------
const Isolation = suite('Enclave isolation')

Isolation('inside the child: no fs.write, child processes, workers, WASI or inspector; no addons without face models', () => {
  const iso = enclave.isolation
  assert.is(iso.fsWrite, false)
  assert.is(iso.childProcess, false)
  assert.is(iso.worker, false)
  assert.is(iso.wasi, false)
  assert.is(iso.inspector, false)
  assert.is(iso.addons, false)
})

Isolation('inside the child: reading outside the read set fails with ERR_ACCESS_DENIED', () => {
  assert.is(enclave.isolation.readRoot, false)
  assert.is(enclave.isolation.canaryRead, 'denied')
})

Isolation('inside the child: network modules are refused and fetch is gone', () => {
  assert.is(enclave.isolation.networkModule, 'refused')
  assert.is(enclave.isolation.fetch, false)
})

Isolation('keys are generated inside the child: fresh per enclave, and the attestation carries them', async () => {
  const other = await Enclave.start()
  try {
    assert.not.equal(other.publicKey, enclave.publicKey)
    assert.not.equal(other.signer, enclave.signer)
    assert.equal(other.measurement, enclave.measurement, 'same code, same measurement')
    const verifier = generateSigningKey().key
    const att = readAttestation(new ProcessAttestor(verifier).attest(enclave.identity))
    assert.equal(processAttestation.verify(att, verifier.publicKey), { key: enclave.publicKey, measurement: enclave.measurement })
    assert.equal(att.body.signer, enclave.signer)
  } finally {
    await other.close()
  }
})

Isolation.run()

// ---------------------------------------------------------------------------
const Lifecycle = suite('Enclave lifecycle')

Lifecycle('a killed child rejects the pending request with ERR_ENCLAVE; the next match restarts it with new keys', async () => {
  const e = await enrol()
  const gen = enclave.generation
  const oldKey = enclave.publicKey
  const oldSigner = enclave.signer
  const events: string[] = []
  enclave.once('exit', () => events.push('exit'))
  enclave.once('ready', () => events.push('ready'))
  const pid = enclave.pid as number
  process.kill(pid, 'SIGSTOP') // hold the request in flight
  const pending = enclave.match(request(enclave, e, near(e.vector)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  process.kill(pid, 'SIGKILL')
  assert.is((await rejection(pending)).code, 'ERR_ENCLAVE')
  assert.is(enclave.generation, gen + 1, 'the generation moves on as soon as the keys are gone')
  assert.throws(() => enclave.publicKey, (err: { code?: string }) => err.code === 'ERR_ENCLAVE')
  // Shares sealed to the dead key: refused as ERR_ENCLAVE (not blamed on holders); the child restarts.
  const stale = request({ publicKey: oldKey } as unknown as Enclave, e, near(e.vector))
  assert.is((await rejection(enclave.match(stale))).code, 'ERR_ENCLAVE')
  await enclave.ready()
  assert.not.equal(enclave.publicKey, oldKey)
  assert.not.equal(enclave.signer, oldSigner)
  assert.ok(enclave.pid !== pid)
  const r = await enclave.match(request(enclave, e, near(e.vector)))
  assert.ok(r.accept)
  verifyDecision(r.decision, enclave.signer)
  assert.equal(events, ['exit', 'ready'])
})

Lifecycle('shares sealed for an older generation are refused with ERR_ENCLAVE', async () => {
  const e = await enrol()
  const req = { ...request(enclave, e, near(e.vector)), generation: enclave.generation - 1 }
  assert.is((await rejection(enclave.match(req))).code, 'ERR_ENCLAVE')
  assert.ok((await enclave.match({ ...req, generation: enclave.generation })).accept)
})

Lifecycle('a request past its deadline → ERR_TIMEOUT; the enclave keeps serving', async () => {
  const quick = await Enclave.start({ timeoutMs: 200 })
  try {
    const e = await enrol()
    process.kill(quick.pid as number, 'SIGSTOP')
    const started = Date.now()
    const err = await rejection(quick.match(request(quick, e, near(e.vector))))
    assert.is(err.code, 'ERR_TIMEOUT')
    // Its own deadline ended it, not a hang ended by something else (a bound far from 200 ms, for a busy machine).
    assert.ok(Date.now() - started < 30_000)
    process.kill(quick.pid as number, 'SIGCONT')
    assert.ok((await quick.match(request(quick, e, near(e.vector)))).accept)
  } finally {
    await quick.close()
  }
})

Lifecycle('requests beyond the in-flight cap fail fast with ERR_BUSY', async () => {
  const e = await enrol()
  // Each with its own fetch requests: the enclave matches one request's shares once.
  const reqs = Array.from({ length: 257 }, () => request(enclave, e, near(e.vector)))
  process.kill(enclave.pid as number, 'SIGSTOP')
  const inFlight = reqs.slice(0, 256).map(async (req) => await enclave.match(req))
  assert.is((await rejection(enclave.match(reqs[256]))).code, 'ERR_BUSY')
  process.kill(enclave.pid as number, 'SIGCONT')
  const done = await Promise.all(inFlight)
  assert.ok(done.every((r) => r.accept))
})

Lifecycle('close() ends the child; later calls fail with ERR_ENCLAVE and do not restart it', async () => {
  const pid = enclave.pid as number
  await enclave.close()
  assert.throws(() => process.kill(pid, 0), 'the child is gone')
  const e = await enrol()
  const req = { ...request({ publicKey: randomBytes(32) } as unknown as Enclave, e, e.vector) }
  assert.is((await rejection(enclave.match(req))).code, 'ERR_ENCLAVE')
  assert.is((await rejection(enclave.ready())).code, 'ERR_ENCLAVE')
  assert.is(enclave.pid, undefined)
  await enclave.close() // idempotent
})

Lifecycle.run()
