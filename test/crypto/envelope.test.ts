import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createDecipheriv } from 'node:crypto'
import {
  encryptTemplate, decryptTemplate, envelopeOverhead, encryptTemplateWithKey, decryptTemplateWithKey,
  splitEnvelope, joinEnvelope, newDataKey, ENVELOPE_VERSION, DATA_KEY_BYTES, NONCE_BYTES, TAG_BYTES
} from '../../crypto/envelope.ts'
import type { TemplateContext } from '../../crypto/envelope.ts'
import { randomBytes, fromHex, toHex, concat, utf8 } from '../../crypto/bytes.ts'
import { BioshardError, DecodeError, DecryptError } from '../../errors.ts'
import { expectArgError } from '../helpers/assert.ts'

const Envelope = suite('envelope')

function embedding (dim: number): Uint8Array {
  const f = new Float32Array(dim)
  for (let i = 0; i < dim; i++) f[i] = Math.random() * 2 - 1
  return new Uint8Array(f.buffer)
}
function context (): TemplateContext {
  return { templateId: randomBytes(32), modality: Math.random() < 0.5 ? 'face' : 'voice', model: 'arcface-r100@1' }
}
function expectCode (fn: () => unknown, code: string, cls?: Function): void {
  try {
    fn()
  } catch (e) {
    assert.instance(e, BioshardError)
    assert.is((e as BioshardError).code, code)
    if (cls !== undefined) assert.instance(e, cls)
    return
  }
  assert.unreachable(`expected ${code}`)
}

Envelope('round-trips 128-d and 512-d float32 templates with the documented layout', () => {
  for (const dim of [128, 512]) {
    for (let i = 0; i < 20; i++) {
      const template = embedding(dim)
      const ctx = context()
      const secret = encryptTemplate(template, ctx)
      assert.is(secret.length, template.length + envelopeOverhead())
      assert.is(envelopeOverhead(), 1 + DATA_KEY_BYTES + NONCE_BYTES + TAG_BYTES)
      assert.is(secret[0], ENVELOPE_VERSION)
      assert.equal(decryptTemplate(secret, ctx), template)
    }
  }
})

Envelope('draws a fresh data key and nonce for every encryption', () => {
  const template = embedding(128)
  const ctx = context()
  const a = splitEnvelope(encryptTemplate(template, ctx))
  const b = splitEnvelope(encryptTemplate(template, ctx))
  assert.not.equal(a.dataKey, b.dataKey)
  assert.not.equal(a.nonce, b.nonce)
  assert.not.equal(a.ciphertext, b.ciphertext)
})

Envelope('opens a pinned envelope and binds exactly the canonical AAD {tag, templateId, modality, model, v}', () => {
  // Format fixture: an envelope written by version 1; any change to the layout or AAD breaks it.
  const templateId = new Uint8Array(32).map((_, i) => i)
  const ctx: TemplateContext = { templateId, modality: 'face', model: 'arcface-r100@1' }
  const secret = fromHex(
    '013d1fc3e9e37f48cc624823619f4a5a2e5f788bdc8d5512e1e44e41d6bfb052a6c0e82ed2eb' +
    '00019ecb74ed601a8c9c563130ff551ad2d2af1ad3502099d34aa0917f70e74a32d9e9fb3615f3'
  )
  const template = fromHex('0000803e000000bf0000803f0000003e')
  assert.equal(decryptTemplate(secret, ctx), template)
  assert.equal(Array.from(new Float32Array(decryptTemplate(secret, ctx).slice().buffer)), [0.25, -0.5, 1, 0.125])

  // The same bytes opened with node:crypto directly and a hand-written deterministic CBOR map
  // (keys sorted by encoded length: v, tag, model, modality, templateId).
  const aad = concat(
    fromHex('a5'), fromHex('6176'), fromHex('01'),
    fromHex('63'), utf8('tag'), fromHex('7819'), utf8('bioshard/v1/aead/template'),
    fromHex('65'), utf8('model'), fromHex('6e'), utf8('arcface-r100@1'),
    fromHex('68'), utf8('modality'), fromHex('64'), utf8('face'),
    fromHex('6a'), utf8('templateId'), fromHex('5820'), templateId
  )
  const p = splitEnvelope(secret)
  const d = createDecipheriv('aes-256-gcm', p.dataKey, p.nonce, { authTagLength: 16 })
  d.setAAD(aad)
  d.setAuthTag(p.tag)
  assert.is(toHex(concat(d.update(p.ciphertext), d.final())), toHex(template))
})

Envelope('rejects a flipped bit anywhere after the version byte (key, nonce, ciphertext, tag)', () => {
  const template = embedding(128)
  const ctx = context()
  const secret = encryptTemplate(template, ctx)
  const regions = { key: [1, 33], nonce: [33, 45], ciphertext: [45, secret.length - 16], tag: [secret.length - 16, secret.length] }
  for (const [from, to] of Object.values(regions)) {
    for (let i = 0; i < 40; i++) {
      const bad = secret.slice()
      const pos = from + Math.floor(Math.random() * (to - from))
      bad[pos] ^= 1 << Math.floor(Math.random() * 8)
      expectCode(() => decryptTemplate(bad, ctx), 'ERR_DECRYPT', DecryptError)
    }
  }
})

Envelope('rejects a truncated or extended envelope', () => {
  const ctx = context()
  const secret = encryptTemplate(embedding(128), ctx)
  expectCode(() => decryptTemplate(secret.subarray(0, secret.length - 1), ctx), 'ERR_DECRYPT', DecryptError)
  expectCode(() => decryptTemplate(concat(secret, Uint8Array.of(0)), ctx), 'ERR_DECRYPT', DecryptError)
})

Envelope('rejects any change of templateId, modality or model (the AAD)', () => {
  const template = embedding(128)
  const ctx: TemplateContext = { templateId: randomBytes(32), modality: 'face', model: 'arcface-r100@1' }
  const secret = encryptTemplate(template, ctx)
  for (let i = 0; i < 32; i++) {
    const templateId = ctx.templateId.slice()
    templateId[i] ^= 0x80
    expectCode(() => decryptTemplate(secret, { ...ctx, templateId }), 'ERR_DECRYPT', DecryptError)
  }
  expectCode(() => decryptTemplate(secret, { ...ctx, modality: 'voice' }), 'ERR_DECRYPT', DecryptError)
  expectCode(() => decryptTemplate(secret, { ...ctx, model: 'arcface-r100@2' }), 'ERR_DECRYPT', DecryptError)
  expectCode(() => decryptTemplate(secret, { ...ctx, model: 'arcface-r100@1 ' }), 'ERR_DECRYPT', DecryptError)
  assert.equal(decryptTemplate(secret, { ...ctx }), template)
})

Envelope('rejects an unknown version byte with ERR_UNSUPPORTED_VERSION', () => {
  const ctx = context()
  const secret = encryptTemplate(embedding(128), ctx)
  for (const v of [0, 2, 255]) {
    const bad = secret.slice()
    bad[0] = v
    expectCode(() => decryptTemplate(bad, ctx), 'ERR_UNSUPPORTED_VERSION')
    expectCode(() => splitEnvelope(bad), 'ERR_UNSUPPORTED_VERSION')
  }
})

Envelope('rejects an envelope too short to hold a template with DecodeError', () => {
  const ctx = context()
  for (const len of [0, 1, 45, envelopeOverhead()]) {
    const s = new Uint8Array(len)
    if (len > 0) s[0] = ENVELOPE_VERSION
    expectCode(() => decryptTemplate(s, ctx), 'ERR_DECODE', DecodeError)
  }
  expectCode(() => decryptTemplateWithKey(new Uint8Array(NONCE_BYTES + TAG_BYTES), ctx, newDataKey()), 'ERR_DECODE', DecodeError)
})

Envelope('names the argument at fault', () => {
  const ctx = context()
  const t = embedding(4)
  const secret = encryptTemplate(t, ctx)
  expectArgError(() => encryptTemplate('abc' as unknown as Uint8Array, ctx), TypeError, 'template')
  expectArgError(() => encryptTemplate(new Uint8Array(0), ctx), RangeError, 'template')
  expectArgError(() => encryptTemplate(t, null as unknown as TemplateContext), TypeError, 'ctx')
  expectArgError(() => encryptTemplate(t, { ...ctx, templateId: new Uint8Array(31) }), RangeError, 'templateId')
  expectArgError(() => encryptTemplate(t, { ...ctx, templateId: [1, 2] as unknown as Uint8Array }), TypeError, 'templateId')
  expectArgError(() => encryptTemplate(t, { ...ctx, modality: 'iris' as 'face' }), RangeError, 'modality')
  expectArgError(() => encryptTemplate(t, { ...ctx, modality: 1 as unknown as 'face' }), TypeError, 'modality')
  expectArgError(() => encryptTemplate(t, { ...ctx, model: '' }), RangeError, 'model')
  expectArgError(() => encryptTemplate(t, { ...ctx, model: 'm'.repeat(129) }), RangeError, 'model')
  expectArgError(() => encryptTemplate(t, { ...ctx, model: 7 as unknown as string }), TypeError, 'model')
  assert.ok(encryptTemplate(t, { ...ctx, model: 'm'.repeat(128) }).length > 0)
  expectArgError(() => decryptTemplate({} as Uint8Array, ctx), TypeError, 'secret')
  expectArgError(() => decryptTemplate(secret, { ...ctx, templateId: new Uint8Array(33) }), RangeError, 'templateId')
  expectArgError(() => encryptTemplateWithKey(t, ctx, new Uint8Array(16)), RangeError, 'dataKey')
  expectArgError(() => decryptTemplateWithKey(new Uint8Array(40), ctx, new Uint8Array(31)), RangeError, 'dataKey')
  expectArgError(() => decryptTemplateWithKey('x' as unknown as Uint8Array, ctx, newDataKey()), TypeError, 'sealed')
  expectArgError(() => joinEnvelope(new Uint8Array(32), new Uint8Array(28)), RangeError, 'sealed')
  expectArgError(() => joinEnvelope(new Uint8Array(3), new Uint8Array(40)), RangeError, 'dataKey')
})

Envelope('custody "tenant": the sealed part decrypts only with the tenant-held key', () => {
  for (const dim of [128, 512]) {
    const template = embedding(dim)
    const ctx = context()
    const dataKey = newDataKey()
    const sealed = encryptTemplateWithKey(template, ctx, dataKey)
    assert.is(sealed.length, NONCE_BYTES + template.length + TAG_BYTES)
    assert.equal(decryptTemplateWithKey(sealed, ctx, dataKey), template)
    assert.equal(decryptTemplate(joinEnvelope(dataKey, sealed), ctx), template)
    const otherKey = dataKey.slice()
    otherKey[31] ^= 1
    expectCode(() => decryptTemplateWithKey(sealed, ctx, otherKey), 'ERR_DECRYPT', DecryptError)
    expectCode(() => decryptTemplateWithKey(sealed, { ...ctx, model: 'other' }, dataKey), 'ERR_DECRYPT', DecryptError)
    const tampered = sealed.slice()
    tampered[NONCE_BYTES + 3] ^= 4
    expectCode(() => decryptTemplateWithKey(tampered, ctx, dataKey), 'ERR_DECRYPT', DecryptError)
  }
})

Envelope('splitEnvelope gives views of version, key, nonce, ciphertext and tag; joinEnvelope inverts it', () => {
  const template = embedding(128)
  const ctx = context()
  const secret = encryptTemplate(template, ctx)
  const p = splitEnvelope(secret)
  assert.is(p.version, ENVELOPE_VERSION)
  assert.equal(p.dataKey, secret.slice(1, 33))
  assert.equal(p.nonce, secret.slice(33, 45))
  assert.equal(p.ciphertext, secret.slice(45, secret.length - 16))
  assert.equal(p.tag, secret.slice(secret.length - 16))
  assert.equal(p.sealed, concat(p.nonce, p.ciphertext, p.tag))
  assert.is(p.dataKey.buffer, secret.buffer, 'views, not copies')
  assert.equal(joinEnvelope(p.dataKey, p.sealed), secret)
  assert.equal(decryptTemplateWithKey(p.sealed, ctx, p.dataKey), template)
})

Envelope('leaves its inputs untouched and returns independent buffers', () => {
  const template = embedding(128)
  const templateCopy = template.slice()
  const ctx = context()
  const idCopy = ctx.templateId.slice()
  const secret = encryptTemplate(template, ctx)
  assert.equal(template, templateCopy)
  const secretCopy = secret.slice()
  const out = decryptTemplate(secret, ctx)
  assert.equal(secret, secretCopy, 'decrypt must not modify (or wipe) the caller\'s envelope')
  assert.equal(ctx.templateId, idCopy)
  assert.is.not(out.buffer, secret.buffer)
  assert.is(out.byteOffset, 0)
  assert.is(out.buffer.byteLength, out.length, 'the plaintext owns its whole buffer, so wiping it leaves no copy behind')
  assert.is(Object.getPrototypeOf(out), Uint8Array.prototype)
  out.fill(0)
  assert.equal(secret, secretCopy)
  assert.equal(decryptTemplate(secret, ctx), template)
})

Envelope('accepts Node Buffers as input', () => {
  const template = embedding(128)
  const ctx = context()
  const secret = encryptTemplate(Buffer.from(template), { ...ctx, templateId: Buffer.from(ctx.templateId) })
  assert.equal(decryptTemplate(Buffer.from(secret), ctx), template)
})

Envelope.run()
