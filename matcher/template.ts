/**
 * The versioned template: one embedding plus what it takes to compare it
 * safely (modality, model id, dimension, element type), encoded with the
 * project's canonical CBOR so it can be encrypted, split and hashed as bytes
 * ({@link encodeTemplate}). Template bytes are biometric secrets: callers wipe
 * them after use.
 *
 * @module
 */
import { decodeCanonical, asMap, bytesField, encodeCanonical, enumField, intField, numberField, strField } from '../crypto/canonical.ts'
import { BioshardError, DecodeError } from '../errors.ts'

/** The template format version this module writes and reads. */
export const TEMPLATE_VERSION = 1
/** Largest embedding dimension accepted (typical models use 128–512). */
export const TEMPLATE_MAX_DIM = 4096
/** Largest encoded template accepted by {@link decodeTemplate}. */
export const TEMPLATE_MAX_BYTES = TEMPLATE_MAX_DIM * 4 + 512
/** Model ids: short, printable, no spaces (e.g. 'mobilefacenet-foamliu-a6cc9032'). */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/

/** Biometric modality of a template. */
export type Modality = 'face' | 'voice'
/** Element type of a template's data. */
export type TemplateDtype = 'f32' | 'i8'

/** A decoded template. */
export interface Template {
  v: 1
  modality: Modality
  /** Which embedding model produced it; templates of different models never compare. */
  model: string
  dim: number
  dtype: TemplateDtype
  /** Present only for `i8`: the value of one quantisation step. */
  scale?: number
  /** `4·dim` bytes for `f32` (little-endian), `dim` bytes for `i8`. */
  data: Uint8Array
}

const MODALITIES: readonly Modality[] = ['face', 'voice']
const DTYPES: readonly TemplateDtype[] = ['f32', 'i8']

function checkVector (v: unknown, name: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`)
  if (v.length < 1 || v.length > TEMPLATE_MAX_DIM) throw new RangeError(`${name} length must be in [1, ${TEMPLATE_MAX_DIM}], got ${v.length}`)
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new RangeError(`${name}[${i}] is not finite`)
  return v
}

/**
 * Symmetric int8 quantisation with one scale: `scale = max|v| / 127`,
 * `q = round(v / scale)` in [-127, 127] (−128 is never used, so negation is exact).
 *
 * @param v - the embedding (any norm)
 * @returns the quantised values and the scale (a float32-representable number)
 * @throws {TypeError} when `v` is not a Float32Array
 * @throws {RangeError} when `v` is empty, too long, all zeros or not finite
 * @example const { data, scale } = quantiseInt8(new Float32Array([0.5, -1]))
 */
export function quantiseInt8 (v: Float32Array): { data: Int8Array, scale: number } {
  checkVector(v, 'v')
  let maxAbs = 0
  for (let i = 0; i < v.length; i++) maxAbs = Math.max(maxAbs, Math.abs(v[i]))
  if (maxAbs === 0) throw new RangeError('v must not be all zeros')
  // Rounded to float32 so the CBOR encoding is at most 5 bytes and exact.
  const scale = Math.fround(maxAbs / 127)
  const data = new Int8Array(v.length)
  for (let i = 0; i < v.length; i++) data[i] = Math.max(-127, Math.min(127, Math.round(v[i] / scale)))
  return { data, scale }
}

/**
 * Build a template from an embedding.
 *
 * @param embedding - the vector (normally L2-normalised)
 * @param opts - modality, model id and element type (default `f32`)
 * @returns a template owning fresh `data` bytes
 * @throws {TypeError|RangeError} for a bad embedding, modality, model id or dtype
 * @example makeTemplate(vec, { modality: 'face', model: 'mobilefacenet-foamliu-a6cc9032', dtype: 'i8' })
 */
export function makeTemplate (embedding: Float32Array, opts: { modality: Modality, model: string, dtype?: TemplateDtype }): Template {
  checkVector(embedding, 'embedding')
  if (!MODALITIES.includes(opts?.modality)) throw new TypeError(`opts.modality must be one of ${MODALITIES.join(', ')}`)
  if (typeof opts.model !== 'string' || !MODEL_ID_PATTERN.test(opts.model)) {
    throw new TypeError('opts.model must be a model id matching ' + String(MODEL_ID_PATTERN))
  }
  const dtype = opts.dtype ?? 'f32'
  if (!DTYPES.includes(dtype)) throw new TypeError(`opts.dtype must be one of ${DTYPES.join(', ')}`)
  const dim = embedding.length
  if (dtype === 'i8') {
    const { data, scale } = quantiseInt8(embedding)
    return { v: 1, modality: opts.modality, model: opts.model, dim, dtype, scale, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
  }
  const data = new Uint8Array(dim * 4)
  const view = new DataView(data.buffer)
  for (let i = 0; i < dim; i++) view.setFloat32(i * 4, embedding[i], true)
  return { v: 1, modality: opts.modality, model: opts.model, dim, dtype, data }
}

/**
 * The template's values as float32 (`i8` values times `scale`).
 *
 * @param t - a template (validated as by {@link encodeTemplate})
 * @returns a new vector of length `t.dim`; the caller wipes it when done
 * @throws {TypeError|RangeError} when the template's fields are inconsistent
 * @example const vec = dequantise(decodeTemplate(bytes))
 */
export function dequantise (t: Template): Float32Array {
  validate(t)
  const out = new Float32Array(t.dim)
  if (t.dtype === 'i8') {
    const q = new Int8Array(t.data.buffer, t.data.byteOffset, t.dim)
    const scale = t.scale as number
    for (let i = 0; i < t.dim; i++) out[i] = q[i] * scale
  } else {
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    for (let i = 0; i < t.dim; i++) out[i] = view.getFloat32(i * 4, true)
  }
  return out
}

/** Field checks shared by encode (TypeError/RangeError) — decode re-checks as DecodeError. */
function validate (t: Template): void {
  if (t === null || typeof t !== 'object') throw new TypeError('template must be an object')
  if (t.v !== TEMPLATE_VERSION) throw new RangeError(`template.v must be ${TEMPLATE_VERSION}`)
  if (!MODALITIES.includes(t.modality)) throw new TypeError(`template.modality must be one of ${MODALITIES.join(', ')}`)
  if (typeof t.model !== 'string' || !MODEL_ID_PATTERN.test(t.model)) throw new TypeError('template.model must be a model id')
  if (!Number.isInteger(t.dim) || t.dim < 1 || t.dim > TEMPLATE_MAX_DIM) throw new RangeError(`template.dim must be in [1, ${TEMPLATE_MAX_DIM}]`)
  if (!DTYPES.includes(t.dtype)) throw new TypeError(`template.dtype must be one of ${DTYPES.join(', ')}`)
  if (!(t.data instanceof Uint8Array)) throw new TypeError('template.data must be a Uint8Array')
  const want = t.dtype === 'f32' ? t.dim * 4 : t.dim
  if (t.data.length !== want) throw new RangeError(`template.data must be ${want} bytes, got ${t.data.length}`)
  if (t.dtype === 'i8') {
    if (typeof t.scale !== 'number' || !(t.scale > 0) || !Number.isFinite(t.scale) || Math.fround(t.scale) !== t.scale) {
      throw new RangeError('template.scale must be a positive finite float32 for dtype i8')
    }
  } else if (t.scale !== undefined) {
    throw new TypeError('template.scale is only allowed for dtype i8')
  } else {
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    for (let i = 0; i < t.dim; i++) if (!Number.isFinite(view.getFloat32(i * 4, true))) throw new RangeError(`template.data[${i}] is not finite`)
  }
}

/**
 * Encode a template canonically, as the CBOR map (deterministic encoding)
 * `{ v: 1, modality: 'face'|'voice', model: string, dim: int, dtype: 'f32'|'i8', scale?: float, data: bytes }`:
 * - `f32`: `data` is `dim` little-endian IEEE-754 float32 values (`4·dim` bytes).
 * - `i8`: `data` is `dim` two's-complement int8 values; element `i` is
 *   `data[i] · scale` (symmetric quantisation, one scale per template, `scale`
 *   required and only allowed here). Four times smaller than `f32`.
 *
 * @param t - the template
 * @returns deterministic CBOR bytes (secret: wipe after use)
 * @throws {TypeError|RangeError} naming the first invalid field
 * @example const bytes = encodeTemplate(makeTemplate(vec, { modality: 'face', model: 'm1' }))
 */
export function encodeTemplate (t: Template): Uint8Array {
  validate(t)
  const m: Record<string, unknown> = { v: t.v, modality: t.modality, model: t.model, dim: t.dim, dtype: t.dtype, data: t.data }
  if (t.dtype === 'i8') m.scale = t.scale
  return encodeCanonical(m)
}

/**
 * Decode and validate every field of an encoded template.
 *
 * @param bytes - output of {@link encodeTemplate}
 * @returns the template; `data` is a fresh copy, so wiping `bytes` leaves it intact
 * @throws {TooLargeError} ERR_TOO_LARGE over {@link TEMPLATE_MAX_BYTES}
 * @throws {BioshardError} ERR_UNSUPPORTED_VERSION for a version other than 1
 * @throws {DecodeError} ERR_DECODE for malformed, non-canonical or inconsistent fields
 * @example const t = decodeTemplate(bytes)
 */
export function decodeTemplate (bytes: Uint8Array): Template {
  const what = 'template'
  const raw = decodeCanonical(bytes, TEMPLATE_MAX_BYTES, what)
  // The version decides the rest of the layout, so it is checked first.
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !(raw instanceof Uint8Array) && 'v' in raw) {
    const v = (raw as Record<string, unknown>).v
    if (typeof v === 'number' && Number.isInteger(v) && v !== TEMPLATE_VERSION) {
      throw new BioshardError('ERR_UNSUPPORTED_VERSION', `template version ${v} is not supported (expected ${TEMPLATE_VERSION})`)
    }
  }
  const m = asMap(raw, what, ['v', 'modality', 'model', 'dim', 'dtype', 'data'], ['scale'])
  intField(m, 'v', what, { min: TEMPLATE_VERSION, max: TEMPLATE_VERSION })
  const modality = enumField(m, 'modality', what, MODALITIES)
  const model = strField(m, 'model', what, { max: 128, pattern: MODEL_ID_PATTERN })
  const dim = intField(m, 'dim', what, { min: 1, max: TEMPLATE_MAX_DIM })
  const dtype = enumField(m, 'dtype', what, DTYPES)
  const data = bytesField(m, 'data', what, { exact: dtype === 'f32' ? dim * 4 : dim })
  let scale: number | undefined
  if (dtype === 'i8') {
    if (!('scale' in m)) throw new DecodeError(`${what}.scale is missing for dtype i8`)
    scale = numberField(m, 'scale', what, { min: Number.MIN_VALUE, max: Number.MAX_VALUE })
    if (Math.fround(scale) !== scale) throw new DecodeError(`${what}.scale must be a float32 value`)
  } else {
    if ('scale' in m) throw new DecodeError(`${what}.scale is only allowed for dtype i8`)
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    for (let i = 0; i < dim; i++) if (!Number.isFinite(view.getFloat32(i * 4, true))) throw new DecodeError(`${what}.data[${i}] is not finite`)
  }
  // cborg already returned a fresh copy; slicing again would leave an unwiped one behind.
  const t: Template = { v: 1, modality, model, dim, dtype, data }
  if (scale !== undefined) t.scale = scale
  return t
}
