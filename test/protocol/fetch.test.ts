/**
 * Fetch request encoding: the hash a caller keeps from the bytes it signed is
 * the hash the holder computes from the decoded request.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  encodeFetchRequest, encodeFetchRequestWithHash, decodeFetchRequest, fetchRequestHash, readFetchResponse, signFetchResponse, type FetchRequestInit
} from '../../protocol/fetch.ts'
import { MAX_SEALED_SHARE_BYTES, MAX_SHARE_BYTES } from '../../protocol/constants.ts'
import { SEALED_MIN_BYTES } from '../../crypto/seal.ts'
import { checkOpenMessage } from '../../enclave/messages.ts'
import { encodeSigned, signBody } from '../../protocol/signed.ts'
import { codeOf } from '../helpers/assert.ts'
import { checkSigned, toWire } from '../../protocol/signed.ts'
import { attestProcess } from '../../protocol/attestation.ts'
import { authoriseVerifier } from '../../keys/authority.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'

const tenant = generateSigningKey().key
const v = authoriseVerifier(tenant, 'v1', ['login'])
const sender = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
function init (): FetchRequestInit {
  return {
    templateId: randomBytes(32),
    xs: [3],
    purpose: 'login',
    enclave: attestProcess({ key: randomBytes(32), signer: randomBytes(32), measurement: randomBytes(32) }, v.key),
    cert: toWire(v.cert),
    sender,
    nonce: randomBytes(16),
    time: Date.now()
  }
}

const hashed = suite('encodeFetchRequestWithHash')

hashed('its hash is the one the holder computes from the decoded request', () => {
  for (let i = 0; i < 5; i++) {
    const { bytes, hash } = encodeFetchRequestWithHash(init(), v.key)
    assert.ok(equalBytes(hash, fetchRequestHash(decodeFetchRequest(bytes))))
  }
})

hashed('its bytes are a canonical fetch request signed by the verifier, with the fields given', () => {
  const fields = init()
  const { bytes } = encodeFetchRequestWithHash(fields, v.key)
  const req = decodeFetchRequest(bytes)
  checkSigned(SIG.FETCH_REQUEST, req, v.key.publicKey, 'fetch request')
  assert.ok(equalBytes(req.body.templateId, fields.templateId))
  assert.ok(equalBytes(req.body.nonce, fields.nonce))
  assert.equal(req.body.xs, fields.xs)
  assert.is(req.body.time, fields.time)
  assert.is(req.body.sender, sender)
})

hashed('its bytes are exactly those encodeFetchRequest makes (Ed25519 signing is deterministic)', () => {
  const fields = init()
  assert.ok(equalBytes(encodeFetchRequestWithHash(fields, v.key).bytes, encodeFetchRequest(fields, v.key)))
})

hashed('two requests never share a hash (fresh nonce and signature)', () => {
  const fields = init()
  const a = encodeFetchRequestWithHash(fields, v.key)
  const b = encodeFetchRequestWithHash({ ...fields, nonce: randomBytes(16) }, v.key)
  assert.not.ok(equalBytes(a.hash, b.hash))
})

hashed.run()

const shares = suite('fetch request: the shares it asks for')

shares('lists 1 to 255 distinct x-coordinates in increasing order, and round-trips them', () => {
  for (const xs of [[1], [2, 5, 9], Array.from({ length: 255 }, (_, i) => i + 1)]) {
    const req = decodeFetchRequest(encodeFetchRequest({ ...init(), xs }, v.key))
    assert.equal(req.body.xs, xs)
  }
})

shares('the encoder refuses an empty, out-of-range, repeated or unsorted list (RangeError)', () => {
  for (const xs of [[], [0], [256], [1.5], [3, 3], [5, 2]]) {
    assert.throws(() => encodeFetchRequest({ ...init(), xs }, v.key), RangeError, `xs ${JSON.stringify(xs)}`)
    assert.throws(() => encodeFetchRequestWithHash({ ...init(), xs }, v.key), RangeError, `xs ${JSON.stringify(xs)}`)
  }
})

shares('the decoder refuses such a list from the wire (ERR_DECODE), signed or not', () => {
  for (const xs of [[], [0], [256], [3, 3], [5, 2], ['1'], [-1]]) {
    // Signed by hand: the encoder would refuse these.
    const bytes = encodeSigned(signBody(SIG.FETCH_REQUEST, { v: 1, ...init(), xs }, v.key))
    assert.is(codeOf(() => decodeFetchRequest(bytes)), 'ERR_DECODE', `xs ${JSON.stringify(xs)}`)
  }
})

shares.run()

const response = suite('fetch response')

response('sealed shares are bounded as the enclave bounds them: longer ones are refused at decoding (ERR_DECODE)', () => {
  const holder = generateSigningKey().key
  const signed = (sealedBytes: number): unknown => signFetchResponse({
    templateId: randomBytes(32),
    x: 2,
    holder: sender,
    sealed: new Uint8Array(sealedBytes),
    request: randomBytes(32),
    manifest: randomBytes(32),
    time: Date.now()
  }, holder)
  assert.is(MAX_SEALED_SHARE_BYTES, MAX_SHARE_BYTES + SEALED_MIN_BYTES, 'the bound is a largest share plus HPKE\'s overhead')
  const hint = (n: number): unknown => ({
    type: 'open',
    session: 1,
    templateId: randomBytes(32),
    manifest: randomBytes(32),
    share: { x: 2, sealed: new Uint8Array(n), request: randomBytes(32), time: Date.now() }
  })
  checkOpenMessage(hint(MAX_SEALED_SHARE_BYTES))
  assert.throws(() => checkOpenMessage(hint(MAX_SEALED_SHARE_BYTES + 1)), RangeError, 'the enclave refuses what the decoder refuses')
  assert.is(readFetchResponse(signed(MAX_SEALED_SHARE_BYTES)).body.sealed.length, MAX_SEALED_SHARE_BYTES)
  for (const n of [SEALED_MIN_BYTES, MAX_SEALED_SHARE_BYTES + 1]) {
    assert.is(codeOf(() => readFetchResponse(signed(n))), 'ERR_DECODE', `${n} bytes`)
  }
})

response.run()
