/**
 * Node metrics (node/metrics/): request counts and durations per protocol,
 * gauges read at scrape time on the node's own registry, and the HTTP server
 * for /metrics and /healthz on a free local port.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { register as globalRegistry } from 'prom-client'
import { NodeMetrics } from '../../node/metrics/metrics.ts'
import { startMetricsServer } from '../../node/metrics/server.ts'

const Metrics = suite('metrics')

function sources (state = { shares: 0, connected: 0, admitted: 0 }): ConstructorParameters<typeof NodeMetrics>[0] {
  return { sharesHeld: () => state.shares, peersConnected: () => state.connected, peersAdmitted: () => state.admitted }
}
async function http (url: string, method = 'GET'): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

Metrics('counts requests by protocol and outcome', async () => {
  const m = new NodeMetrics(sources(), { processMetrics: false })
  m.observe('fetch', 'ok', 0.002)
  m.observe('fetch', 'ok', 0.003)
  m.observe('fetch', 'ERR_REPLAY', 0.000_7)
  m.observe('store', 'ok', 0.4)
  const text = await m.text()
  assert.match(text, /^bioshard_requests_total\{protocol="fetch",outcome="ok"\} 2$/m)
  assert.match(text, /^bioshard_requests_total\{protocol="fetch",outcome="ERR_REPLAY"\} 1$/m)
  assert.match(text, /^bioshard_requests_total\{protocol="store",outcome="ok"\} 1$/m)
})

Metrics('records durations in a histogram per protocol with sub-millisecond to 2 s buckets', async () => {
  const m = new NodeMetrics(sources(), { processMetrics: false })
  m.observe('fetch', 'ok', 0.000_4)
  m.observe('fetch', 'ok', 0.003)
  m.observe('fetch', 'ERR_RATE_LIMITED', 1.5)
  const text = await m.text()
  assert.match(text, /^bioshard_request_duration_seconds_bucket\{le="0\.0005",protocol="fetch"\} 1$/m)
  assert.match(text, /^bioshard_request_duration_seconds_bucket\{le="0\.005",protocol="fetch"\} 2$/m)
  assert.match(text, /^bioshard_request_duration_seconds_bucket\{le="2",protocol="fetch"\} 3$/m)
  assert.match(text, /^bioshard_request_duration_seconds_count\{protocol="fetch"\} 3$/m)
  assert.match(text, /^bioshard_request_duration_seconds_sum\{protocol="fetch"\} 1\.5034/m)
})

Metrics('gauges read their sources at every scrape', async () => {
  const state = { shares: 3, connected: 7, admitted: 5 }
  const m = new NodeMetrics(sources(state), { processMetrics: false })
  let text = await m.text()
  assert.match(text, /^bioshard_shares_held 3$/m)
  assert.match(text, /^bioshard_peers_connected 7$/m)
  assert.match(text, /^bioshard_peers_admitted 5$/m)
  state.shares = 4
  state.connected = 0
  text = await m.text()
  assert.match(text, /^bioshard_shares_held 4$/m)
  assert.match(text, /^bioshard_peers_connected 0$/m)
})

Metrics('process metrics are on the node registry, and nothing lands on the global one', async () => {
  const m = new NodeMetrics(sources())
  assert.match(await m.text(), /^process_resident_memory_bytes /m)
  assert.match(m.contentType, /^text\/plain/)
  assert.not.match(await globalRegistry.metrics(), /bioshard_|process_/)
  // Two nodes in one process keep separate series.
  const other = new NodeMetrics(sources(), { processMetrics: false })
  m.observe('erase', 'ok', 0.01)
  assert.not.match(await other.text(), /protocol="erase"/)
})

Metrics('maintenance series start at zero; answered audits count by outcome; rounds by kind and end; bytes by direction', async () => {
  const m = new NodeMetrics(sources(), { processMetrics: false })
  let text = await m.text()
  assert.match(text, /^bioshard_possession_audits_total\{outcome="proved"\} 0$/m)
  assert.match(text, /^bioshard_maintain_rounds_total\{kind="repair-new-holder",outcome="timed-out"\} 0$/m)
  assert.match(text, /^bioshard_maintain_bytes_total\{direction="received"\} 0$/m)
  m.observe('audit', 'ok', 0.02)
  m.observe('audit', 'ERR_RATE_LIMITED', 0.001)
  m.observe('fetch', 'ok', 0.001)
  m.countRound('refresh', 'committed')
  m.countRound('repair-helper', 'refused')
  m.countMaintainBytes('sent', 1200)
  text = await m.text()
  assert.match(text, /^bioshard_possession_audits_total\{outcome="proved"\} 1$/m)
  assert.match(text, /^bioshard_possession_audits_total\{outcome="ERR_RATE_LIMITED"\} 1$/m)
  assert.not.match(text, /^bioshard_possession_audits_total\{outcome="ok"\}/m)
  assert.match(text, /^bioshard_maintain_rounds_total\{kind="refresh",outcome="committed"\} 1$/m)
  assert.match(text, /^bioshard_maintain_rounds_total\{kind="repair-helper",outcome="refused"\} 1$/m)
  assert.match(text, /^bioshard_maintain_bytes_total\{direction="sent"\} 1200$/m)
  assert.throws(() => { m.countMaintainBytes('sent', -1) }, RangeError)
})

Metrics('observe rejects bad labels and durations', () => {
  const m = new NodeMetrics(sources(), { processMetrics: false })
  assert.throws(() => m.observe('', 'ok', 1), TypeError)
  assert.throws(() => m.observe('fetch', 'ok', -1), RangeError)
  assert.throws(() => m.observe('fetch', 'ok', Number.NaN), RangeError)
  assert.throws(() => new NodeMetrics({ sharesHeld: () => 0 } as never), TypeError)
})

Metrics('serves /metrics and /healthz over HTTP on a free port, 404 otherwise', async () => {
  const m = new NodeMetrics(sources({ shares: 2, connected: 1, admitted: 1 }), { processMetrics: false })
  m.observe('store', 'ok', 0.01)
  let health: { ok: boolean, [k: string]: unknown } = { ok: true, peers: 1 }
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics: m, health: () => health })
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.is.not(srv.url, 'http://127.0.0.1:0')

    const metrics = await http(`${srv.url}/metrics`)
    assert.is(metrics.status, 200)
    assert.match(metrics.type, /^text\/plain/)
    assert.match(metrics.body, /^bioshard_requests_total\{protocol="store",outcome="ok"\} 1$/m)
    assert.match(metrics.body, /^bioshard_shares_held 2$/m)

    let h = await http(`${srv.url}/healthz`)
    assert.is(h.status, 200)
    assert.match(h.type, /^application\/json/)
    assert.equal(JSON.parse(h.body), { ok: true, peers: 1 })

    health = { ok: false, reason: 'no admitted peers' }
    h = await http(`${srv.url}/healthz`)
    assert.is(h.status, 503)
    assert.equal(JSON.parse(h.body), { ok: false, reason: 'no admitted peers' })

    assert.is((await http(`${srv.url}/`)).status, 404)
    assert.is((await http(`${srv.url}/metrics/extra`)).status, 404)
    assert.is((await http(`${srv.url}/metrics?name=x`)).status, 200)
    assert.is((await http(`${srv.url}/metrics`, 'POST')).status, 405)
  } finally {
    await srv.close()
  }
  try {
    await http(`${srv.url}/metrics`)
    assert.unreachable('the server still answers after close')
  } catch (e) {
    assert.match((e as NodeJS.ErrnoException).code ?? '', /ECONNREFUSED/)
  }
})

Metrics('a health callback that throws reports 503, not a crash', async () => {
  const m = new NodeMetrics(sources(), { processMetrics: false })
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics: m, health: () => { throw new Error('store closed') } })
  try {
    const h = await http(`${srv.url}/healthz`)
    assert.is(h.status, 503)
    assert.equal(JSON.parse(h.body), { ok: false, error: 'store closed' })
    assert.is((await http(`${srv.url}/metrics`)).status, 200)
  } finally {
    await srv.close()
  }
})

Metrics.run()
