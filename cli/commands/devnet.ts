/**
 * `bioshard devnet`: the whole flow on a local network of real node
 * processes — enrol demo identities, verify genuine and impostor probes, show
 * where every share lives, erase one identity, print a summary — then exit
 * (or, with --keep, leave the network up for the CLI).
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { EXIT, UsageError, type Command, type CliIo } from '../io.ts'
import { parse, positive } from '../args.ts'
import { ProcessNetwork } from '../../sim/process-network.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { createClient, type Client } from '../../client/client.ts'
import { toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'
import { demoFaces, demoModelDir, type DemoIdentity } from '../../sim/demo-faces.ts'

const HELP = `Usage: bioshard devnet [--nodes N] [--identities K] [--dir D] [--keep] [--synthetic]

Starts a local network of real node processes (default 6 nodes at 6 sites,
TCP on 127.0.0.1, an authority made on the spot), enrols demo identities,
verifies genuine and impostor probes inside the enclave, shows where each
share lives, erases one identity, prints a summary and exits 0.

Demo identities are real faces when the shared models and photos are found
(BIOSHARD_SHARED, default ../shared), synthetic embeddings otherwise.

Options:
  --nodes N       number of nodes (default 6; at least 5 for t=3, n=5)
  --identities K  demo identities (default 4; at least 2)
  --dir D         keep the network's files in D (default: a temp dir)
  --keep          leave the network running; prints how to use the CLI against it
  --synthetic     use synthetic embeddings even if real faces are available
  -h, --help      show this help
`

function pct (values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

function table (rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  return rows.map((r) => '  ' + r.map((cell, c) => cell.padEnd(widths[c])).join('  ')).join('\n') + '\n'
}

const short = (peer: string): string => `${peer.slice(0, 8)}…${peer.slice(-4)}`

/** A probe to send: each verify gets its own copy of an embedding, so the demo's stays intact whatever the client does with it. */
const fresh = (probe: DemoIdentity['probe']): DemoIdentity['probe'] => probe instanceof Float32Array ? probe.slice() : probe

/** What the demo's steps share: where to print, the client, and names for the network's nodes. */
interface Demo {
  io: CliIo
  client: Client
  net: ProcessNetwork
  /** `node-<i>` by peer id. */
  nodeOf: Map<string, string>
}

interface Enrolled { who: DemoIdentity, templateId: Uint8Array }

async function enrolAll (d: Demo, identities: DemoIdentity[], enrolMs: number[]): Promise<Enrolled[]> {
  const { io, client, nodeOf } = d
  const enrolled: Enrolled[] = []
  io.stdout(`\n== enrol ${identities.length} identities (t=3, n=5) ==\n`)
  for (const who of identities) {
    const r = await client.enroll({ template: who.enrol.slice(), modality: 'face', model: who.model, t: 3, n: 5 })
    enrolMs.push(r.timings.totalMs)
    enrolled.push({ who, templateId: r.templateId })
    const holders = r.manifest.body.shares
    const perNode = new Set(holders.map((s) => s.holder))
    const perSite = new Set(holders.map((s) => s.site))
    const id = toHex(r.templateId).slice(0, 16)
    io.stdout(`${who.name.padEnd(14)} ${id}…  ${r.receipts.length} receipts  ${r.timings.totalMs.toFixed(1)} ms\n`)
    const placement = holders.map((s) => [String(s.x), nodeOf.get(s.holder) ?? '?', s.site, short(s.holder)])
    io.stdout(table([['x', 'node', 'site', 'peer'], ...placement]))
    io.stdout(`  ${perNode.size} distinct nodes, ${perSite.size} distinct sites: no node or site holds two shares of this template\n`)
    if (perNode.size !== holders.length || perSite.size !== holders.length) {
      throw new BioshardError('ERR_INTERNAL', 'placement put two shares at one node or site')
    }
  }
  return enrolled
}

/** Verify each identity's genuine probe and the next identity's as an impostor; returns the number of wrong decisions. */
async function verifyAll (d: Demo, enrolled: Enrolled[], verifyMs: number[]): Promise<number> {
  const { io, client, nodeOf } = d
  io.stdout('\n== verify genuine and impostor probes (inside the enclave) ==\n')
  const rows = [['identity', 'probe', 'accept', 'score', 'threshold', 'ms', 'holders']]
  let wrong = 0
  for (const [i, { who, templateId }] of enrolled.entries()) {
    const impostor = enrolled[(i + 1) % enrolled.length].who
    for (const [kind, probe] of [['genuine', who.probe], [`impostor (${impostor.name})`, impostor.probe]] as const) {
      const r = await client.verify({ templateId, probe: fresh(probe), purpose: 'login' })
      verifyMs.push(r.timings.totalMs)
      if (r.accept !== (kind === 'genuine')) wrong++
      const holders = r.holders.map((h) => nodeOf.get(h) ?? '?').join(',')
      rows.push([who.name, kind, r.accept ? 'yes' : 'no', r.score?.toFixed(2) ?? '-', r.threshold.toFixed(3), r.timings.totalMs.toFixed(1), holders])
    }
  }
  io.stdout(table(rows))
  return wrong
}

/** Erase one identity, show its receipts, and check a verify against it is refused; returns whether that all held. */
async function eraseOne (d: Demo, gone: Enrolled): Promise<{ complete: boolean, refused: boolean }> {
  const { io, client, net, nodeOf } = d
  const siteOf = new Map(net.nodes.map((n) => [n.peer, n.site]))
  io.stdout(`\n== erase ${gone.who.name} (opt-out) ==\n`)
  const er = await client.erase(gone.templateId)
  const receipts = er.receipts.map((r) => [
    nodeOf.get(r.body.holder) ?? '?', siteOf.get(r.body.holder) ?? '?', String(r.body.held), new Date(r.body.time).toISOString()
  ])
  io.stdout(table([['holder', 'site', 'held', 'receipt signed at'], ...receipts]))
  io.stdout(`  complete: ${er.complete}${er.missing.length > 0 ? `, missing: ${er.missing.map((m) => m.holder).join(', ')}` : ''}\n`)
  try {
    await client.verify({ templateId: gone.templateId, probe: fresh(gone.who.probe), purpose: 'login' })
    io.stdout('  verify after erase: UNEXPECTEDLY ACCEPTED\n')
    return { complete: er.complete, refused: false }
  } catch (e) {
    io.stdout(`  verify after erase: refused with ${(e as BioshardError).code}\n`)
    return { complete: er.complete, refused: true }
  }
}

async function demo (io: CliIo, client: Client, net: ProcessNetwork, identities: DemoIdentity[]): Promise<number> {
  const d: Demo = { io, client, net, nodeOf: new Map(net.nodes.map((n) => [n.peer, `node-${n.index + 1}`])) }
  const enrolMs: number[] = []
  const verifyMs: number[] = []
  const enrolled = await enrolAll(d, identities, enrolMs)
  let wrong = await verifyAll(d, enrolled, verifyMs)
  const erased = await eraseOne(d, enrolled[0])
  if (!erased.refused) wrong++

  io.stdout('\n== summary ==\n')
  const sites = new Set(net.nodes.map((n) => n.site)).size
  io.stdout(table([
    ['nodes', 'sites', 'identities', 'enrol p50 ms', 'verify p50 ms', 'verify p99 ms', 'wrong decisions', 'erase complete'],
    [
      String(net.nodes.length), String(sites), String(identities.length),
      pct(enrolMs, 0.5).toFixed(1), pct(verifyMs, 0.5).toFixed(1), pct(verifyMs, 0.99).toFixed(1),
      String(wrong), String(erased.complete)
    ]
  ]))
  return wrong === 0 && erased.complete ? EXIT.OK : EXIT.FAILURE
}

/** What to print when the network stays up: where the credentials are and how to use the CLI against it. */
function keepHint (tdir: string, net: ProcessNetwork): string {
  const bootstrapFile = join(net.dir, 'bootstrap.txt')
  return `\nthe network stays up (Ctrl-C to stop); tenant credentials in ${tdir}, bootstrap addresses in ${bootstrapFile}. Try:\n` +
    `  npx bioshard enroll --tenant ${tdir} --bootstrap ${net.bootstrap[0]} --synthetic 1\n` +
    `  npx bioshard audit verify --dir ${net.nodes[0].dir}   (after stopping)\n`
}

/**
 * Create `dir`, or accept it empty: a devnet makes a new authority and new
 * nodes each run, so it cannot reuse the files of an earlier one.
 */
function freshDir (dir: string): void {
  mkdirSync(dir, { recursive: true })
  if (readdirSync(dir).length === 0) return
  const earlier = existsSync(join(dir, 'authority', 'authority.key')) ? ' holds the network of an earlier devnet run;' : ' is not empty;'
  throw new UsageError(`--dir ${dir}${earlier} each devnet makes a new network, so choose another --dir, ` +
    `remove this one (rm -r ${dir}), or leave out --dir for a temporary one`)
}

const OPTIONS = {
  nodes: { type: 'string' },
  identities: { type: 'string' },
  dir: { type: 'string' },
  keep: { type: 'boolean' },
  synthetic: { type: 'boolean' }
} as const

export const command: Command = {
  name: 'devnet',
  summary: 'run a local network and show the whole flow (npm start)',
  run: async (argv, io) => {
    const { values } = parse(argv, OPTIONS)
    if (values.help === true) { io.stdout(HELP); return EXIT.OK }
    const nodes = Math.round(positive(values, 'nodes', 6))
    if (nodes < 5) throw new RangeError('--nodes must be at least 5 (n = 5 shares at 5 distinct sites)')
    const k = Math.round(positive(values, 'identities', 4))
    if (k < 2) throw new RangeError('--identities must be at least 2 (each identity is tried as the impostor of the next)')
    const dir = typeof values.dir === 'string' ? resolve(values.dir) : undefined
    if (dir !== undefined) freshDir(dir)
    io.stdout(`starting ${nodes} node processes at ${nodes} sites on 127.0.0.1…\n`)
    const started = performance.now()
    const net = await ProcessNetwork.start({
      nodes,
      ...(dir !== undefined ? { dir } : {}),
      keep: values.keep === true,
      onProgress: (m) => io.stdout(`  ${m}\n`)
    })
    io.stdout(`network ${net.info.network} up in ${((performance.now() - started) / 1000).toFixed(1)} s (files in ${net.dir})\n`)
    const tenant = net.tenant('devnet-tenant')
    let client: Client | undefined
    try {
      const faces = await demoFaces(k, values.synthetic === true, io.env, (m) => io.stdout(m + '\n'))
      // Real-face probes are raw photos: the enclave embeds them itself, so it loads the face models.
      client = await createClient({
        bootstrap: net.bootstrap,
        authority: net.info,
        credentials: { tenant: { key: tenant.key, cert: tenant.wire } },
        ...(faces !== undefined ? { enclave: { faceModel: { modelDir: demoModelDir(io.env) } } } : {})
      })
      const identities = faces ?? syntheticDemo(k)
      const code = await demo(io, client, net, identities)
      if (values.keep === true) {
        const tdir = join(net.dir, 'tenant')
        writeTenantCredentials(tdir, tenant, net.info)
        writeFileSync(join(net.dir, 'bootstrap.txt'), net.bootstrap.join('\n') + '\n')
        io.stdout(keepHint(tdir, net))
        await client.close(); client = undefined
        if (!io.stopSignal.aborted) await new Promise((resolve) => io.stopSignal.addEventListener('abort', resolve, { once: true }))
      }
      return code
    } finally {
      await client?.close()
      await net.stop()
    }
  }
}

function syntheticDemo (k: number): DemoIdentity[] {
  const rand = prng(42)
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
  return Array.from({ length: k }, (_, i) => {
    const id = syntheticIdentity(128, rand)
    const name = names[i % names.length] + (i >= names.length ? String(i) : '')
    return { name, model: 'synthetic-128', enrol: id, probe: syntheticProbe(id, rand, 1) }
  })
}
