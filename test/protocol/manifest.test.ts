/**
 * Manifests, their DHT records and placement: validation, signatures,
 * subject consent, the record selector (erased wins) and site-distinct
 * placement — pure functions, no network.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { initAuthority, loadAuthority, admitTenant } from '../../keys/authority.ts'
import { buildManifest, erasedManifest } from '../../client/manifest-builder.ts'
import { checkManifest, decodeManifest, encodeManifest, subjectConsent, manifestToWire, type Manifest } from '../../protocol/manifest.ts'
import { validateManifestRecord, selectManifestRecord } from '../../protocol/records.ts'
import { manifestKey } from '../../protocol/ownership.ts'
import { choosePlacement, rankCandidates } from '../../protocol/placement.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import { toWire } from '../../protocol/signed.ts'
import { codeOfAsync } from '../helpers/assert.ts'

function authority (): ReturnType<typeof loadAuthority> {
  const dir = join(mkdtempSync(join(tmpdir(), 'bioshard-manifest-')), 'a')
  initAuthority(dir)
  return loadAuthority(dir)
}
const auth = authority()
const anchor = { network: auth.info.network, authorities: [auth.info.publicKey] }
const t = admitTenant(auth, 'acme')
const tenant = { key: t.key, cert: toWire(t.cert) }
const peers = await Promise.all(Array.from({ length: 8 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))

function manifest (over: Partial<Parameters<typeof buildManifest>[0]> = {}): Manifest {
  return buildManifest({
    templateId: randomBytes(32),
    tenant: tenant.key,
    tenantCert: tenant.cert,
    modality: 'face',
    model: 'm1',
    dim: 128,
    t: 2,
    n: 3,
    shares: [1, 2, 3].map((x) => ({ x, holder: peers[x], site: `site-${x}`, commitment: randomBytes(32) })),
    policy: { measurements: [randomBytes(32)] },
    ...over
  })
}

const M = suite('manifest')

M('a tenant-signed manifest round-trips canonically and checks out', () => {
  const m = manifest()
  const again = decodeManifest(encodeManifest(m))
  assert.equal(encodeManifest(again), encodeManifest(m))
  checkManifest(again, anchor, Date.now())
})

M('two shares at one site, one holder, or one x are refused when decoding', async () => {
  const base = manifest()
  for (const mutate of [
    (s: Array<Record<string, unknown>>) => { s[1].site = s[0].site },
    (s: Array<Record<string, unknown>>) => { s[1].holder = s[0].holder },
    (s: Array<Record<string, unknown>>) => { s[1].x = s[0].x }
  ]) {
    const wire = structuredClone(manifestToWire(base)) as unknown as { body: { shares: Array<Record<string, unknown>> } }
    mutate(wire.body.shares)
    assert.is(await codeOfAsync(() => decodeManifest(encodeCanonical(wire))), 'ERR_DECODE')
  }
})

M('a changed body fails the tenant signature; another authority\'s tenant is not admitted', async () => {
  const m = manifest()
  const wire = structuredClone(manifestToWire(m)) as unknown as { body: { dim: number } }
  wire.body.dim = 512
  assert.is(await codeOfAsync(() => checkManifest(decodeManifest(encodeCanonical(wire)), anchor, Date.now())), 'ERR_BAD_SIGNATURE')
  const other = authority()
  const ft = admitTenant(other, 'foreign')
  const foreign = manifest({ tenant: ft.key, tenantCert: toWire(ft.cert) })
  assert.is(await codeOfAsync(() => checkManifest(foreign, anchor, Date.now())), 'ERR_NOT_ADMITTED')
})

M('an expired enrolment is refused for use but its record stays valid', async () => {
  const m = manifest({ policy: { measurements: [randomBytes(32)], expires: Date.now() - 1 } })
  assert.is(await codeOfAsync(() => checkManifest(m, anchor, Date.now())), 'ERR_EXPIRED')
  validateManifestRecord(manifestKey(m.body.tenant, m.body.templateId), encodeManifest(m), anchor)
})

M('subject consent must carry the subject\'s valid signature', async () => {
  const subject = generateSigningKey().key
  const templateId = randomBytes(32)
  const ok = manifest({ templateId, consent: subjectConsent(templateId, tenant.key.publicKey, subject) })
  checkManifest(ok, anchor, Date.now())
  const forged = manifest({ templateId, consent: subjectConsent(randomBytes(32), tenant.key.publicKey, subject) })
  assert.is(await codeOfAsync(() => checkManifest(forged, anchor, Date.now())), 'ERR_BAD_SIGNATURE')
})

M.run()

const R = suite('manifest records')

R('a record under another template\'s key is refused', async () => {
  const m = manifest()
  assert.is(await codeOfAsync(() => validateManifestRecord(manifestKey(m.body.tenant, randomBytes(32)), encodeManifest(m), anchor)), 'ERR_NOT_AUTHORISED')
})

R('oversized and garbage records are refused with typed codes', async () => {
  const m = manifest()
  assert.is(await codeOfAsync(() => validateManifestRecord(manifestKey(m.body.tenant, m.body.templateId), new Uint8Array(70_000), anchor)), 'ERR_TOO_LARGE')
  assert.is(await codeOfAsync(() => validateManifestRecord(manifestKey(m.body.tenant, m.body.templateId), randomBytes(200), anchor)), 'ERR_DECODE')
})

R('the selector keeps the highest seq, and an erased manifest beats any active one', () => {
  const m1 = manifest()
  const m2 = buildManifest({ ...m1.body, tenant: tenant.key, tenantCert: tenant.cert, seq: 2 })
  const erased = erasedManifest(m1, tenant.key, tenant.cert)
  const m9 = buildManifest({ ...m1.body, tenant: tenant.key, tenantCert: tenant.cert, seq: 9 })
  assert.is(selectManifestRecord([encodeManifest(m1), encodeManifest(m2)]), 1)
  assert.is(selectManifestRecord([encodeManifest(m9), encodeManifest(erased), encodeManifest(m2)]), 1)
  assert.is(selectManifestRecord([randomBytes(10), encodeManifest(m1)]), 1, 'undecodable records are skipped')
})

R.run()

const P = suite('placement')

P('shares go to distinct sites, closest first by XOR distance, deterministically', () => {
  const candidates = peers.map((peer, i) => ({ peer, site: `site-${i % 4}` }))
  const id = randomBytes(32)
  const xs = [7, 99, 200]
  const a = choosePlacement(id, xs, candidates)
  assert.equal(a, choosePlacement(id, xs, [...candidates].reverse()))
  assert.is(new Set(a.map((c) => c?.site)).size, 3)
  assert.is(a[0]?.peer, rankCandidates(id, 7, candidates)[0].peer)
})

P('fewer distinct sites than shares leaves an x unplaced; unusable candidates are skipped', () => {
  const candidates = peers.map((peer, i) => ({ peer, site: `site-${i % 2}` }))
  const placed = choosePlacement(randomBytes(32), [1, 2, 3], candidates)
  assert.is(placed.filter((c) => c === undefined).length, 1)
  const down = new Set(peers.slice(0, 4))
  const avoided = choosePlacement(randomBytes(32), [1, 2], candidates, (c) => !down.has(c.peer))
  assert.ok(avoided.every((c) => c !== undefined && !down.has(c.peer)))
})

P.run()
