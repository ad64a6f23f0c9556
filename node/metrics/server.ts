/**
 * The operations endpoint over plain node:http, a node's and `bioshard
 * maintain`'s: `GET /metrics` (Prometheus text) and `GET /healthz` (JSON,
 * 200 when healthy, 503 when not). Nothing else is served. Bind it to localhost or an operations
 * network: it is unauthenticated by design, as Prometheus scrapers are, and
 * exposes counts only — never ids, shares or keys.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the endpoint serves at `/metrics`: a node's metrics, or any registry's (the maintainer's). */
export interface MetricsText {
  /** The exposition text of every series. */
  text: () => Promise<string>
  /** Its Content-Type. */
  readonly contentType: string
}

const TEXT = 'text/plain; charset=utf-8'

/** What `/healthz` reports: `ok` decides the status code; other fields are shown as they are. */
export interface HealthReport {
  ok: boolean
  [k: string]: unknown
}

/** Options for {@link startMetricsServer}. */
export interface MetricsServerInit {
  /** Interface to bind (e.g. '127.0.0.1'). */
  host: string
  /** TCP port; 0 picks a free one (see the returned `url`). */
  port: number
  metrics: MetricsText
  health: () => HealthReport
}

/** A running metrics server. */
export interface MetricsServer {
  /** Base URL with the real port, e.g. `http://127.0.0.1:9464`. */
  url: string
  /** Stop listening and drop open (keep-alive) connections. */
  close: () => Promise<void>
}

// A scrape is small and local; anything slower is a stuck client.
const REQUEST_TIMEOUT_MS = 10_000

/**
 * Start the metrics and health endpoint.
 *
 * @param init see {@link MetricsServerInit}
 * @returns the URL it listens on and a close function
 * @throws {RangeError} for an invalid port; the listen error (e.g. EADDRINUSE) when binding fails
 * @example
 * const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, health: () => ({ ok: true }) })
 * console.log(`${srv.url}/metrics`)
 * await srv.close()
 */
export async function startMetricsServer (init: MetricsServerInit): Promise<MetricsServer> {
  const { host, port, metrics, health } = init
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string')
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be an integer in [0, 65535]')
  if (typeof health !== 'function') throw new TypeError('health must be a function')

  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    handle(req, res, metrics, health).catch(() => {
      if (!res.headersSent) send(res, { status: 500, type: TEXT, body: 'internal error\n' })
      else res.destroy()
    })
  })
  server.headersTimeout = REQUEST_TIMEOUT_MS

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((e) => { e === undefined ? resolve() : reject(e) })
        server.closeAllConnections()
      })
    }
  }
}

async function handle (req: IncomingMessage, res: ServerResponse, metrics: MetricsText, health: () => HealthReport): Promise<void> {
  // Only the path matters; a query string (some scrapers add one) is ignored.
  const path = (req.url ?? '/').split('?', 1)[0]
  if (path !== '/metrics' && path !== '/healthz') {
    send(res, { status: 404, type: TEXT, body: 'not found\n' })
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    send(res, { status: 405, type: TEXT, body: 'method not allowed\n' })
    return
  }
  if (path === '/metrics') {
    send(res, { status: 200, type: metrics.contentType, body: await metrics.text(), headOnly: req.method === 'HEAD' })
    return
  }
  let report: HealthReport
  try {
    report = health()
  } catch (e) {
    report = { ok: false, error: (e as Error).message }
  }
  const ok = report.ok === true
  const body = JSON.stringify({ ...report, ok }) + '\n'
  send(res, { status: ok ? 200 : 503, type: 'application/json; charset=utf-8', body, headOnly: req.method === 'HEAD' })
}

/** One plain answer: its status, content type and body (left out for HEAD). */
interface Answer { status: number, type: string, body: string, headOnly?: boolean }

function send (res: ServerResponse, { status, type, body, headOnly = false }: Answer): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store'
  })
  res.end(headOnly ? undefined : body)
}
