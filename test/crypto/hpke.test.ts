/**
 * RFC 9180 (crypto/hpke.ts): every step of the base-mode setup pinned by
 * Appendix A.2.1, Seal reproducing its ciphertext, and Export and Seal/Open
 * cross-checked in both directions against @hpke/core.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305'
import {
  AEAD_ID, KDF_ID, KEM_ID, N_ENC, N_H, N_K, N_N, N_PK, N_SECRET,
  Context, computeNonce, decap, deserializePrivateKey, encap, exportSecret, generateKeyPair, keySchedule, setupBaseR, setupBaseS
} from '../../crypto/hpke.ts'
import { fromHex, randomBytes, toHex, utf8 } from '../../crypto/bytes.ts'
import A21 from './vectors/rfc9180-a2-1.json' with { type: 'json' }
import { codeOf } from '../helpers/assert.ts'

const Hpke = suite('hpke')
const E0 = A21.encryptions[0]
const oracle = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() })
const skEm = (): ReturnType<typeof deserializePrivateKey> => deserializePrivateKey(fromHex(A21.skEm))
const recipient = (): ReturnType<typeof deserializePrivateKey> => deserializePrivateKey(fromHex(A21.skRm))

Hpke('is the suite of RFC 9180 A.2 with its §7 lengths', () => {
  assert.equal([KEM_ID, KDF_ID, AEAD_ID], [A21.kem_id, A21.kdf_id, A21.aead_id])
  assert.equal([N_SECRET, N_ENC, N_PK, N_H, N_K, N_N], [32, 32, 32, 32, 32, 12])
})

Hpke('DeserializePrivateKey gives pkRm and pkEm (A.2.1)', () => {
  assert.is(toHex(recipient().publicKey), A21.pkRm)
  assert.is(toHex(skEm().publicKey), A21.pkEm)
})

Hpke('Encap and Decap give the A.2.1 enc and shared_secret (§4.1)', () => {
  const { enc, sharedSecret } = encap(fromHex(A21.pkRm), skEm())
  assert.is(toHex(enc), A21.enc)
  assert.is(toHex(sharedSecret), A21.shared_secret)
  assert.is(toHex(decap(enc, recipient())), A21.shared_secret)
})

Hpke('KeySchedule, SetupBaseS and SetupBaseR give the A.2.1 key and base_nonce (§5.1)', () => {
  const ks = keySchedule(fromHex(A21.shared_secret), fromHex(A21.info))
  assert.is(toHex(ks.key), A21.key)
  assert.is(toHex(ks.baseNonce), A21.base_nonce)
  const s = setupBaseS(fromHex(A21.pkRm), fromHex(A21.info), skEm())
  assert.is(toHex(s.enc), A21.enc)
  const r = setupBaseR(s.enc, recipient(), fromHex(A21.info))
  for (const x of [s, r]) assert.equal([toHex(x.key), toHex(x.baseNonce), toHex(x.exporterSecret)], [A21.key, A21.base_nonce, toHex(ks.exporterSecret)])
})

Hpke('ComputeNonce XORs the sequence number into the base nonce (§5.2)', () => {
  assert.is(toHex(computeNonce(fromHex(A21.base_nonce), E0.sequence_number)), E0.nonce)
  assert.is(toHex(computeNonce(new Uint8Array(12), 0x0102)), '000000000000000000000102')
  assert.is(toHex(computeNonce(new Uint8Array(12), Number.MAX_SAFE_INTEGER)), '00000000001fffffffffffff')
})

Hpke('Context.Seal gives the A.2.1 ciphertext and Context.Open reverses it (§5.2)', () => {
  const sender = new Context(setupBaseS(fromHex(A21.pkRm), fromHex(A21.info), skEm()))
  assert.is(toHex(sender.seal(fromHex(E0.aad), fromHex(E0.pt))), E0.ct)
  const receiver = new Context(setupBaseR(fromHex(A21.enc), recipient(), fromHex(A21.info)))
  assert.is(toHex(receiver.open(fromHex(E0.aad), fromHex(E0.ct))), E0.pt)
  assert.is(codeOf(() => receiver.open(fromHex(E0.aad), fromHex(E0.ct))), 'ERR_DECRYPT', 'sequence 1 does not open sequence 0')
  const before = toHex(receiver.export(new Uint8Array(0), 32))
  receiver.wipe()
  assert.is.not(toHex(receiver.export(new Uint8Array(0), 32)), before, 'wipe() zeroes the exporter secret')
})

Hpke('Export agrees with @hpke/core on the A.2.1 context (§5.3)', async () => {
  const s = setupBaseS(fromHex(A21.pkRm), fromHex(A21.info), skEm())
  const recipientKey = await oracle.kem.deserializePrivateKey(fromHex(A21.skRm))
  const theirs = await oracle.createRecipientContext({ recipientKey, enc: fromHex(A21.enc), info: fromHex(A21.info) })
  for (const ctx of [new Uint8Array(0), Uint8Array.of(0), utf8('TestContext'), randomBytes(200)]) {
    for (const length of [1, 12, 32]) {
      const want = toHex(new Uint8Array(await theirs.export(ctx, length)))
      assert.is(toHex(exportSecret(s.exporterSecret, ctx, length)), want, `context ${toHex(ctx)}, L ${length}`)
    }
  }
})

Hpke('Seal and Open interoperate with @hpke/core both ways, message after message', async () => {
  const r = generateKeyPair()
  const info = randomBytes(20)
  const theirSender = await oracle.createSenderContext({ recipientPublicKey: await oracle.kem.deserializePublicKey(r.publicKey), info })
  const mine = new Context(setupBaseR(new Uint8Array(theirSender.enc), r, info))
  const sk = randomBytes(32)
  const ours = deserializePrivateKey(sk)
  const s = setupBaseS(ours.publicKey, info)
  const mySender = new Context(s)
  const theirReceiver = await oracle.createRecipientContext({ recipientKey: await oracle.kem.deserializePrivateKey(sk), enc: s.enc, info })
  for (let i = 0; i < 5; i++) {
    const pt = randomBytes(i * 37)
    const aad = randomBytes(i)
    assert.equal(mine.open(aad, new Uint8Array(await theirSender.seal(pt, aad))), pt)
    assert.equal(new Uint8Array(await theirReceiver.open(mySender.seal(aad, pt), aad)), pt)
  }
})

Hpke('refuses low-order keys: Encap with ERR_DECODE, Decap with ERR_DECRYPT', () => {
  const zero = new Uint8Array(32)
  assert.is(codeOf(() => encap(zero)), 'ERR_DECODE')
  assert.is(codeOf(() => decap(zero, recipient())), 'ERR_DECRYPT')
})

Hpke('rejects malformed arguments with TypeError/RangeError naming them', () => {
  assert.throws(() => deserializePrivateKey(new Uint8Array(31)), (e: Error) => e instanceof RangeError && e.message.includes('sk'))
  assert.throws(() => encap(new Uint8Array(33)), (e: Error) => e instanceof RangeError && e.message.includes('pk'))
  assert.throws(() => exportSecret(new Uint8Array(32), new Uint8Array(0), 33), (e: Error) => e instanceof RangeError && e.message.includes('length'))
  assert.throws(() => exportSecret(new Uint8Array(31), new Uint8Array(0), 32), (e: Error) => e instanceof RangeError && e.message.includes('exporterSecret'))
  assert.throws(() => keySchedule(new Uint8Array(32), 'x' as unknown as Uint8Array), (e: Error) => e instanceof TypeError && e.message.includes('info'))
  assert.throws(() => computeNonce(new Uint8Array(12), -1), (e: Error) => e instanceof RangeError && e.message.includes('seq'))
})

Hpke.run()
