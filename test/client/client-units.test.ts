/**
 * The verifier library's small units, without a network: the timeout
 * relations its constants must keep (and createClient enforces on the
 * caller's overrides), the typed errors that carry data, and the check that
 * an enclave's signed decision says what its match result reports.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_TIMEOUTS, REQUEST_TIMEOUT_MS, HEDGE_DELAY_MS, checkTimeouts, fetchDeadlineMs, REQUEST_REFRESH_MS } from '../../client/constants.ts'
import { FRESHNESS_WINDOW_MS } from '../../protocol/constants.ts'
import { QuorumError, EnrollError, quorumCode, type Refusal } from '../../client/errors.ts'
import { EnrollError as EnrollErrorFromFlow } from '../../client/enroll.ts'
import * as lib from '../../index.ts'
import { BioshardError, hasCode } from '../../errors.ts'
import { checkDecision } from '../../client/decision-check.ts'
import { signDecision, type DecisionInit } from '../../protocol/decision.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { MatchResult } from '../../enclave/enclave.ts'
import { createClient } from '../../client/client.ts'
import { expectArgErrorAsync, codeOf } from '../helpers/assert.ts'

const constants = suite('client constants')

constants('the defaults keep their relations: a request outlasts the hedge delay, a fetch outlasts a request', () => {
  assert.ok(REQUEST_TIMEOUT_MS > HEDGE_DELAY_MS)
  checkTimeouts(DEFAULT_TIMEOUTS)
  assert.ok(fetchDeadlineMs(DEFAULT_TIMEOUTS) > DEFAULT_TIMEOUTS.requestMs)
  assert.ok(REQUEST_REFRESH_MS < FRESHNESS_WINDOW_MS, 'a request is signed again well inside the holders\' freshness window')
  assert.ok(Object.isFrozen(DEFAULT_TIMEOUTS))
})

constants('a hedge delay that is not below the request deadline is refused, by name, before any network work', async () => {
  assert.throws(
    () => { checkTimeouts({ ...DEFAULT_TIMEOUTS, hedgeMs: DEFAULT_TIMEOUTS.requestMs }) },
    (e: unknown) => e instanceof RangeError && /timeouts\.hedgeMs/.test(e.message)
  )
  const authority = { network: 'bsn-0000000000000000', publicKey: new Uint8Array(32) }
  await expectArgErrorAsync(
    async () => await createClient({ bootstrap: ['/ip4/127.0.0.1/tcp/1'], authority, credentials: {}, timeouts: { requestMs: 100, hedgeMs: 200 } }),
    RangeError,
    'timeouts.hedgeMs'
  )
})

constants.run()

const errors = suite('typed client errors')

errors('QuorumError keeps the registry code and carries typed, frozen refusals and bad shares', () => {
  const refused: Refusal[] = [{ holder: 'a', x: 1, code: 'ERR_TIMEOUT' }]
  const e = new QuorumError('ERR_QUORUM_UNAVAILABLE', 'only 1 of 3', { refused, bad: [{ x: 2, holder: 'b', signed: true }] })
  assert.ok(e instanceof BioshardError && e instanceof Error)
  assert.is(e.code, 'ERR_QUORUM_UNAVAILABLE')
  assert.ok(hasCode(e, 'ERR_QUORUM_UNAVAILABLE'))
  assert.is(e.name, 'QuorumError')
  assert.equal(e.refused, refused)
  assert.is(e.bad[0].holder, 'b')
  refused.push({ holder: 'c', x: 3, code: 'ERR_BUSY' })
  assert.is(e.refused.length, 1, 'a copy, not the caller\'s array')
  assert.ok(Object.isFrozen(e.refused) && Object.isFrozen(e.bad))
})

errors('the quorum code is the most telling refusal: erased by any holder, the others only when all agree', () => {
  const r = (...codes: string[]): Refusal[] => codes.map((code, i) => ({ holder: `h${i}`, x: i + 1, code }))
  assert.is(quorumCode([]), 'ERR_QUORUM_UNAVAILABLE')
  assert.is(quorumCode(r('ERR_TIMEOUT', 'ERR_ERASED')), 'ERR_ERASED')
  assert.is(quorumCode(r('ERR_RATE_LIMITED', 'ERR_RATE_LIMITED')), 'ERR_RATE_LIMITED')
  assert.is(quorumCode(r('ERR_RATE_LIMITED', 'ERR_TIMEOUT')), 'ERR_QUORUM_UNAVAILABLE')
  assert.is(quorumCode(r('ERR_NOT_AUTHORISED', 'ERR_NOT_AUTHORISED', 'ERR_NOT_AUTHORISED')), 'ERR_NOT_AUTHORISED')
  assert.is(quorumCode(r('ERR_EXPIRED')), 'ERR_EXPIRED')
})

errors('the library exports both data-carrying errors, one class each wherever it is imported from', () => {
  assert.is(lib.QuorumError, QuorumError)
  assert.is(lib.EnrollError, EnrollError)
  assert.is(EnrollErrorFromFlow, EnrollError)
  const e = new EnrollError('ERR_QUORUM_UNAVAILABLE', 'store failed', { templateId: new Uint8Array(32), uncleaned: ['p'], stage: 'store' })
  assert.is(e.stage, 'store')
  assert.ok(Object.isFrozen(e.uncleaned))
})

errors.run()

const decision = suite('decision check')

const signer = generateSigningKey().key
const manifest = { body: { templateId: randomBytes(32), tenant: randomBytes(32), seq: 4 } } as unknown as Manifest
const digest = randomBytes(32)
const nonce = randomBytes(16)
const init: DecisionInit = {
  templateId: manifest.body.templateId,
  tenant: manifest.body.tenant,
  manifest: digest,
  seq: 4,
  threshold: 0.5,
  accept: true,
  nonce,
  time: Date.now(),
  bad: [2],
  measurement: randomBytes(32)
}
const resultOf = (d: DecisionInit, over: Partial<MatchResult> = {}): MatchResult =>
  ({
    decision: signDecision(d, signer),
    accept: d.accept,
    threshold: d.threshold,
    bad: [...d.bad],
    ...(d.score !== undefined ? { score: d.score } : {}),
    ...over
  })
const expected = { signer: signer.publicKey, manifest, digest, nonce }

decision('a decision that says what the result reports, about this manifest and nonce, passes', () => {
  checkDecision(resultOf(init), expected)
  checkDecision(resultOf({ ...init, score: 0.71 }), expected)
})

decision('a result that contradicts its signed decision is refused (accept, threshold, score or bad flipped)', () => {
  for (const over of [{ accept: false }, { threshold: 0.4 }, { score: 0.9 }, { bad: [] }] as Array<Partial<MatchResult>>) {
    assert.is(codeOf(() => { checkDecision(resultOf(init, over), expected) }), 'ERR_BAD_SIGNATURE', JSON.stringify(over))
  }
})

decision('a decision about another manifest, version, template, tenant or nonce is refused', () => {
  for (const d of [{ manifest: randomBytes(32) }, { seq: 5 }, { templateId: randomBytes(32) }, { tenant: randomBytes(32) }, { nonce: randomBytes(16) }]) {
    assert.is(codeOf(() => { checkDecision(resultOf({ ...init, ...d }), expected) }), 'ERR_BAD_SIGNATURE', Object.keys(d)[0])
  }
})

decision('a decision signed by another key is refused', () => {
  const other = generateSigningKey().key
  const r = { ...resultOf(init), decision: signDecision(init, other) }
  assert.is(codeOf(() => { checkDecision(r, expected) }), 'ERR_BAD_SIGNATURE')
})

decision.run()
