/**
 * The memory of verified signatures: it remembers only successes, keyed by
 * exactly what was verified, and never stands in for a check that depends on
 * the request or the clock.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { VerifiedCache, checkVerifierCertWith, verifyAttestationWith } from '../../net/policy/verified-cache.ts'
import { authoriseVerifier } from '../../keys/authority.ts'
import { checkVerifierCert, type VerifierCert } from '../../protocol/certs.ts'
import { attestProcess, readAttestation, processAttestation, type Attestation, type AttestationVerifier } from '../../protocol/attestation.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'
import type { Signed } from '../../protocol/signed.ts'
import { codeOf } from '../helpers/assert.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initAuthority, loadAuthority } from '../../keys/authority.ts'
import { issueTenant } from '../../sim/local-network.ts'
import { prepareEnrolment } from '../helpers/enrol.ts'
import { validateManifestRecord } from '../../protocol/records.ts'
import { encodeManifest } from '../../protocol/manifest.ts'
import { manifestKey } from '../../protocol/ownership.ts'

const DAY = 86_400_000
const tenant = generateSigningKey().key
const otherTenant = generateSigningKey().key
const issued = Date.now()
const verifier = authoriseVerifier(tenant, 'v1', ['login'], { now: issued, days: 1 })
const cert = verifier.cert
const { nb, na } = cert.body

function withSig<T> (s: Signed<T>, sig: Uint8Array): Signed<T> {
  return { body: s.body, bytes: s.bytes, sig }
}
function flipped (b: Uint8Array, at = 0): Uint8Array {
  const c = Uint8Array.from(b) // not slice(): on a Buffer that is a view
  c[at] ^= 0x01
  return c
}
function attestation (key = verifier.key): Attestation {
  return readAttestation(attestProcess({ key: randomBytes(32), signer: randomBytes(32), measurement: randomBytes(32) }, key))
}

const cache = suite('verified-cache: remembered signature checks')

cache('a signature that verified once is answered from memory the next time', () => {
  const c = new VerifiedCache()
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'verifier certificate')
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'verifier certificate')
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'verifier certificate')
  assert.equal(c.stats, { hits: 2, misses: 1 })
  assert.is(c.size, 1)
})

cache('a tampered signature is never served from the cache (ERR_BAD_SIGNATURE), however often the genuine one was', () => {
  const c = new VerifiedCache()
  for (let i = 0; i < 3; i++) c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'verifier certificate')
  for (const at of [0, 31, 63]) {
    const tampered = withSig(cert, flipped(cert.sig, at))
    assert.is(codeOf(() => c.checkSigned(SIG.VERIFIER_CERT, tampered, tenant.publicKey, 'verifier certificate')), 'ERR_BAD_SIGNATURE')
  }
  assert.is(c.size, 1, 'a failed check was remembered')
})

cache('the same signature over other bytes, under another key or another tag is verified again and refused', () => {
  const c = new VerifiedCache()
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'verifier certificate')
  const otherBytes = { body: cert.body, bytes: flipped(cert.bytes, 10), sig: cert.sig }
  assert.is(codeOf(() => c.checkSigned(SIG.VERIFIER_CERT, otherBytes, tenant.publicKey, 'verifier certificate')), 'ERR_BAD_SIGNATURE')
  assert.is(codeOf(() => c.checkSigned(SIG.VERIFIER_CERT, cert, otherTenant.publicKey, 'verifier certificate')), 'ERR_BAD_SIGNATURE')
  assert.is(codeOf(() => c.checkSigned(SIG.ATTESTATION, cert, tenant.publicKey, 'verifier certificate')), 'ERR_BAD_SIGNATURE')
  assert.equal(c.stats, { hits: 0, misses: 4 })
})

cache('failures are not remembered: a bad signature is verified, and refused, every time', () => {
  const c = new VerifiedCache()
  const bad = withSig(cert, flipped(cert.sig))
  for (let i = 0; i < 3; i++) assert.is(codeOf(() => c.checkSigned(SIG.VERIFIER_CERT, bad, tenant.publicKey, 'x')), 'ERR_BAD_SIGNATURE')
  assert.equal(c.stats, { hits: 0, misses: 3 })
  assert.is(c.size, 0)
})

cache('it is bounded and forgets the least recently used signature first', () => {
  const c = new VerifiedCache(2)
  const a = authoriseVerifier(tenant, 'a', ['login']).cert
  const b = authoriseVerifier(tenant, 'b', ['login']).cert
  const d = authoriseVerifier(tenant, 'd', ['login']).cert
  const check = (s: VerifierCert): void => { c.checkSigned(SIG.VERIFIER_CERT, s, tenant.publicKey, 'x') }
  check(a); check(b); check(a) // a is now the most recently used
  check(d) // evicts b
  assert.is(c.size, 2)
  const before = c.stats
  check(a); check(d)
  assert.is(c.stats.hits, before.hits + 2)
  check(b)
  assert.is(c.stats.misses, before.misses + 1, 'b should have been forgotten')
})

cache('a cache of size 0 remembers nothing and still checks', () => {
  const c = new VerifiedCache(0)
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'x')
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'x')
  assert.equal(c.stats, { hits: 0, misses: 2 })
  assert.is(codeOf(() => c.checkSigned(SIG.VERIFIER_CERT, withSig(cert, flipped(cert.sig)), tenant.publicKey, 'x')), 'ERR_BAD_SIGNATURE')
})

cache('clear forgets every signature', () => {
  const c = new VerifiedCache()
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'x')
  c.clear()
  assert.is(c.size, 0)
  c.checkSigned(SIG.VERIFIER_CERT, cert, tenant.publicKey, 'x')
  assert.equal(c.stats, { hits: 0, misses: 2 })
})

cache('the bound is checked and named', () => {
  assert.throws(() => new VerifiedCache(-1), (e: Error) => e instanceof RangeError && e.message.includes('max'))
  assert.throws(() => new VerifiedCache(1.5), (e: Error) => e instanceof TypeError && e.message.includes('max'))
})

cache.run()

const certs = suite('checkVerifierCertWith: only the signature is remembered')

certs('a certificate cached while valid is refused once it has expired (ERR_EXPIRED)', () => {
  const c = new VerifiedCache()
  checkVerifierCertWith(c, cert, tenant.publicKey, issued)
  checkVerifierCertWith(c, cert, tenant.publicKey, na)
  assert.is(codeOf(() => checkVerifierCertWith(c, cert, tenant.publicKey, na + 1)), 'ERR_EXPIRED')
  assert.is(codeOf(() => checkVerifierCertWith(c, cert, tenant.publicKey, issued + 2 * DAY)), 'ERR_EXPIRED')
  assert.is(c.stats.hits, 3, 'the expired checks were answered by a cached signature, and still refused')
})

certs('a cached certificate is refused before it is valid (ERR_EXPIRED)', () => {
  const c = new VerifiedCache()
  checkVerifierCertWith(c, cert, tenant.publicKey, issued)
  assert.is(codeOf(() => checkVerifierCertWith(c, cert, tenant.publicKey, nb - 1)), 'ERR_EXPIRED')
})

certs('a cached certificate is refused for another tenant\'s template (ERR_NOT_AUTHORISED)', () => {
  const c = new VerifiedCache()
  checkVerifierCertWith(c, cert, tenant.publicKey, issued)
  assert.is(codeOf(() => checkVerifierCertWith(c, cert, otherTenant.publicKey, issued)), 'ERR_NOT_AUTHORISED')
})

certs('gives the same verdict as checkVerifierCert, cold and warm, for every case', () => {
  const forged = authoriseVerifier(otherTenant, 'forged', ['login'], { now: issued, days: 1 }).cert
  const cases: Array<[string, VerifierCert, Uint8Array, number]> = [
    ['valid', cert, tenant.publicKey, issued],
    ['bad signature', withSig(cert, flipped(cert.sig)), tenant.publicKey, issued],
    ['another tenant', cert, otherTenant.publicKey, issued],
    ['claims our tenant, signed by another', { ...forged, body: { ...forged.body, tenant: tenant.publicKey } }, tenant.publicKey, issued],
    ['expired', cert, tenant.publicKey, na + 1],
    ['not yet valid', cert, tenant.publicKey, nb - 1]
  ]
  const c = new VerifiedCache()
  checkVerifierCertWith(c, cert, tenant.publicKey, issued) // warm: the genuine signature is remembered
  for (const [name, s, key, now] of cases) {
    const expected = codeOf(() => { checkVerifierCert(s, key, now) })
    assert.is(codeOf(() => { checkVerifierCertWith(new VerifiedCache(), s, key, now) }), expected, `${name} (cold)`)
    assert.is(codeOf(() => { checkVerifierCertWith(c, s, key, now) }), expected, `${name} (warm)`)
  }
})

certs.run()

const att = suite('verifyAttestationWith: process attestations remembered, other kinds never')

att('a process attestation is verified once, and its binding to the verifier every time', () => {
  const c = new VerifiedCache()
  const a = attestation()
  const first = verifyAttestationWith(c, processAttestation, a, verifier.key.publicKey)
  const again = verifyAttestationWith(c, processAttestation, a, verifier.key.publicKey)
  assert.equal(again, first)
  assert.equal(first, processAttestation.verify(a, verifier.key.publicKey))
  assert.equal(c.stats, { hits: 1, misses: 1 })
  assert.is(codeOf(() => verifyAttestationWith(c, processAttestation, a, generateSigningKey().key.publicKey)), 'ERR_NOT_AUTHORISED')
})

att('a tampered attestation signature is refused after the genuine one was cached (ERR_BAD_SIGNATURE)', () => {
  const c = new VerifiedCache()
  const a = attestation()
  verifyAttestationWith(c, processAttestation, a, verifier.key.publicKey)
  assert.is(codeOf(() => verifyAttestationWith(c, processAttestation, withSig(a, flipped(a.sig, 40)), verifier.key.publicKey)), 'ERR_BAD_SIGNATURE')
})

att('an attestation naming our verifier but signed by another key is refused (ERR_BAD_SIGNATURE)', () => {
  const c = new VerifiedCache()
  const a = attestation()
  verifyAttestationWith(c, processAttestation, a, verifier.key.publicKey)
  const other = attestation(generateSigningKey().key)
  const claimed = { ...other, body: { ...other.body, verifier: verifier.key.publicKey } }
  assert.is(codeOf(() => verifyAttestationWith(c, processAttestation, claimed, verifier.key.publicKey)), 'ERR_BAD_SIGNATURE')
})

att('any other attestation verifier runs in full on every call and nothing is remembered', () => {
  const c = new VerifiedCache()
  let calls = 0
  const tee: AttestationVerifier = { verify (a, key) { calls++; return processAttestation.verify(a, key) } }
  const a = attestation()
  for (let i = 0; i < 3; i++) verifyAttestationWith(c, tee, a, verifier.key.publicKey)
  assert.is(calls, 3)
  assert.is(c.size, 0)
})

att.run()

const records = suite('manifest records: the tenant certificate through the cache')

records('a record checked through the cache gives checkManifest\'s verdict, cold and warm; only the tenant certificate is remembered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bioshard-vc-'))
  try {
    initAuthority(join(dir, 'authority'))
    const authority = loadAuthority(join(dir, 'authority'))
    const anchor = { network: authority.info.network, authorities: [authority.info.publicKey] }
    const t = issueTenant(authority, 'acme')
    const holders = await Promise.all([1, 2, 3].map(async (i) => ({ peer: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(), site: `s${i}` })))
    const { manifest } = await prepareEnrolment(t, holders, { t: 2, measurements: [randomBytes(32)] })
    const key = manifestKey(manifest.body.tenant, manifest.body.templateId)
    const tamperedCert = { ...manifest, cert: withSig(manifest.cert, flipped(manifest.cert.sig)) }
    const tamperedBody = { ...manifest, sig: flipped(manifest.sig) }
    const elsewhere = { ...anchor, authorities: [generateSigningKey().key.publicKey] }
    const cases: Array<[string, Uint8Array, typeof anchor]> = [
      ['valid', encodeManifest(manifest), anchor],
      ['tampered tenant certificate', encodeManifest(tamperedCert), anchor],
      ['tampered manifest signature', encodeManifest(tamperedBody), anchor],
      ['another network\'s authority', encodeManifest(manifest), elsewhere]
    ]
    const c = new VerifiedCache()
    validateManifestRecord(key, encodeManifest(manifest), anchor, { signatures: c }) // warm
    for (const [name, value, a] of cases) {
      const expected = codeOf(() => validateManifestRecord(key, value, a))
      assert.is(codeOf(() => validateManifestRecord(key, value, a, { signatures: new VerifiedCache() })), expected, `${name} (cold)`)
      assert.is(codeOf(() => validateManifestRecord(key, value, a, { signatures: c })), expected, `${name} (warm)`)
    }
    assert.is(codeOf(() => validateManifestRecord(key, encodeManifest(tamperedCert), anchor, { signatures: c })), 'ERR_BAD_SIGNATURE')
    assert.is(c.stats.misses, 3, 'the genuine certificate verified once; the tampered one verified (and refused) each of the two times it came')
    assert.ok(c.stats.hits >= 2, 'the genuine certificate was answered from memory')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

records.run()
