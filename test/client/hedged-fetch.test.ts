/**
 * The hedged t-of-n fetch as a unit: scripted holders (fast, slow, refusing,
 * bad, hanging and deaf to their signal) pin down the order holders are
 * asked in, when spares are asked, that losers are cancelled and that a
 * collection always returns; then real holders of a small network, one of
 * them stopped, serve a fetch whose shares reconstruct the template.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HedgedFetch, type Candidate, type HolderRequest } from '../../client/hedged-fetch.ts'
import { BioshardError } from '../../errors.ts'
import { LocalNetwork } from '../../sim/local-network.ts'
import { prepareFetch, sendFetch } from '../../client/holder-requests.ts'
import { combineShares } from '../../crypto/shares.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { clientHost, fetchParties, enrolByHand, openFetched, MODEL } from '../helpers/enrol.ts'
import type { FetchResponse } from '../../protocol/fetch.ts'

const holders = (n: number): Candidate[] => Array.from({ length: n }, (_, i) => ({ holder: `h${i + 1}`, x: i + 1 }))
/** Long enough never to fire during a test that does not wait for it. */
const NEVER_MS = 600_000

type Behaviour = 'answer' | 'refuse' | 'hang' | 'deaf'

/** A scripted request function: each holder behaves as told; records who was asked and whose signal was aborted. */
function script (behaviour: Record<string, Behaviour>): { request: HolderRequest<string>, asked: string[], aborted: Set<string> } {
  const asked: string[] = []
  const aborted = new Set<string>()
  const request: HolderRequest<string> = async (c, signal) => {
    asked.push(c.holder)
    signal.addEventListener('abort', () => { aborted.add(c.holder) }, { once: true })
    const b = behaviour[c.holder] ?? 'answer'
    if (b === 'answer') return `share-${c.x}`
    if (b === 'refuse') throw new BioshardError('ERR_RATE_LIMITED', 'slow down')
    // 'hang' ends when its signal fires; 'deaf' never ends at all.
    return await new Promise<string>((resolve, reject) => {
      if (b === 'hang') signal.addEventListener('abort', () => { reject(new BioshardError('ERR_TIMEOUT', 'aborted')) }, { once: true })
    })
  }
  return { request, asked, aborted }
}

const scripted = suite('hedged fetch with scripted holders')

scripted('the first t holders are asked in the order given, and nobody else when they answer', async () => {
  const s = script({})
  const f = new HedgedFetch({ holders: holders(5), request: s.request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS })
  const r = await f.collect(3)
  assert.ok(r.complete)
  assert.equal(s.asked, ['h1', 'h2', 'h3'])
  assert.equal(r.good.map((g) => g.value).sort(), ['share-1', 'share-2', 'share-3'])
  assert.equal(r.refused, [])
  assert.is(f.remaining, 2)
})

scripted('a refusal asks the next holder at once, without waiting for the hedge delay, and is reported typed', async () => {
  const s = script({ h2: 'refuse' })
  const f = new HedgedFetch({ holders: holders(5), request: s.request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS })
  const r = await f.collect(3)
  assert.ok(r.complete)
  assert.equal(s.asked, ['h1', 'h2', 'h3', 'h4'])
  assert.equal(r.refused, [{ holder: 'h2', x: 2, code: 'ERR_RATE_LIMITED' }])
  assert.equal(r.good.map((g) => g.holder).sort(), ['h1', 'h3', 'h4'])
})

scripted('a slow holder gets a spare after the hedge delay, and the loser is cancelled, not reported as refusing', async () => {
  const s = script({ h2: 'hang' })
  const f = new HedgedFetch({ holders: holders(5), request: s.request, hedgeMs: 5, deadlineMs: NEVER_MS })
  const r = await f.collect(3)
  assert.ok(r.complete)
  assert.equal(s.asked, ['h1', 'h2', 'h3', 'h4'], 'exactly one spare')
  assert.ok(s.aborted.has('h2'), 'the slow request was aborted')
  assert.not.ok(s.aborted.has('h1'), 'answered requests are not aborted')
  assert.equal(r.refused, [])
  assert.equal(r.good.map((g) => g.holder).sort(), ['h1', 'h3', 'h4'])
})

scripted('a share found bad later is handed back, reported, and replaced by a spare on the next collection', async () => {
  const s = script({})
  const f = new HedgedFetch({ holders: holders(4), request: s.request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS })
  const first = await f.collect(2)
  assert.ok(first.complete)
  f.reject({ x: 1, holder: 'h1', signed: true })
  const second = await f.collect(2)
  assert.ok(second.complete)
  assert.equal(s.asked, ['h1', 'h2', 'h3'])
  assert.equal(second.good.map((g) => g.holder).sort(), ['h2', 'h3'])
  assert.equal(second.bad, [{ x: 1, holder: 'h1', signed: true }])
})

scripted('holders that never answer and ignore their signal cannot hang a collection: it returns at the deadline', async () => {
  const s = script({ h1: 'deaf', h2: 'deaf', h3: 'deaf', h4: 'deaf' })
  const f = new HedgedFetch({ holders: holders(4), request: s.request, hedgeMs: 1, deadlineMs: 50 })
  const r = await f.collect(2)
  assert.not.ok(r.complete)
  assert.equal(r.good, [])
  assert.ok(r.refused.length >= 2 && r.refused.every((x) => x.code === 'ERR_TIMEOUT'), JSON.stringify(r.refused))
  for (const x of r.refused) assert.ok(s.aborted.has(x.holder), 'every request still running was aborted')
})

scripted('the caller\'s signal ends a collection with ERR_ABORTED, and no holder is asked after it', async () => {
  const s = script({ h1: 'hang', h2: 'deaf', h3: 'hang' })
  const caller = new AbortController()
  const f = new HedgedFetch({ holders: holders(5), request: s.request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS, signal: caller.signal })
  const pending = f.collect(2)
  setTimeout(() => { caller.abort() }, 5)
  const r = await pending
  assert.not.ok(r.complete)
  assert.equal(r.refused.map((x) => x.code), ['ERR_ABORTED', 'ERR_ABORTED'])
  assert.equal(s.asked, ['h1', 'h2'])
  const again = await f.collect(2)
  assert.not.ok(again.complete)
  assert.equal(s.asked, ['h1', 'h2'], 'an aborted fetch asks nobody')
})

scripted('when every holder refuses, the collection ends short with each refusal, once', async () => {
  const s = script({ h1: 'refuse', h2: 'refuse', h3: 'refuse' })
  const f = new HedgedFetch({ holders: holders(3), request: s.request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS })
  const r = await f.collect(2)
  assert.not.ok(r.complete)
  assert.equal(r.refused.map((x) => x.holder), ['h1', 'h2', 'h3'])
  assert.equal(s.asked, ['h1', 'h2', 'h3'])
})

scripted('a request function that throws at once, or rejects with something that is not an error, counts as a refusal', async () => {
  const request: HolderRequest<string> = (c) => {
    if (c.x === 1) throw new Error('boom')
    if (c.x === 2) return Promise.reject(null) // eslint-disable-line prefer-promise-reject-errors
    return Promise.resolve('ok')
  }
  const f = new HedgedFetch({ holders: holders(4), request, hedgeMs: NEVER_MS, deadlineMs: NEVER_MS })
  const r = await f.collect(2)
  assert.ok(r.complete)
  assert.equal(r.refused.map((x) => x.code), ['ERR_INTERNAL', 'ERR_INTERNAL'])
})

scripted('a hedge delay below zero or a deadline that is not positive is refused', () => {
  assert.throws(() => new HedgedFetch({ holders: [], request: async () => 'x', hedgeMs: -1, deadlineMs: 1 }), RangeError)
  assert.throws(() => new HedgedFetch({ holders: [], request: async () => 'x', hedgeMs: 0, deadlineMs: 0 }), RangeError)
})

scripted.run()

const real = suite('hedged fetch from real holders')

real('a stopped holder is refused and a spare serves; the t shares fetched reconstruct the template', async () => {
  const net = await LocalNetwork.start({ nodes: 4, sites: 4 })
  const client = await clientHost(net)
  try {
    const { tenant, enclave, creds } = fetchParties(net)
    const e = await enrolByHand(client.host, net.nodes, tenant, { measurements: [enclave.measurement], t: 2 })
    const entries = e.manifest.body.shares.map((s) => ({ holder: s.holder, x: s.x }))
    await net.nodes.find((n) => n.cert.body.peer === entries[0].holder)?.stop()
    const prepared = prepareFetch(client.host, { templateId: e.templateId, xs: entries.map((s) => s.x), purpose: 'login', creds })
    const request: HolderRequest<FetchResponse> = async (c, signal) =>
      await sendFetch(client.host, c.holder, { x: c.x, prepared }, { signal, timeoutMs: 5_000 })
    const f = new HedgedFetch({ holders: entries, request, hedgeMs: NEVER_MS, deadlineMs: 30_000 })
    const r = await f.collect(2)
    assert.ok(r.complete, JSON.stringify(r.refused))
    assert.equal(r.refused.map((x) => x.holder), [entries[0].holder], 'the stopped holder is reported')
    const shares = r.good.map((g) => ({ x: g.x, bytes: openFetched(enclave.keys, g.value, prepared.time) }))
    const template = decryptTemplate(await combineShares(shares), { templateId: e.templateId, modality: 'face', model: MODEL })
    assert.ok(equalBytes(template, e.template))
  } finally {
    await client.stop()
    await net.stop()
  }
})

real.run()
