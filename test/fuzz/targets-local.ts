/**
 * Fuzz targets for input that comes from files, the environment and the
 * command line rather than from peers: the node's config loader (the file
 * and the BIOSHARD_* overrides), the CLI argument parser and its option
 * readers, WAV input and photo input. The seeds are built here (a valid
 * config, real WAV files of each accepted layout, tiny JPEG/PNG/WebP photos
 * made by sharp) and mutated like the wire corpus.
 *
 * @module
 */
import fc from 'fast-check'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { loadConfig, validateConfig, CONFIG_FILE, CONFIG_VERSION } from '../../node/config.ts'
import { parse, positive, required, list } from '../../cli/args.ts'
import { parseWav } from '../../matcher/voice/wav.ts'
import { decodeImage } from '../../matcher/face/decode.ts'
import { sharpFactory } from '../../matcher/optional-deps.ts'
import { byteMutations, HOSTILE_VALUES } from './mutate.ts'
import { consistent, type Target } from './target.ts'

const utf8 = new TextEncoder()

/** A valid config, the seed the config inputs start from. */
const CONFIG = {
  version: CONFIG_VERSION,
  site: 'site-a',
  network: 'bsn-0123456789abcdef',
  authorities: ['ab'.repeat(32)],
  listen: ['/ip4/127.0.0.1/tcp/0'],
  bootstrap: ['/ip4/127.0.0.1/tcp/4100/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'],
  metrics: '127.0.0.1:9100',
  limits: { requestTimeoutMs: 5000, auditFlushMs: 20 }
}

/** Fields an edit may set: every setting, a known limit, inherited names and unknown ones. */
const CONFIG_FIELDS = [...Object.keys(CONFIG), 'limits.requestTimeoutMs', 'limits.toString', 'limits.__proto__', 'extra', '__proto__']
const jsonHostile = fc.oneof(fc.constantFrom(...HOSTILE_VALUES.filter((v) => typeof v !== 'bigint' && !(v instanceof Uint8Array))), fc.jsonValue())

/** A config object with one to three fields (known, limit or unknown) set to hostile values, as JSON text. */
const configObjects = fc.tuple(
  fc.array(fc.tuple(fc.constantFrom(...CONFIG_FIELDS), jsonHostile), { minLength: 1, maxLength: 3 })
).map(([edits]) => {
  const c: Record<string, unknown> = structuredClone(CONFIG)
  for (const [k, v] of edits) {
    if (k.startsWith('limits.')) {
      const limits = typeof c.limits === 'object' && c.limits !== null ? c.limits as Record<string, unknown> : (c.limits = {}) as Record<string, unknown>
      Object.defineProperty(limits, k.slice(7), { value: v, enumerable: true, writable: true, configurable: true })
    } else Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return utf8.encode(JSON.stringify(c))
})

const envValue = fc.oneof(fc.constantFrom('off', '', ',', '127.0.0.1:99999', '[::1]:80', '/ip4/1.2.3.4/tcp/1', '/bad', 'a'.repeat(10_000)), fc.string())
const configInput = fc.record({
  text: fc.oneof(configObjects, byteMutations([utf8.encode(JSON.stringify(CONFIG, null, 2))])),
  env: fc.dictionary(fc.constantFrom('BIOSHARD_LISTEN', 'BIOSHARD_BOOTSTRAP', 'BIOSHARD_METRICS'), envValue, { maxKeys: 3 })
})

/** Options of `bioshard devnet` plus a repeatable one: the shapes every command's parser takes. */
const ARG_OPTIONS = {
  nodes: { type: 'string' },
  dir: { type: 'string', short: 'd' },
  keep: { type: 'boolean' },
  bootstrap: { type: 'string', multiple: true }
} as const

const argWord = fc.oneof(
  fc.constantFrom('--nodes', '--nodes=5', '--nodes=1e400', '--nodes=-1', '--nodes=NaN', '--dir', '-d', '-dx', '-h', '--help', '--keep',
    '--keep=true', '--bootstrap', '--', '-', '--unknown', '---', '--=', '-k', '', 'x'.repeat(5000), '--__proto__', '--constructor'),
  fc.string({ maxLength: 20 })
)

/** A 16 kHz mono WAV: 16-bit PCM, 32-bit float, or PCM as WAVE_FORMAT_EXTENSIBLE, with a LIST chunk. */
function wav (format: 'pcm' | 'float' | 'extensible', frames: number): Uint8Array {
  const bits = format === 'float' ? 32 : 16
  const fmtSize = format === 'extensible' ? 40 : 16
  const data = frames * bits / 8
  const size = 4 + (8 + fmtSize) + (8 + 4) + (8 + data)
  const b = new Uint8Array(8 + size)
  const v = new DataView(b.buffer)
  const id = (at: number, s: string): void => { for (let i = 0; i < 4; i++) b[at + i] = s.charCodeAt(i) }
  id(0, 'RIFF'); v.setUint32(4, size, true); id(8, 'WAVE')
  id(12, 'fmt '); v.setUint32(16, fmtSize, true)
  v.setUint16(20, format === 'float' ? 3 : format === 'pcm' ? 1 : 0xfffe, true)
  v.setUint16(22, 1, true); v.setUint32(24, 16_000, true); v.setUint32(28, 16_000 * bits / 8, true)
  v.setUint16(32, bits / 8, true); v.setUint16(34, bits, true)
  if (format === 'extensible') {
    v.setUint16(36, 22, true); v.setUint16(38, 16, true); v.setUint32(40, 4, true); v.setUint16(44, 1, true)
    b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46)
  }
  let at = 20 + fmtSize
  id(at, 'LIST'); v.setUint32(at + 4, 4, true); id(at + 8, 'INFO'); at += 12
  id(at, 'data'); v.setUint32(at + 4, data, true); at += 8
  for (let i = 0; i < frames; i++) {
    const s = Math.sin(i / 7) * 0.5
    if (bits === 16) v.setInt16(at + 2 * i, Math.round(s * 32767), true)
    else v.setFloat32(at + 4 * i, s, true)
  }
  return b
}

/** Tiny photos of each accepted format, made by sharp. */
async function photos (): Promise<Uint8Array[]> {
  const sharp = await sharpFactory()
  const base = (): ReturnType<typeof sharp> => sharp({ create: { width: 9, height: 7, channels: 3, background: { r: 200, g: 120, b: 40 } } })
  const out = await Promise.all([base().jpeg().toBuffer(), base().png().toBuffer(), base().webp().toBuffer(), base().greyscale().png().toBuffer()])
  return out.map((b) => new Uint8Array(b))
}

/** The file, environment, command-line, audio and image targets. */
export async function localTargets (): Promise<Target[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bioshard-fuzz-config-'))
  const wavs = [wav('pcm', 400), wav('float', 300), wav('extensible', 200)]
  const images = await photos()
  return [
    {
      name: 'config',
      fn: 'loadConfig = readJsonFile + validateConfig + applyEnv (node/config.ts)',
      refusals: ['ERR_CONFIG'],
      input: configInput,
      run: (input) => {
        const { text, env } = input as { text: Uint8Array, env: Record<string, string> }
        writeFileSync(join(dir, CONFIG_FILE), text)
        const c = loadConfig(dir, env)
        consistent(isDeepStrictEqual(validateConfig(JSON.parse(JSON.stringify(c))), c), 'a loaded config does not validate to itself')
        consistent(Object.keys(c.limits).every((k) => Object.hasOwn(CONFIG_LIMIT_KEYS, k)), 'a loaded config holds an unknown limit')
      }
    },
    {
      name: 'cli-args',
      fn: 'parse, positive, required, list (cli/args.ts)',
      refusals: ['UsageError'],
      input: fc.array(argWord, { maxLength: 8 }),
      run: (argv) => {
        const { values } = parse(argv as string[], ARG_OPTIONS)
        consistent(Object.keys(values).every((k) => k in ARG_OPTIONS || k === 'help'), 'a value for an option never declared')
        const n = positive(values, 'nodes', 6)
        consistent(Number.isFinite(n) && n > 0, 'positive() returned a non-positive number')
        consistent(list(values, 'bootstrap').every((s) => typeof s === 'string'), 'list() returned a non-string')
        required(values, 'dir')
      }
    },
    {
      name: 'wav',
      fn: 'parseWav (matcher/voice/wav.ts)',
      refusals: ['ERR_DECODE', 'ERR_TOO_LARGE'],
      input: fc.oneof({ weight: 9, arbitrary: byteMutations(wavs) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }),
      run: (b) => {
        const a = parseWav(b as Uint8Array)
        consistent(a.samples.length > 0 && a.samples.every((s) => Number.isFinite(s)), 'accepted audio holds no or non-finite samples')
      }
    },
    {
      name: 'image',
      fn: 'decodeImage (matcher/face/decode.ts, sharp behind a magic-byte check)',
      refusals: ['ERR_DECODE', 'ERR_TOO_LARGE'],
      input: fc.oneof({ weight: 9, arbitrary: byteMutations(images) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }),
      run: async (b) => {
        const img = await decodeImage(b as Uint8Array, { maxBytes: 1 << 20, maxPixels: 4_000_000 })
        consistent(img.width > 0 && img.height > 0 && img.data.length === img.width * img.height * 3, 'decoded pixels do not match the size')
      }
    }
  ]
}

/** The limit names a config may set. */
const CONFIG_LIMIT_KEYS: Record<string, true> = Object.fromEntries(Object.keys(validateConfig({ ...CONFIG }).limits).map((k) => [k, true]))
