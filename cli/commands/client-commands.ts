/**
 * `bioshard enroll|verify|erase`: the verifier library from the command
 * line, against a running network, printing JSON. Credentials come from a
 * tenant directory (`bioshard authority tenant --out`).
 *
 * Exit codes: 0 done (verify: accepted), 1 verify rejected or erase
 * incomplete, 2 usage, 3 network unavailable.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { EXIT, UsageError, type Command, type CliIo } from '../io.ts'
import { parse, required, list, positive } from '../args.ts'
import { createClient, type Client } from '../../client/client.ts'
import { loadTenantCredentials } from '../../client/credentials.ts'
import { fromHex, toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { FaceMatcher } from '../../matcher/face/pipeline.ts'

const COMMON = `  --tenant <dir>        tenant credentials (tenant.key, tenant.cert, authority.json)
  --bootstrap <addr>    a node to join through (repeatable)
  --embedding <file>    a JSON array of numbers (the embedding)
  --face <image>        a photo (JPEG/PNG/WebP)
  --synthetic <seed>    a synthetic 128-d identity (demo); verify probes it with fresh noise
  -h, --help            show this help
`

const HELP = {
  enroll: `Usage: bioshard enroll --tenant <dir> --bootstrap <addr> (--embedding <f> | --face <img> | --synthetic <seed>) [--t 3] [--n 5]\n\n${COMMON}`,
  verify: `Usage: bioshard verify --tenant <dir> --bootstrap <addr> --template <hex id> (--embedding <f> | --face <img> | --synthetic <seed>) [--purpose login]\n\nExit 0 when accepted, 1 when rejected.\n\n${COMMON}`,
  erase: `Usage: bioshard erase --tenant <dir> --bootstrap <addr> --template <hex id>\n\nExit 0 when every holder returned a receipt, 1 otherwise.\n\n${COMMON}`
}

const OPTIONS = {
  tenant: { type: 'string' }, bootstrap: { type: 'string', multiple: true }, embedding: { type: 'string' }, face: { type: 'string' },
  synthetic: { type: 'string' }, template: { type: 'string' }, purpose: { type: 'string' }, t: { type: 'string' }, n: { type: 'string' }
} as const

async function connect (values: Record<string, unknown>): Promise<Client> {
  const { authority, tenant } = loadTenantCredentials(resolve(required(values, 'tenant')))
  const bootstrap = list(values, 'bootstrap')
  if (bootstrap.length === 0) throw new UsageError('--bootstrap is required')
  return await createClient({ bootstrap, authority, credentials: { tenant } })
}

function readEmbedding (path: string): Float32Array {
  let v: unknown
  try { v = JSON.parse(readFileSync(path, 'utf8')) } catch (e) { throw new UsageError(`--embedding ${path}: ${(e as Error).message}`) }
  const arr = Array.isArray(v) ? v : (v as { embedding?: unknown })?.embedding
  if (!Array.isArray(arr) || arr.length === 0 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new UsageError(`--embedding ${path} must hold an array of numbers (or {"embedding": [...]})`)
  return Float32Array.from(arr as number[])
}

function seed (value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError('--synthetic must be a non-negative integer seed')
  return n
}

function json (io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n')
}

async function run (name: 'enroll' | 'verify' | 'erase', argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS)
  if (values.help === true) { io.stdout(HELP[name]); return EXIT.OK }
  const client = await connect(values).catch((e: unknown) => {
    if (e instanceof BioshardError && e.code === 'ERR_QUORUM_UNAVAILABLE') { io.stderr(`bioshard ${name}: ${e.message}\n`); return undefined }
    throw e
  })
  if (client === undefined) return EXIT.UNAVAILABLE
  try {
    if (name === 'enroll') {
      let template: Float32Array
      let model = 'synthetic-128'
      if (typeof values.embedding === 'string') { template = readEmbedding(values.embedding); model = 'external' }
      else if (typeof values.face === 'string') {
        const m = await FaceMatcher.create()
        try { const e = await m.embed(new Uint8Array(readFileSync(values.face))); template = e.embedding; model = e.model } finally { await m.close() }
      } else if (typeof values.synthetic === 'string') template = syntheticIdentity(128, prng(seed(values.synthetic)))
      else throw new UsageError('one of --embedding, --face or --synthetic is required')
      const r = await client.enroll({ template, modality: 'face', model, t: positive(values, 't', 3), n: positive(values, 'n', 5) })
      json(io, { templateId: toHex(r.templateId), holders: r.manifest.body.shares.map((s) => ({ x: s.x, peer: s.holder, site: s.site })), receipts: r.receipts.length, timings: r.timings })
      return EXIT.OK
    }
    const templateId = fromHex(required(values, 'template'), '--template')
    if (name === 'verify') {
      let probe: Float32Array | { image: Uint8Array }
      if (typeof values.embedding === 'string') probe = readEmbedding(values.embedding)
      else if (typeof values.face === 'string') probe = { image: new Uint8Array(readFileSync(values.face)) }
      else if (typeof values.synthetic === 'string') probe = syntheticProbe(syntheticIdentity(128, prng(seed(values.synthetic))), prng(Date.now()))
      else throw new UsageError('one of --embedding, --face or --synthetic is required')
      const r = await client.verify({ templateId, probe, purpose: typeof values.purpose === 'string' ? values.purpose : 'login' })
      json(io, { accept: r.accept, score: r.score, threshold: r.threshold, decision: toHex(r.decision), holders: r.holders, bad: r.bad, timings: r.timings })
      return r.accept ? EXIT.OK : EXIT.FAILURE
    }
    const r = await client.erase(templateId)
    json(io, { complete: r.complete, receipts: r.receipts.map((x) => ({ holder: x.body.holder, held: x.body.held, time: new Date(x.body.time).toISOString() })), missing: r.missing })
    return r.complete ? EXIT.OK : EXIT.FAILURE
  } finally {
    await client.close()
  }
}

export const enrollCommand: Command = { name: 'enroll', summary: 'enrol a template on a running network (JSON out)', run: async (a, io) => await run('enroll', a, io) }
export const verifyCommand: Command = { name: 'verify', summary: 'verify a probe against an enrolled template (JSON out)', run: async (a, io) => await run('verify', a, io) }
export const eraseCommand: Command = { name: 'erase', summary: 'erase a template at every holder (JSON out)', run: async (a, io) => await run('erase', a, io) }
