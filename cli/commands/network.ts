/**
 * `bioshard network init|add`: the operator's recipe for a network of N
 * sites, on one host or several. `init` writes an authority, one node
 * directory per site (config, keys, certificate) and one systemd unit per
 * site; `add` writes one more site that joins the running network.
 *
 * systemd, because it is the supervisor every Linux server already has: a
 * unit runs Node on the CLI directly (no npx or shell in between to swallow
 * SIGTERM), restarts a node that fails and confines it to its directory.
 * `network.json` records what was written, so `add` knows the sites to
 * bootstrap through and the next free port.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { existsSync, writeFileSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { EXIT, UsageError, type Command } from '../io.ts'
import { parse, required, list, positive } from '../args.ts'
import { writeConfig, CONFIG_VERSION, DEFAULT_LIMITS } from '../../node/config.ts'
import { initKeys, CERT_FILE } from '../../node/keys.ts'
import { ensurePrivateDir } from '../../keys/files.ts'
import { initAuthority, loadAuthority, admitNode, type Authority } from '../../keys/authority.ts'
import { toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'

/** The CLI entry that the units run (bin/bioshard.js of this installation). */
const BIN = fileURLToPath(new URL('../../bin/bioshard.js', import.meta.url))
/** Default first libp2p port; site k listens on base + k - 1 (the port `node init` uses by default). */
const BASE_PORT = 4100
/** Default first metrics port; 9464 is Prometheus's registered exporter port, kept free for a node set up by hand. */
const BASE_METRICS_PORT = 9465
/** Name of the file that records the sites written. */
const LAYOUT_FILE = 'network.json'

const HELP = `Usage:
  bioshard network init --dir <dir> --sites N [--host <ip>]... [--port P] [--metrics-port P] [--root <path>] [--days N]
  bioshard network add  --dir <dir> --site <name> [--host <ip>] [--days N]

init   writes <dir>/authority (the network authority: keep authority.key offline),
       <dir>/sites/site-1 … site-N (config.json, peer.key, storage.key, node.cert),
       <dir>/systemd/bioshard-<site>.service (one unit per site), <dir>/bootstrap.txt
       (every site's address) and <dir>/network.json (what was written).
add    writes one more site, bootstrapping through every existing one, and its unit;
       start it and the running sites admit it through the authority's certificate.

Options:
  --sites N         number of sites (at least 1)
  --host <ip>       address of site k's host (repeat once per site, or give one for all; default 127.0.0.1)
  --port P          libp2p port of site 1; site k uses P + k - 1 (default ${BASE_PORT})
  --metrics-port P  metrics port of site 1 on 127.0.0.1; site k uses P + k - 1 (default ${BASE_METRICS_PORT})
  --root <path>     where <dir> will live on each host, as the units name it (default: <dir> itself)
  --days N          certificate validity in days (default 365)
  -h, --help        show this help
`

/** One site as `network.json` records it. */
export interface SiteEntry { site: string, dir: string, peer: string, addr: string, metrics: string }

/** What `network init|add` wrote (`<dir>/network.json`). */
export interface NetworkLayout { network: string, root: string, port: number, metricsPort: number, sites: SiteEntry[] }

/** What one new site needs. */
interface SiteSpec { dir: string, root: string, authority: Authority, site: string, host: string, index: number, layout: NetworkLayout, days: number }

function unitFile (site: string, nodeDir: string): string {
  return [
    '[Unit]',
    `Description=bioshard site node ${site}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${process.execPath} ${BIN} node start --dir ${nodeDir}`,
    'Restart=on-failure',
    'RestartSec=5',
    'KillSignal=SIGTERM',
    // The node drains in-flight requests for up to 5 s and flushes its audit log; leave it room.
    'TimeoutStopSec=20',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    ''
  ].join('\n')
}

/** Create one site's directory, keys, certificate and unit; its config comes once every peer's address is known. */
async function createSite (spec: SiteSpec): Promise<SiteEntry> {
  const { layout, index } = spec
  if (layout.sites.some((s) => s.site === spec.site)) throw new UsageError(`site '${spec.site}' already exists`)
  const rel = join('sites', spec.site)
  const dir = join(spec.dir, rel)
  if (existsSync(dir)) throw new BioshardError('ERR_CONFIG', `${dir} already exists; refusing to overwrite it`)
  const listen = `/ip4/${spec.host}/tcp/${layout.port + index}`
  ensurePrivateDir(dir)
  const peer = await initKeys(dir)
  const { bytes } = admitNode(spec.authority, peer, spec.site, { days: spec.days })
  writeFileSync(join(dir, CERT_FILE), bytes, { mode: 0o644 })
  ensurePrivateDir(join(spec.dir, 'systemd'))
  writeFileSync(join(spec.dir, 'systemd', `bioshard-${spec.site}.service`), unitFile(spec.site, join(spec.root, rel)), { mode: 0o644 })
  return { site: spec.site, dir: rel, peer, addr: `${listen}/p2p/${peer}`, metrics: `127.0.0.1:${layout.metricsPort + index}` }
}

/** Write a site's config: it listens on its own address and bootstraps through `peers` (any start order then works). */
function configureSite (dir: string, entry: SiteEntry, authority: Authority, peers: SiteEntry[]): void {
  writeConfig(join(dir, entry.dir), {
    version: CONFIG_VERSION,
    site: entry.site,
    network: authority.info.network,
    authorities: [toHex(authority.info.publicKey)],
    listen: [entry.addr.slice(0, entry.addr.indexOf('/p2p/'))],
    bootstrap: peers.filter((p) => p.peer !== entry.peer).map((p) => p.addr),
    metrics: entry.metrics,
    limits: { ...DEFAULT_LIMITS }
  })
}

function save (dir: string, layout: NetworkLayout): void {
  writeFileSync(join(dir, LAYOUT_FILE), JSON.stringify(layout, null, 2) + '\n', { mode: 0o644 })
  writeFileSync(join(dir, 'bootstrap.txt'), layout.sites.map((s) => s.addr).join('\n') + '\n', { mode: 0o644 })
}

/** Read `<dir>/network.json`. */
export function loadLayout (dir: string): NetworkLayout {
  const path = join(dir, LAYOUT_FILE)
  if (!existsSync(path)) throw new BioshardError('ERR_CONFIG', `${path} is missing; run bioshard network init first`)
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as NetworkLayout
    if (typeof v.network !== 'string' || !Array.isArray(v.sites)) throw new Error('not a network layout')
    return v
  } catch (e) {
    throw new BioshardError('ERR_CONFIG', `${path}: ${(e as Error).message}`)
  }
}

function port (values: Record<string, unknown>, name: string, fallback: number): number {
  const p = positive(values, name, fallback)
  if (!Number.isInteger(p) || p > 65_000) throw new UsageError(`--${name} must be an integer port below 65000`)
  return p
}

async function init (dir: string, values: Record<string, unknown>): Promise<NetworkLayout> {
  const n = positive(values, 'sites', 0)
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new UsageError('--sites must be an integer in [1, 255]')
  const hosts = list(values, 'host')
  if (hosts.length > 1 && hosts.length !== n) throw new UsageError(`--host given ${hosts.length} times; give it once or once per site (${n})`)
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new BioshardError('ERR_CONFIG', `${dir} is not empty; network init writes a new network into an empty or new directory`)
  }
  const root = typeof values.root === 'string' ? values.root : dir
  const info = initAuthority(join(dir, 'authority'))
  const authority = loadAuthority(join(dir, 'authority'))
  const layout: NetworkLayout = {
    network: info.network, root, port: port(values, 'port', BASE_PORT), metricsPort: port(values, 'metrics-port', BASE_METRICS_PORT), sites: []
  }
  const days = positive(values, 'days', 365)
  for (let i = 0; i < n; i++) {
    const spec = { dir, root, authority, site: `site-${i + 1}`, host: hosts[i] ?? hosts[0] ?? '127.0.0.1', index: i, layout, days }
    layout.sites.push(await createSite(spec))
  }
  for (const entry of layout.sites) configureSite(dir, entry, authority, layout.sites)
  save(dir, layout)
  return layout
}

async function add (dir: string, values: Record<string, unknown>): Promise<SiteEntry> {
  const layout = loadLayout(dir)
  const authority = loadAuthority(join(dir, 'authority'))
  const host = list(values, 'host')[0] ?? '127.0.0.1'
  const days = positive(values, 'days', 365)
  const entry = await createSite({ dir, root: layout.root, authority, site: required(values, 'site'), host, index: layout.sites.length, layout, days })
  configureSite(dir, entry, authority, layout.sites)
  layout.sites.push(entry)
  save(dir, layout)
  return entry
}

export const command: Command = {
  name: 'network',
  summary: 'write an authority, N site directories and their systemd units; add a site',
  run: async (argv, io) => {
    const { values, positionals } = parse(argv, {
      dir: { type: 'string' },
      sites: { type: 'string' },
      site: { type: 'string' },
      host: { type: 'string', multiple: true },
      port: { type: 'string' },
      'metrics-port': { type: 'string' },
      root: { type: 'string' },
      days: { type: 'string' }
    })
    if (values.help === true) { io.stdout(HELP); return EXIT.OK }
    const dir = resolve(required(values, 'dir'))
    switch (positionals[0]) {
      case 'init': {
        const layout = await init(dir, values)
        for (const s of layout.sites) io.stdout(`${s.site} ${s.addr}\n`)
        io.stderr(`network ${layout.network}: ${layout.sites.length} sites in ${dir}/sites, units in ${dir}/systemd\n` +
          `next: install the units (docs/operations.md) and start them; move ${dir}/authority/authority.key offline\n`)
        return EXIT.OK
      }
      case 'add': {
        const s = await add(dir, values)
        io.stdout(`${s.site} ${s.addr}\n`)
        io.stderr(`site ${s.site} written to ${join(dir, s.dir)}, unit ${dir}/systemd/bioshard-${s.site}.service\n`)
        return EXIT.OK
      }
      default:
        throw new UsageError(positionals[0] === undefined ? 'missing subcommand (init, add)' : `unknown subcommand '${positionals[0]}'`)
    }
  }
}
