/**
 * The bounded public-key cache (crypto/key-cache.ts) and the one sign.ts owns:
 * never more than its bound, oldest out first, malformed keys never cached.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { PublicKeyCache } from '../../crypto/key-cache.ts'
import { VERIFY_KEY_CACHE_MAX, generateSigningKey, sign, verify, verifyKeyCache } from '../../crypto/sign.ts'
import { randomBytes, utf8 } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'

const Cache = suite('public key cache')

Cache('imports a key once, holds at most max, drops the oldest first', () => {
  let imports = 0
  const keys = Array.from({ length: 3 }, () => generateKeyPairSync('x25519').publicKey)
  const cache = new PublicKeyCache({ max: 2, importKey: (raw) => { imports++; return keys[raw[0]] } })
  const a = Uint8Array.of(0); const b = Uint8Array.of(1); const c = Uint8Array.of(2)
  assert.is(cache.get(a), keys[0]); assert.is(cache.get(a), keys[0])
  assert.is(imports, 1)
  cache.get(b); cache.get(c)
  assert.is(cache.size, 2)
  cache.get(a)
  assert.is(imports, 4, 'the oldest key was dropped and is imported again')
  cache.clear()
  assert.is(cache.size, 0)
})

Cache('a key that fails to import is not cached', () => {
  const cache = new PublicKeyCache({ max: 4, importKey: (raw): KeyObject => createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' }) })
  assert.throws(() => cache.get(randomBytes(5)))
  assert.is(cache.size, 0)
  const importKey = (): never => { throw new Error('unused') }
  assert.throws(() => new PublicKeyCache({ max: 0, importKey }), (e: Error) => e instanceof RangeError && e.message.includes('max'))
})

Cache('sign.ts verifies through its own bounded cache', () => {
  const { key } = generateSigningKey()
  const before = verifyKeyCache.size
  assert.ok(verify(SIG.MANIFEST, utf8('m'), sign(SIG.MANIFEST, utf8('m'), key), key.publicKey))
  assert.is(verifyKeyCache.size, Math.min(before + 1, VERIFY_KEY_CACHE_MAX))
  for (let i = 0; i < 8; i++) verify(SIG.MANIFEST, utf8('m'), new Uint8Array(64), randomBytes(32))
  assert.ok(verifyKeyCache.size <= VERIFY_KEY_CACHE_MAX)
})

Cache.run()
