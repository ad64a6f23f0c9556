/**
 * `bioshard node init|start|retire`: set up, run and retire a site node.
 *
 * `start` is a site's long-lived process, so this module imports the site
 * daemon (node/) and nothing else: the registry (cli/commands.ts) loads each
 * command's module only when it runs, and bin/bioshard.js sets the process
 * up (compile cache, young-generation size) before any of it loads.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse, required, list, type Values } from '../args.ts'
import { writeConfig, validateConfig, loadConfig, CONFIG_VERSION, DEFAULT_LIMITS, type NodeConfig } from '../../node/config.ts'
import { wipe } from '../../crypto/bytes.ts'
import { initKeys } from '../../node/keys.ts'
import { ensurePrivateDir, readJsonFile } from '../../keys/files.ts'
import { parseAuthorityInfo } from '../../keys/authority.ts'
import { SiteNode } from '../../node/site-node.ts'
import { BioshardError, hasCode } from '../../errors.ts'
import { loadKeys } from '../../node/keys.ts'
import { requestFinish, writeRetirement } from '../../node/standing.ts'
import { shredStoppedNode } from '../../node/retire-offline.ts'

const HELP = `Usage:
  bioshard node init  --dir <dir> --site <name> --authority <authority.json | hex key> [--network <id>]
                      [--listen <multiaddr>]... [--bootstrap <multiaddr>]... [--metrics <host:port>]
  bioshard node start --dir <dir> [--metrics <host:port>] [--reconcile-now]
  bioshard node retire --dir <dir> [--finish]

init   writes config.json (0600; refuses to overwrite) and the node's keys
       (peer.key, storage.key), and prints the peer id. Give the peer id to the
       network authority (bioshard authority admit) and copy the certificate it
       issues to <dir>/node.cert. A failed init leaves <dir> as it found it.
start  runs the node until SIGINT/SIGTERM, then shuts down cleanly. Prints its
       peer id and listen addresses when ready; warns while no bootstrap peer
       can be reached, and keeps dialling them with backoff.
retire signs the node's retirement notice (<dir>/retiring.notice). A running
       node announces it within seconds (a stopped one at its next start),
       refuses new stores (ERR_RETIRING) and keeps serving fetches, audits and
       repairs. With --finish the node destroys its remaining shares and exits
       (a stopped node's shares are destroyed at once); run it once every
       template it held has been repaired elsewhere (bioshard maintain).

Options:
  --authority   the authority's authority.json, or its public key in hex (then --network is required)
  --listen      listen multiaddr, repeatable (default /ip4/0.0.0.0/tcp/4100)
  --bootstrap   a peer to join through (/ip4/…/tcp/…/p2p/<id>), repeatable
  --metrics     serve /metrics and /healthz on host:port (e.g. 127.0.0.1:9464); init writes it to
                config.json, start overrides the config
  --reconcile-now   (start) reconcile held shares as soon as the node is ready; prints \`reconciled …\` when done
  -h, --help    show this help

Environment: BIOSHARD_LISTEN, BIOSHARD_BOOTSTRAP (comma-separated), BIOSHARD_METRICS
override the config file; DEBUG=bioshard:* prints debug logs.
`

function authorityFrom (value: string, network: string | undefined): { network: string, key: string } {
  if (/^[0-9a-f]{64}$/.test(value)) {
    if (network === undefined) throw new UsageError('--network is required when --authority is a bare public key')
    return { network, key: value }
  }
  if (!existsSync(value)) throw new UsageError(`--authority: no such file ${value}`)
  if (statSync(value).isDirectory()) {
    const inside = join(value, 'authority.json')
    throw new UsageError(`--authority ${value} is a directory; give the authority.json file${existsSync(inside) ? ` (${inside})` : ''}`)
  }
  const info = parseAuthorityInfo(readJsonFile(value, 'authority description'), value)
  return { network: info.network, key: Buffer.from(info.publicKey).toString('hex') }
}

/** Remove what an init created in `dir`: the whole directory if it did not exist, else the entries not in `before`. */
function undoInit (dir: string, before: readonly string[] | undefined): void {
  if (before === undefined) { rmSync(dir, { recursive: true, force: true }); return }
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir)) if (!before.includes(name)) rmSync(join(dir, name), { recursive: true, force: true })
}

/** `node init`: check everything first, then write config and keys; on a failure, leave `dir` as it was. */
async function init (dir: string, values: Values, io: CliIo): Promise<number> {
  const site = required(values, 'site')
  const authority = authorityFrom(required(values, 'authority'), values.network as string | undefined)
  const listen = list(values, 'listen')
  const config = validateConfig({
    version: CONFIG_VERSION,
    site,
    network: authority.network,
    authorities: [authority.key],
    listen: listen.length > 0 ? listen : ['/ip4/0.0.0.0/tcp/4100'],
    bootstrap: list(values, 'bootstrap'),
    metrics: typeof values.metrics === 'string' ? values.metrics : null,
    limits: { ...DEFAULT_LIMITS }
  } satisfies NodeConfig)
  if (existsSync(resolve(dir, 'config.json'))) throw new BioshardError('ERR_CONFIG', `${dir} already holds a node; refusing to overwrite it`)
  const before = existsSync(dir) ? readdirSync(dir) : undefined
  let peer: string
  try {
    ensurePrivateDir(dir)
    writeConfig(dir, config)
    peer = await initKeys(dir)
  } catch (e) {
    undoInit(dir, before)
    throw e
  }
  io.stdout(`${peer}\n`)
  io.stderr(`node initialised in ${dir} (site ${site}, network ${authority.network})\n` +
    `next: bioshard authority admit --dir <authority-dir> --peer ${peer} --site '${site}' --out ${dir}/node.cert\n`)
  return EXIT.OK
}

/** `node retire`: sign the retirement notice; with `finish`, destroy the shares (now if stopped, else by the running node). */
async function retire (dir: string, finish: boolean, io: CliIo): Promise<number> {
  const config = loadConfig(dir, {})
  const keys = await loadKeys(dir)
  wipe(keys.storageKey)
  const notice = writeRetirement(dir, keys.signing, { network: config.network, peer: keys.peerId, at: Date.now() })
  io.stdout(`${keys.peerId} retiring since ${new Date(notice.body.at).toISOString()}\n`)
  if (!finish) return EXIT.OK
  try {
    const n = await shredStoppedNode(dir, notice)
    io.stdout(`retired: ${n} share(s) destroyed\n`)
  } catch (e) {
    if (!hasCode(e, 'ERR_BUSY')) throw e
    requestFinish(dir)
    io.stdout('the running node will destroy its shares and exit within seconds\n')
  }
  return EXIT.OK
}

export const command: Command = {
  name: 'node',
  summary: 'set up (init), run (start) and retire a site node',
  run: async (argv, io) => {
    const { values, positionals } = parse(argv, {
      dir: { type: 'string' },
      site: { type: 'string' },
      authority: { type: 'string' },
      network: { type: 'string' },
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'string', multiple: true },
      metrics: { type: 'string' },
      'reconcile-now': { type: 'boolean' },
      finish: { type: 'boolean' }
    })
    if (values.help === true) { io.stdout(HELP); return EXIT.OK }
    const dir = resolve(required(values, 'dir'))
    switch (positionals[0]) {
      case 'init': return await init(dir, values, io)
      case 'start': {
        const warn = (m: string): void => { io.stderr(`warning: ${m}\n`) }
        const node = await SiteNode.open({ dir, env: io.env, onWarning: warn, ...(typeof values.metrics === 'string' ? { metrics: values.metrics } : {}) })
        await node.start()
        const metrics = node.metricsUrl !== undefined ? `metrics ${node.metricsUrl}/metrics\n` : ''
        io.stdout(`peer ${node.peerId.toString()}\n${node.addrs.map((a) => `listening ${a}`).join('\n')}\n${metrics}ready\n`)
        if (values['reconcile-now'] === true) {
          const tally = await node.reconcile()
          io.stdout(`reconciled ${Object.entries(tally).map(([k, v]) => `${k} ${v}`).join(', ')}\n`)
        }
        const retired = node.retired.then((n) => { io.stderr(`retired: ${n} share(s) destroyed\n`); return true })
        const stopped = new Promise<boolean>((resolve) => {
          if (io.stopSignal.aborted) resolve(false)
          else io.stopSignal.addEventListener('abort', () => { resolve(false) }, { once: true })
        })
        if (await Promise.race([retired, stopped])) return EXIT.OK
        io.stderr('stopping…\n')
        await node.stop()
        io.stderr('stopped\n')
        return EXIT.OK
      }
      case 'retire': return await retire(dir, values.finish === true, io)
      default:
        throw new UsageError(positionals[0] === undefined ? 'missing subcommand (init, start, retire)' : `unknown subcommand '${positionals[0]}'`)
    }
  }
}
