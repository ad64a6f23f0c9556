/**
 * The WAV reader: what it decodes, and that every malformed, unsupported or
 * oversized file is a typed error (ERR_DECODE, ERR_TOO_LARGE), never a crash.
 */
import { readFileSync } from 'node:fs'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { BioshardError, TooLargeError } from '../../errors.ts'
import { parseWav, WAV_MAX_CHUNKS, WAV_MAX_METADATA_BYTES } from '../../matcher/voice/wav.ts'
import { requireShared, sharedPath } from '../../matcher/shared-path.ts'

// --- building WAV files ------------------------------------------------------

function u16 (v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff] }
function u32 (v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff] }
function ascii (s: string): number[] { return Array.from(s, (c) => c.charCodeAt(0)) }

/** One chunk, padded to an even length unless `pad` is false. */
function chunk (id: string, body: ArrayLike<number>, opts: { size?: number, pad?: boolean } = {}): number[] {
  const out = [...ascii(id), ...u32(opts.size ?? body.length), ...Array.from(body)]
  if (body.length % 2 === 1 && opts.pad !== false) out.push(0)
  return out
}

interface Fmt { tag?: number, channels?: number, rate?: number, bits?: number, blockAlign?: number, byteRate?: number }

function fmtBody (f: Fmt = {}): number[] {
  const channels = f.channels ?? 1
  const rate = f.rate ?? 16000
  const bits = f.bits ?? 16
  const blockAlign = f.blockAlign ?? channels * bits / 8
  return [...u16(f.tag ?? 1), ...u16(channels), ...u32(rate), ...u32(f.byteRate ?? rate * blockAlign), ...u16(blockAlign), ...u16(bits)]
}

const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]

function extensibleFmt (sub: number, bits: number, validBits = bits): number[] {
  return [...fmtBody({ tag: 0xfffe, bits }), ...u16(22), ...u16(validBits), ...u32(4), ...u16(sub), ...GUID_TAIL]
}

/** RIFF/WAVE around `chunks`; `sizeDelta` falsifies the RIFF size. */
function riff (chunks: number[][], sizeDelta = 0): Uint8Array {
  const body = chunks.flat()
  return Uint8Array.from([...ascii('RIFF'), ...u32(4 + body.length + sizeDelta), ...ascii('WAVE'), ...body])
}

function pcm16 (values: number[]): number[] {
  return values.flatMap((v) => u16(v & 0xffff))
}

function float32 (values: number[]): number[] {
  const b = new Uint8Array(values.length * 4)
  const view = new DataView(b.buffer)
  values.forEach((v, i) => view.setFloat32(i * 4, v, true))
  return Array.from(b)
}

const VALUES = [0, 1, -1, 32767, -32768, 1234, -4321, 100]
const GOOD = riff([chunk('fmt ', fmtBody()), chunk('data', pcm16(VALUES))])

function expectCode (fn: () => unknown, code: string, message?: RegExp): void {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  assert.ok(err instanceof BioshardError, `expected BioshardError ${code}, got ${String(err)}`)
  assert.is(err.code, code, err.message)
  if (message !== undefined) assert.match(err.message, message)
}

// --- what it reads -------------------------------------------------------------

const Reads = suite('parseWav: accepted files')

Reads('reads 16-bit PCM mono exactly, as v / 32768', () => {
  const w = parseWav(GOOD)
  assert.is(w.sampleRate, 16000)
  assert.is(w.format, 'pcm16')
  assert.equal(Array.from(w.samples, (v) => v * 32768), VALUES)
})

Reads('reads 32-bit float, plain (tag 3 with cbSize 0 and a fact chunk) and WAVE_FORMAT_EXTENSIBLE', () => {
  const values = [0, 0.5, -0.25, 1, -1, 0.123]
  const plain = riff([chunk('fmt ', [...fmtBody({ tag: 3, bits: 32 }), ...u16(0)]), chunk('fact', u32(values.length)), chunk('data', float32(values))])
  const ext = riff([chunk('fmt ', extensibleFmt(3, 32)), chunk('data', float32(values))])
  for (const file of [plain, ext]) {
    const w = parseWav(file)
    assert.is(w.format, 'float32')
    assert.equal(Array.from(w.samples), values.map(Math.fround))
  }
  const extPcm = parseWav(riff([chunk('fmt ', extensibleFmt(1, 16)), chunk('data', pcm16(VALUES))]))
  assert.equal(Array.from(extPcm.samples, (v) => v * 32768), VALUES)
})

Reads('skips unknown chunks and the pad byte after an odd-sized one, also when the last pad is missing', () => {
  const w = parseWav(riff([chunk('LIST', [1, 2, 3]), chunk('fmt ', fmtBody()), chunk('data', pcm16(VALUES)), chunk('junk', [9, 9, 9], { pad: false })]))
  assert.is(w.samples.length, VALUES.length)
  const withPad = riff([chunk('fmt ', fmtBody()), chunk('data', pcm16(VALUES)), chunk('note', [7])])
  assert.is(parseWav(withPad).samples.length, VALUES.length)
})

Reads('accepts a Node Buffer and another configured rate', () => {
  assert.is(parseWav(Buffer.from(GOOD)).samples.length, VALUES.length)
  const w = parseWav(riff([chunk('fmt ', fmtBody({ rate: 8000 })), chunk('data', pcm16(VALUES))]), { sampleRate: 8000 })
  assert.is(w.sampleRate, 8000)
})

const LIBRI = 'data/speech/librispeech/1688/1688-142285-0003.wav'
const haveLibri = requireShared('WAV reader on LibriSpeech', [LIBRI])
;(haveLibri ? Reads : Reads.skip)('reads a LibriSpeech file: 80 960 samples, the first being -1194', () => {
  const w = parseWav(readFileSync(sharedPath(LIBRI)))
  assert.is(w.samples.length, 80960)
  assert.is(w.samples[0] * 32768, -1194)
})

Reads.run()

// --- what it refuses ---------------------------------------------------------------

const Refuses = suite('parseWav: refused files')

Refuses('refuses every truncation of a valid file with ERR_DECODE', () => {
  for (let n = 0; n < GOOD.length; n++) expectCode(() => parseWav(GOOD.subarray(0, n)), 'ERR_DECODE')
})

Refuses('refuses chunk sizes that disagree with the bytes present', () => {
  const fmt = chunk('fmt ', fmtBody())
  const data = chunk('data', pcm16(VALUES))
  expectCode(() => parseWav(riff([fmt, data], 2)), 'ERR_DECODE', /runs past the end/)
  expectCode(() => parseWav(riff([fmt, data], -4)), 'ERR_DECODE', /unexplained bytes/)
  expectCode(() => parseWav(riff([fmt, chunk('data', pcm16(VALUES), { size: 1000 })])), 'ERR_DECODE', /runs past the RIFF body/)
  expectCode(() => parseWav(riff([fmt, chunk('data', pcm16(VALUES), { size: 0xffffffff })])), 'ERR_DECODE', /runs past/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody().slice(0, 14)), data])), 'ERR_DECODE', /at least 16/)
  expectCode(() => parseWav(riff([fmt, chunk('data', [...pcm16(VALUES), 5])])), 'ERR_DECODE', /multiple of the block align/)
  expectCode(() => parseWav(riff([chunk('fmt ', [...fmtBody(), ...u16(30)]), data])), 'ERR_DECODE', /extension size/)
  expectCode(() => parseWav(riff([fmt, data, [1, 2, 3, 4]])), 'ERR_DECODE', /stray bytes/)
})

Refuses('refuses structural mistakes: not RIFF/WAVE, missing, misplaced or repeated chunks, no samples', () => {
  const fmt = chunk('fmt ', fmtBody())
  const data = chunk('data', pcm16(VALUES))
  const rifx = GOOD.slice()
  rifx[3] = 0x58 // 'RIFX'
  expectCode(() => parseWav(rifx), 'ERR_DECODE', /not a RIFF/)
  const avi = GOOD.slice()
  avi.set(ascii('AVI '), 8)
  expectCode(() => parseWav(avi), 'ERR_DECODE', /not of form WAVE/)
  expectCode(() => parseWav(riff([data])), 'ERR_DECODE', /before its 'fmt '/)
  expectCode(() => parseWav(riff([fmt])), 'ERR_DECODE', /no 'data'/)
  expectCode(() => parseWav(riff([chunk('LIST', [])])), 'ERR_DECODE', /no 'fmt '/)
  expectCode(() => parseWav(riff([fmt, fmt, data])), 'ERR_DECODE', /two 'fmt '/)
  expectCode(() => parseWav(riff([fmt, data, data])), 'ERR_DECODE', /two 'data'/)
  expectCode(() => parseWav(riff([fmt, chunk('data', [])])), 'ERR_DECODE', /no samples/)
  const many = Array.from({ length: WAV_MAX_CHUNKS }, () => chunk('pad ', []))
  expectCode(() => parseWav(riff([fmt, ...many, data])), 'ERR_DECODE', /more than 64 chunks/)
})

Refuses('refuses fmt fields that contradict each other', () => {
  const data = chunk('data', pcm16(VALUES))
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ blockAlign: 4 })), data])), 'ERR_DECODE', /block align/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ byteRate: 16000 })), data])), 'ERR_DECODE', /byte rate/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ channels: 0, blockAlign: 0, byteRate: 0 })), data])), 'ERR_DECODE', /0 channels/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ rate: 0 })), data])), 'ERR_DECODE', /0 Hz/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ bits: 12, blockAlign: 2, byteRate: 32000 })), data])), 'ERR_DECODE', /whole number of bytes/)
  expectCode(() => parseWav(riff([chunk('fmt ', extensibleFmt(1, 16, 12)), data])), 'ERR_DECODE', /valid bits/)
  const badGuid = extensibleFmt(1, 16)
  badGuid[39] ^= 0xff
  expectCode(() => parseWav(riff([chunk('fmt ', badGuid), data])), 'ERR_DECODE', /GUID/)
})

Refuses('refuses 8-bit and 24-bit PCM, 64-bit float and compressed formats, naming what it got', () => {
  const d = chunk('data', new Array(48).fill(0))
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ bits: 8 })), d])), 'ERR_DECODE', /8-bit PCM/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ bits: 24 })), d])), 'ERR_DECODE', /24-bit PCM/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ tag: 3, bits: 64 })), d])), 'ERR_DECODE', /64-bit float/)
  expectCode(() => parseWav(riff([chunk('fmt ', fmtBody({ tag: 7, bits: 8 })), d])), 'ERR_DECODE', /format tag 0x0007/)
})

Refuses('refuses stereo, saying mono is needed', () => {
  const w = riff([chunk('fmt ', fmtBody({ channels: 2 })), chunk('data', pcm16(VALUES))])
  expectCode(() => parseWav(w), 'ERR_DECODE', /2 channels.*mono/)
})

Refuses('refuses other sample rates, naming the rate and the one needed', () => {
  for (const rate of [8000, 22050, 44100, 48000]) {
    const w = riff([chunk('fmt ', fmtBody({ rate })), chunk('data', pcm16(VALUES))])
    expectCode(() => parseWav(w), 'ERR_DECODE', new RegExp(`${rate} Hz.*16000 Hz`))
  }
})

Refuses('refuses non-finite float samples', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const w = riff([chunk('fmt ', fmtBody({ tag: 3, bits: 32 })), chunk('data', float32([0, 0.5, bad, 0]))])
    expectCode(() => parseWav(w), 'ERR_DECODE', /not finite/)
  }
})

Refuses('refuses files over the size limit with ERR_TOO_LARGE before reading a header', () => {
  const limit = 60 * 16000 * 4 + WAV_MAX_METADATA_BYTES
  let err: unknown
  try { parseWav(new Uint8Array(limit + 1)) } catch (e) { err = e }
  assert.ok(err instanceof TooLargeError, String(err)) // zeros are no RIFF header: size came first
  assert.is((err as TooLargeError).code, 'ERR_TOO_LARGE')
  assert.not.throws(() => { try { parseWav(new Uint8Array(limit)) } catch (e) { if (!(e instanceof BioshardError) || e.code !== 'ERR_DECODE') throw e } })
})

Refuses('refuses audio longer than maxSeconds with ERR_TOO_LARGE', () => {
  const twoSeconds = riff([chunk('fmt ', fmtBody()), chunk('data', new Array(2 * 16000 * 2).fill(0))])
  expectCode(() => parseWav(twoSeconds, { maxSeconds: 1.5 }), 'ERR_TOO_LARGE')
  assert.is(parseWav(twoSeconds, { maxSeconds: 2 }).samples.length, 32000)
})

Refuses('throws TypeError/RangeError for bad arguments', () => {
  assert.throws(() => parseWav('RIFF' as unknown as Uint8Array), TypeError)
  assert.throws(() => parseWav(GOOD, { maxSeconds: 0 }), RangeError)
  assert.throws(() => parseWav(GOOD, { maxSeconds: Number.NaN }), RangeError)
  assert.throws(() => parseWav(GOOD, { sampleRate: 16000.5 }), RangeError)
})

Refuses('never throws anything but a BioshardError on 5000 randomly corrupted files', () => {
  const base = riff([
    chunk('LIST', [1, 2, 3]),
    chunk('fmt ', [...fmtBody({ tag: 3, bits: 32 }), ...u16(0)]),
    chunk('fact', u32(6)),
    chunk('data', float32([0, 0.5, -0.5, 0.25, 1, -1]))
  ])
  let s = 2463534242
  const rnd = (n: number): number => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s % n
  }
  let parsed = 0
  const codes = new Map<string, number>()
  for (let i = 0; i < 5000; i++) {
    let b = base.slice()
    const edits = 1 + rnd(4)
    for (let e = 0; e < edits; e++) {
      const kind = rnd(4)
      if (kind === 0) {
        b[rnd(b.length)] = rnd(256)
      } else if (kind === 1) {
        b = b.subarray(0, rnd(b.length + 1))
      } else if (kind === 2 && b.length >= 4) {
        const at = rnd(b.length - 3)
        const word = [0, 1, 0x7fffffff, 0xffffffff, rnd(2 ** 32)][rnd(5)]
        new DataView(b.buffer, b.byteOffset).setUint32(at, word, true)
      } else {
        b = Uint8Array.from([...b.subarray(0, 40), ...b.subarray(40 + rnd(20))])
      }
    }
    try {
      const w = parseWav(b)
      assert.ok(w.samples.length > 0 && w.samples.every(Number.isFinite))
      parsed++
    } catch (e) {
      if (!(e instanceof BioshardError)) throw new Error(`mutation ${i} threw ${String(e)}`)
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1)
    }
  }
  assert.ok(parsed > 0 && codes.get('ERR_DECODE')! > 1000, `parsed ${parsed}, codes ${JSON.stringify([...codes])}`)
})

Refuses.run()
