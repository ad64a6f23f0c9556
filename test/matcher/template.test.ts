/**
 * Template encoding (matcher/template.ts): float32 and int8 round-trips,
 * quantisation error and size, and rejection of every malformed field.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { decodeTemplate, dequantise, encodeTemplate, makeTemplate, quantiseInt8, type Template } from '../../matcher/template.ts'
import { cosine, l2normalise } from '../../matcher/score.ts'
import { codeOf } from '../helpers/assert.ts'

const Tpl = suite('template')
const MODEL = 'mobilefacenet-foamliu-a6cc9032'

function vector (dim: number, seed = 1): Float32Array {
  let s = seed
  const v = new Float32Array(dim)
  for (let i = 0; i < dim; i++) { s = (s * 1103515245 + 12345) % 2147483648; v[i] = s / 2147483648 - 0.5 }
  return l2normalise(v)
}

Tpl('round-trips a float32 template bit for bit', () => {
  const v = vector(128)
  const t = makeTemplate(v, { modality: 'face', model: MODEL })
  const back = decodeTemplate(encodeTemplate(t))
  assert.equal({ ...back, data: undefined }, { ...t, data: undefined })
  assert.equal(dequantise(back), v)
})

Tpl('stores float32 data little-endian', () => {
  const t = makeTemplate(new Float32Array([1]), { modality: 'voice', model: 'm' })
  assert.equal([...t.data], [0x00, 0x00, 0x80, 0x3f])
})

Tpl('int8 templates are 4× smaller in data and within half a step of the original', () => {
  const v = vector(128, 7)
  const f32 = encodeTemplate(makeTemplate(v, { modality: 'face', model: MODEL }))
  const t = makeTemplate(v, { modality: 'face', model: MODEL, dtype: 'i8' })
  const i8 = encodeTemplate(t)
  assert.is(t.data.length * 4, 128 * 4)
  assert.ok(i8.length < f32.length / 2.5, `${i8.length} vs ${f32.length}`)
  const back = dequantise(decodeTemplate(i8))
  const scale = t.scale as number
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) <= scale / 2 + 1e-9)
  assert.ok(cosine(back, v) > 0.999)
})

Tpl('quantiseInt8 uses the symmetric range [-127, 127] with max|v| at ±127', () => {
  const { data, scale } = quantiseInt8(new Float32Array([-2, 1, 0.5, 0]))
  assert.equal([...data], [-127, 64, 32, 0])
  assert.is(scale, Math.fround(2 / 127))
  assert.throws(() => quantiseInt8(new Float32Array(3)), RangeError)
  assert.throws(() => quantiseInt8([1, 2] as unknown as Float32Array), TypeError)
})

Tpl('encoding is canonical: the same template always gives the same bytes', () => {
  const v = vector(64, 3)
  const opts = { modality: 'face', model: MODEL, dtype: 'i8' } as const
  assert.equal(encodeTemplate(makeTemplate(v, opts)), encodeTemplate(makeTemplate(v, opts)))
})

Tpl('makeTemplate rejects bad arguments naming them', () => {
  const v = vector(8)
  assert.throws(() => makeTemplate(v, { modality: 'iris' as 'face', model: MODEL }), /opts\.modality/)
  assert.throws(() => makeTemplate(v, { modality: 'face', model: 'has space' }), /opts\.model/)
  assert.throws(() => makeTemplate(v, { modality: 'face', model: MODEL, dtype: 'f16' as 'f32' }), /opts\.dtype/)
  assert.throws(() => makeTemplate(new Float32Array([1, Number.NaN]), { modality: 'face', model: MODEL }), /embedding\[1\]/)
  assert.throws(() => makeTemplate(new Float32Array(0), { modality: 'face', model: MODEL }), RangeError)
})

Tpl('encodeTemplate rejects inconsistent fields', () => {
  const t = makeTemplate(vector(8), { modality: 'face', model: MODEL })
  assert.throws(() => encodeTemplate({ ...t, dim: 9 }), /template\.data/)
  assert.throws(() => encodeTemplate({ ...t, scale: 0.1 }), /template\.scale/)
  assert.throws(() => encodeTemplate({ ...t, dtype: 'i8' } as Template), /template\./)
  assert.throws(() => encodeTemplate({ ...t, v: 2 } as unknown as Template), /template\.v/)
})

Tpl('decodeTemplate rejects bad fields with ERR_DECODE', () => {
  const t = makeTemplate(vector(4), { modality: 'face', model: MODEL })
  const base = { v: 1, modality: 'face', model: MODEL, dim: 4, dtype: 'f32', data: t.data }
  const i8 = makeTemplate(vector(4), { modality: 'face', model: MODEL, dtype: 'i8' })
  const i8base = { v: 1, modality: 'face', model: MODEL, dim: 4, dtype: 'i8', scale: i8.scale, data: i8.data }
  const nan = new Uint8Array(16); new DataView(nan.buffer).setFloat32(4, Number.NaN, true)
  const cases: Array<[string, unknown]> = [
    ['unknown field', { ...base, extra: 1 }],
    ['missing data', { ...base, data: undefined }],
    ['bad modality', { ...base, modality: 'iris' }],
    ['bad model id', { ...base, model: '' }],
    ['dim zero', { ...base, dim: 0, data: new Uint8Array(0) }],
    ['dim too large', { ...base, dim: 5000 }],
    ['data length mismatch', { ...base, data: new Uint8Array(15) }],
    ['bad dtype', { ...base, dtype: 'f64' }],
    ['scale on f32', { ...base, scale: 0.5 }],
    ['i8 without scale', { ...i8base, scale: undefined }],
    ['i8 negative scale', { ...i8base, scale: -0.5 }],
    ['i8 scale not float32', { ...i8base, scale: 0.1 }],
    ['non-finite float32 value', { ...base, data: nan }],
    ['not a map', [1, 2]]
  ]
  for (const [name, value] of cases) {
    const clean = Array.isArray(value) ? value : Object.fromEntries(Object.entries(value as object).filter(([, x]) => x !== undefined))
    assert.is(codeOf(() => decodeTemplate(encodeCanonical(clean))), 'ERR_DECODE', name)
  }
})

Tpl('decodeTemplate rejects other versions with ERR_UNSUPPORTED_VERSION and oversized input with ERR_TOO_LARGE', () => {
  const t = makeTemplate(vector(4), { modality: 'face', model: MODEL })
  const v2 = encodeCanonical({ v: 2, modality: 'face', model: MODEL, dim: 4, dtype: 'f32', data: t.data })
  assert.is(codeOf(() => decodeTemplate(v2)), 'ERR_UNSUPPORTED_VERSION')
  assert.is(codeOf(() => decodeTemplate(new Uint8Array(100_000))), 'ERR_TOO_LARGE')
})

Tpl('decoded data is a copy: wiping the encoded bytes leaves it intact', () => {
  const v = vector(16)
  const bytes = encodeTemplate(makeTemplate(v, { modality: 'face', model: MODEL }))
  const t = decodeTemplate(bytes)
  bytes.fill(0)
  assert.equal(dequantise(t), v)
})

Tpl.run()
