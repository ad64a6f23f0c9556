/**
 * `bioshard enroll|verify|erase`: the verifier library from the command
 * line, against a running network, printing JSON. Credentials come from a
 * tenant directory (`bioshard authority tenant --out`).
 *
 * Enroll records each template id in the tenant directory's templates.txt
 * and a complete erase removes it, so `bioshard maintain` knows what to
 * look after (cli/tenant-templates.ts).
 *
 * Exit codes: 0 done (verify: accepted), 1 verify rejected or erase
 * incomplete, 2 usage, 3 network unavailable.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { EXIT, UsageError, type Command, type CliIo } from '../io.ts'
import { parse, required, list, positive, type Values } from '../args.ts'
import { createClient, type Client } from '../../client/client.ts'
import { loadTenantCredentials } from '../../client/credentials.ts'
import { fromHex, toHex } from '../../crypto/bytes.ts'
import { BioshardError } from '../../errors.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { FaceMatcher } from '../../matcher/face/pipeline.ts'
import { sharedDir } from '../../matcher/shared-path.ts'
import { withModelHint } from '../model-hint.ts'
import { forgetTemplate, recordTemplate, TEMPLATES_FILE } from '../tenant-templates.ts'

/** The connection options every client command takes (maintain too). */
export const CONNECT_OPTIONS = `  --tenant <dir>        tenant credentials (tenant.key, tenant.cert, authority.json)
  --bootstrap <addr>    a node to join through (repeatable)
`
const PROBE_OPTIONS = `  --embedding <file>    a JSON array of numbers (the embedding)
  --face <image>        a photo (JPEG/PNG/WebP)
  --model-dir <dir>     with --face: directory with face-detect-yunet.onnx and face-embed-mobilefacenet.onnx
                        (default: $BIOSHARD_SHARED/models, or ../shared/models beside the checkout)
  --synthetic <seed>    a synthetic 128-d identity (demo); verify probes it with fresh noise
`
const HELP_OPTION = '  -h, --help            show this help\n'

const PROBE = '(--embedding <f> | --face <img> [--model-dir <dir>] | --synthetic <seed>)'
const CONNECT = '--tenant <dir> --bootstrap <addr>'

const HELP = {
  enroll: `Usage: bioshard enroll ${CONNECT} ${PROBE} [--t 3] [--n 5]\n\n` +
    `Records the template id in <dir>/${TEMPLATES_FILE} (one per line) for bioshard maintain.\n\n${CONNECT_OPTIONS}${PROBE_OPTIONS}` +
    '  --t <k>               shares needed to verify (default 3; at most --n)\n' +
    `  --n <m>               shares made, one per holder at distinct sites (default 5)\n${HELP_OPTION}`,
  verify: `Usage: bioshard verify ${CONNECT} --template <hex id> ${PROBE} [--purpose login]\n\n` +
    `Exit 0 when accepted, 1 when rejected.\n\n${CONNECT_OPTIONS}` +
    `  --template <hex id>   the template id enroll printed\n${PROBE_OPTIONS}` +
    `  --purpose <word>      why the verification is made, bound into the request (default login)\n${HELP_OPTION}`,
  erase: `Usage: bioshard erase ${CONNECT} --template <hex id>\n\n` +
    `Exit 0 when every holder returned a receipt, 1 otherwise. A complete erase removes the id from <dir>/${TEMPLATES_FILE}.\n\n` +
    `${CONNECT_OPTIONS}` +
    `  --template <hex id>   the template id enroll printed\n${HELP_OPTION}`
}

const NO_PROBE = 'one of --embedding, --face or --synthetic is required'

/** The options of {@link CONNECT_OPTIONS}. */
export const CONNECT_FLAGS = { tenant: { type: 'string' }, bootstrap: { type: 'string', multiple: true } } as const
const PROBE_FLAGS = { embedding: { type: 'string' }, face: { type: 'string' }, 'model-dir': { type: 'string' }, synthetic: { type: 'string' } } as const

/** Each command's options: only those it uses, so a stray flag is refused rather than ignored. */
const OPTIONS = {
  enroll: { ...CONNECT_FLAGS, ...PROBE_FLAGS, t: { type: 'string' }, n: { type: 'string' } },
  verify: { ...CONNECT_FLAGS, ...PROBE_FLAGS, template: { type: 'string' }, purpose: { type: 'string' } },
  erase: { ...CONNECT_FLAGS, template: { type: 'string' } }
} as const

/** The face models for --face: --model-dir, or the shared models directory. */
function faceModel (values: Values, env: NodeJS.ProcessEnv): { modelDir: string } {
  return { modelDir: typeof values['model-dir'] === 'string' ? values['model-dir'] : join(sharedDir(env), 'models') }
}

/** --t and --n, checked against each other so the message names the rule broken. */
function threshold (values: Values): { t: number, n: number } {
  const t = positive(values, 't', 3)
  const n = positive(values, 'n', 5)
  if (!Number.isInteger(t) || !Number.isInteger(n)) throw new UsageError('--t and --n must be whole numbers')
  if (t > n) throw new UsageError(`--t (${t}) must be at most --n (${n}): t of the n shares are needed to verify`)
  return { t, n }
}

async function connect (values: Values, env: NodeJS.ProcessEnv): Promise<Client> {
  const { authority, tenant } = loadTenantCredentials(resolve(required(values, 'tenant')))
  const bootstrap = list(values, 'bootstrap')
  if (bootstrap.length === 0) throw new UsageError('--bootstrap is required')
  // A photo probe is embedded inside the enclave, which then needs the face models.
  const enclave = typeof values.face === 'string' ? { enclave: { faceModel: faceModel(values, env) } } : {}
  return await createClient({ bootstrap, authority, credentials: { tenant }, ...enclave })
}

function readEmbedding (path: string): Float32Array {
  let v: unknown
  try { v = JSON.parse(readFileSync(path, 'utf8')) } catch (e) { throw new UsageError(`--embedding ${path}: ${(e as Error).message}`) }
  const arr = Array.isArray(v) ? v : (v as { embedding?: unknown })?.embedding
  const numbers = Array.isArray(arr) && arr.length > 0 && arr.every((x) => typeof x === 'number' && Number.isFinite(x))
  if (!numbers) throw new UsageError(`--embedding ${path} must hold an array of numbers (or {"embedding": [...]})`)
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

/** The template to enrol and the model that made it, from whichever of --embedding, --face or --synthetic was given. */
async function enrolTemplate (values: Values, env: NodeJS.ProcessEnv): Promise<{ template: Float32Array, model: string }> {
  if (typeof values.embedding === 'string') return { template: readEmbedding(values.embedding), model: 'external' }
  if (typeof values.face === 'string') {
    const m = await FaceMatcher.create(faceModel(values, env))
    try {
      const e = await m.embed(new Uint8Array(readFileSync(values.face)))
      return { template: e.embedding, model: e.model }
    } finally { await m.close() }
  }
  if (typeof values.synthetic === 'string') return { template: syntheticIdentity(128, prng(seed(values.synthetic))), model: 'synthetic-128' }
  throw new UsageError(NO_PROBE)
}

/** The probe to verify: an embedding, a raw photo (embedded inside the enclave), or fresh noise around a synthetic identity. */
function verifyProbe (values: Values): Float32Array | { image: Uint8Array } {
  if (typeof values.embedding === 'string') return readEmbedding(values.embedding)
  if (typeof values.face === 'string') return { image: new Uint8Array(readFileSync(values.face)) }
  if (typeof values.synthetic === 'string') return syntheticProbe(syntheticIdentity(128, prng(seed(values.synthetic))), prng(Date.now()))
  throw new UsageError(NO_PROBE)
}

async function enroll (client: Client, values: Values, io: CliIo): Promise<number> {
  const { t, n } = threshold(values)
  const { template, model } = await enrolTemplate(values, io.env)
  const r = await client.enroll({ template, modality: 'face', model, t, n })
  recordTemplate(resolve(required(values, 'tenant')), r.templateId)
  const holders = r.manifest.body.shares.map((s) => ({ x: s.x, peer: s.holder, site: s.site }))
  json(io, { templateId: toHex(r.templateId), holders, receipts: r.receipts.length, timings: r.timings })
  return EXIT.OK
}

async function verify (client: Client, values: Values, io: CliIo): Promise<number> {
  const templateId = fromHex(required(values, 'template'), '--template')
  const probe = verifyProbe(values)
  const r = await client.verify({ templateId, probe, purpose: typeof values.purpose === 'string' ? values.purpose : 'login' })
  json(io, {
    accept: r.accept,
    score: r.score,
    threshold: r.threshold,
    decision: toHex(r.decision),
    holders: r.holders,
    bad: r.bad,
    timings: r.timings
  })
  return r.accept ? EXIT.OK : EXIT.FAILURE
}

async function erase (client: Client, values: Values, io: CliIo): Promise<number> {
  const templateId = fromHex(required(values, 'template'), '--template')
  const r = await client.erase(templateId)
  if (r.complete) forgetTemplate(resolve(required(values, 'tenant')), templateId)
  const receipts = r.receipts.map((x) => ({ holder: x.body.holder, held: x.body.held, time: new Date(x.body.time).toISOString() }))
  json(io, { complete: r.complete, receipts, missing: r.missing })
  return r.complete ? EXIT.OK : EXIT.FAILURE
}

const ACTIONS = { enroll, verify, erase }

async function run (name: 'enroll' | 'verify' | 'erase', argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS[name])
  if (values.help === true) { io.stdout(HELP[name]); return EXIT.OK }
  if (name === 'enroll') threshold(values)
  return await withModelHint(async () => await connectAndRun(name, values, io))
}

/**
 * Join the network with the tenant's credentials from --tenant and --bootstrap;
 * undefined (after one line on stderr naming `name`) when no bootstrap node answers.
 *
 * @throws {UsageError} for a missing --tenant or --bootstrap; {BioshardError} ERR_CONFIG for a bad tenant directory
 */
export async function connectTenant (name: string, values: Values, io: CliIo): Promise<Client | undefined> {
  return await connect(values, io.env).catch((e: unknown) => {
    if (e instanceof BioshardError && e.code === 'ERR_QUORUM_UNAVAILABLE') { io.stderr(`bioshard ${name}: ${e.message}\n`); return undefined }
    throw e
  })
}

async function connectAndRun (name: 'enroll' | 'verify' | 'erase', values: Values, io: CliIo): Promise<number> {
  const client = await connectTenant(name, values, io)
  if (client === undefined) return EXIT.UNAVAILABLE
  try {
    return await ACTIONS[name](client, values, io)
  } finally {
    await client.close()
  }
}

export const enrollCommand: Command = {
  name: 'enroll',
  summary: 'enrol a template on a running network (JSON out)',
  run: async (a, io) => await run('enroll', a, io)
}
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a probe against an enrolled template (JSON out)',
  run: async (a, io) => await run('verify', a, io)
}
export const eraseCommand: Command = {
  name: 'erase',
  summary: 'erase a template at every holder (JSON out)',
  run: async (a, io) => await run('erase', a, io)
}
