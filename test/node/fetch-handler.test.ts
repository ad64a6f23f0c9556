/**
 * The holder's fetch handler with remembered signatures, built from its
 * factory with only its named dependencies and driven directly (real share
 * store on disk, real keys, a clock the test moves): the certificate and
 * attestation signatures are verified once, while every check that depends
 * on the request or the clock still runs each time.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fetchHandler, type FetchHandlerDeps } from '../../node/handlers/fetch.ts'
import { ManifestCache } from '../../node/handlers/manifest-cache.ts'
import { VerifiedCache } from '../../net/policy/verified-cache.ts'
import type { RequestContext } from '../../net/rpc.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { ShareStore } from '../../node/store/share-store.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { ReplayCache } from '../../net/policy/replay-cache.ts'
import { RateLimiter } from '../../net/policy/rate-limiter.ts'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier } from '../../keys/authority.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { encodeFetchRequest, readFetchResponse } from '../../protocol/fetch.ts'
import { encodeManifest } from '../../protocol/manifest.ts'
import { processAttestation } from '../../protocol/attestation.ts'
import { toWire, type SignedWire } from '../../protocol/signed.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare } from '../../crypto/shares.ts'
import { ENC_BYTES, Sealer } from '../../crypto/seal.ts'
import { generateSigningKey, type SigningKey } from '../../crypto/sign.ts'
import { equalBytes, randomBytes, toHex } from '../../crypto/bytes.ts'
import { testEnclave, openFetched, TEST_RATE } from '../helpers/enrol.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const DAY = 86_400_000
const dir = mkdtempSync(join(tmpdir(), 'bioshard-fetch-'))
initAuthority(join(dir, 'authority'))
const authority = loadAuthority(join(dir, 'authority'))
const admitted = admitTenant(authority, 'acme')
const start = Date.now()
const v = authoriseVerifier(admitted.key, 'v1', ['login'], { now: start, days: 1 })
const verifier = { key: v.key, cert: v.cert, wire: toWire(v.cert) }
const enclave = testEnclave(verifier)
const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const client = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

const templateId = randomBytes(32)
const secret = encryptTemplate(randomBytes(512), { templateId, modality: 'face', model: 'm' })
const shares = await splitSecret(secret, 2, 2)
const share = shares[0]
const manifest = buildManifest({
  templateId,
  tenant: admitted.key,
  tenantCert: toWire(admitted.cert),
  modality: 'face',
  model: 'm',
  dim: 128,
  t: 2,
  n: 2,
  shares: shares.map((s, i) => ({ x: s.x, holder: i === 0 ? self : other, site: `site-${i}`, commitment: commitShare(templateId, s) })),
  policy: { measurements: [enclave.measurement], purposes: ['login'], ...TEST_RATE }
})
const ndb = await openNodeDb(join(dir, 'node'))
const store = new ShareStore(ndb, randomBytes(32))
await store.put(slotKey(admitted.key.publicKey, templateId), share.x, share.bytes.slice(), encodeManifest(manifest))

let clock = start
const deps: FetchHandlerDeps = {
  self,
  key: generateSigningKey().key,
  store,
  manifests: new ManifestCache(store),
  replay: new ReplayCache(120_000),
  rate: new RateLimiter(),
  attestation: { process: processAttestation },
  sealer: new Sealer({ now: () => clock }),
  now: () => clock
}

/** One fetch served by a handler built from `d`, with `verified` remembering signatures (none: every one verified). */
async function handleFetch (bytes: Uint8Array, verified?: VerifiedCache, d: FetchHandlerDeps = deps): Promise<unknown> {
  return await fetchHandler(verified !== undefined ? { ...d, verified } : d)(bytes, ctx())
}

function ctx (): RequestContext {
  // The handler reads only the authenticated peer and fills in the note.
  return { peer: client, connection: undefined as unknown as Connection, signal: AbortSignal.timeout(5_000), note: {} }
}
function request (o: { cert?: SignedWire, attestation?: SignedWire, signer?: SigningKey } = {}): Uint8Array {
  return encodeFetchRequest({
    templateId,
    xs: [share.x],
    purpose: 'login',
    enclave: o.attestation ?? enclave.attestation,
    cert: o.cert ?? verifier.wire,
    sender: client,
    nonce: randomBytes(16),
    time: clock
  }, o.signer ?? verifier.key)
}
function tamperedSig (w: SignedWire): SignedWire {
  const sig = Uint8Array.from(w.sig)
  sig[7] ^= 0x01
  return { body: w.body, sig }
}
async function fetchOpens (verified?: VerifiedCache): Promise<void> {
  const res = readFetchResponse(await handleFetch(request(), verified))
  const opened = openFetched(enclave.keys, res, clock)
  assert.ok(equalBytes(opened, share.bytes))
}

const fetch = suite('fetch handler: remembered signatures, every check still run')

fetch.before.each(() => { clock = start })
fetch.after(async () => {
  await ndb.close()
  rmSync(dir, { recursive: true, force: true })
})

fetch('serves repeated fetches, verifying the certificate and attestation signatures once', async () => {
  const verified = new VerifiedCache()
  for (let i = 0; i < 4; i++) await fetchOpens(verified)
  assert.equal(verified.stats, { hits: 6, misses: 2 })
})

fetch('without a cache every signature is verified and the share is still served', async () => {
  await fetchOpens()
})

fetch('seals every share to one enclave under the node\'s one HPKE context until it is a minute old', async () => {
  // The sealer's own clock, so the node's rate limiter and replay cache see no time pass.
  let sealClock = 0
  const node = { ...deps, sealer: new Sealer({ now: () => sealClock }) }
  const enc = async (): Promise<string> => {
    const res = readFetchResponse(await handleFetch(request(), undefined, node))
    assert.ok(equalBytes(openFetched(enclave.keys, res, clock), share.bytes))
    return toHex(res.body.sealed.subarray(0, ENC_BYTES))
  }
  const first = await enc()
  sealClock += 30_000
  assert.is(await enc(), first)
  sealClock += 30_000
  assert.is.not(await enc(), first, 'a context 60 s old is replaced')
})

fetch('a certificate cached while valid is refused once it has expired (ERR_EXPIRED)', async () => {
  const verified = new VerifiedCache()
  await fetchOpens(verified)
  clock = start + 2 * DAY
  const before = verified.stats.hits
  assert.is(await codeOfAsync(handleFetch(request(), verified)), 'ERR_EXPIRED')
  assert.is(verified.stats.hits, before + 1, 'the certificate signature was answered from the cache, and the certificate still refused')
})

fetch('a request signed by another key is refused though its certificate and attestation are cached (ERR_BAD_SIGNATURE)', async () => {
  const verified = new VerifiedCache()
  await fetchOpens(verified)
  assert.is(await codeOfAsync(handleFetch(request({ signer: generateSigningKey().key }), verified)), 'ERR_BAD_SIGNATURE')
})

fetch('a tampered certificate or attestation signature is refused after the genuine ones were cached (ERR_BAD_SIGNATURE)', async () => {
  const verified = new VerifiedCache()
  await fetchOpens(verified)
  assert.is(await codeOfAsync(handleFetch(request({ cert: tamperedSig(verifier.wire) }), verified)), 'ERR_BAD_SIGNATURE')
  assert.is(await codeOfAsync(handleFetch(request({ attestation: tamperedSig(enclave.attestation) }), verified)), 'ERR_BAD_SIGNATURE')
  await fetchOpens(verified)
})

fetch('a replayed request is refused though everything in it is cached (ERR_REPLAY)', async () => {
  const verified = new VerifiedCache()
  const bytes = request()
  await handleFetch(bytes, verified)
  assert.is(await codeOfAsync(handleFetch(bytes, verified)), 'ERR_REPLAY')
})

fetch.run()
