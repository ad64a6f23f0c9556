/**
 * The store and erase handlers, each built from its factory with only the
 * dependencies it names (real share store on disk, real keys, real signed
 * requests), driven directly: a store is kept and answered with a signed
 * receipt, a replay and a share for another holder are refused; an erase
 * destroys the share, drops the cached manifest and makes the id refuse a
 * new store.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { storeHandler, type StoreHandlerDeps } from '../../node/handlers/store.ts'
import { eraseHandler, type EraseHandlerDeps } from '../../node/handlers/erase.ts'
import { ManifestCache } from '../../node/handlers/manifest-cache.ts'
import type { RequestContext } from '../../net/rpc.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { ShareStore } from '../../node/store/share-store.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { ReplayCache } from '../../net/policy/replay-cache.ts'
import { initAuthority, loadAuthority, admitTenant } from '../../keys/authority.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { encodeStoreRequest, readStoreReceipt } from '../../protocol/store.ts'
import { encodeEraseRequest, readEraseReceipt } from '../../protocol/erase.ts'
import { toWire } from '../../protocol/signed.ts'
import { encryptTemplate } from '../../crypto/envelope.ts'
import { splitSecret, commitShare } from '../../crypto/shares.ts'
import { generateSigningKey } from '../../crypto/sign.ts'
import { equalBytes, randomBytes } from '../../crypto/bytes.ts'
import { codeOfAsync } from '../helpers/assert.ts'

const dir = mkdtempSync(join(tmpdir(), 'bioshard-handlers-'))
initAuthority(join(dir, 'authority'))
const authority = loadAuthority(join(dir, 'authority'))
const anchor = { network: authority.info.network, authorities: [authority.info.publicKey] }
const tenant = admitTenant(authority, 'acme')
const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const client = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const ndb = await openNodeDb(join(dir, 'node'))
const store = new ShareStore(ndb, randomBytes(32))
const manifests = new ManifestCache(store)
const key = generateSigningKey().key
const now = (): number => Date.now()

const storeDeps: StoreHandlerDeps = { self, site: 'site-0', key, anchor, store, replay: new ReplayCache(120_000), now }
const eraseDeps: EraseHandlerDeps = { self, key, anchor, store, manifests, replay: new ReplayCache(120_000), now }
const handleStore = storeHandler(storeDeps)
const handleErase = eraseHandler(eraseDeps)

function ctx (): RequestContext {
  // The handlers read only the authenticated peer and fill in the note.
  return { peer: client, connection: undefined as unknown as Connection, signal: AbortSignal.timeout(5_000), note: {} }
}

/** A template split 2-of-2 between this node (x of shares[0]) and another. */
async function enrolment (): Promise<{ templateId: Uint8Array, manifest: ReturnType<typeof buildManifest>, shares: Awaited<ReturnType<typeof splitSecret>> }> {
  const templateId = randomBytes(32)
  const shares = await splitSecret(encryptTemplate(randomBytes(512), { templateId, modality: 'face', model: 'm' }), 2, 2)
  const manifest = buildManifest({
    templateId,
    tenant: tenant.key,
    tenantCert: toWire(tenant.cert),
    modality: 'face',
    model: 'm',
    dim: 128,
    t: 2,
    n: 2,
    shares: shares.map((s, i) => ({ x: s.x, holder: i === 0 ? self : other, site: `site-${i}`, commitment: commitShare(templateId, s) })),
    policy: { measurements: [randomBytes(32)], purposes: ['login'] }
  })
  return { templateId, manifest, shares }
}

function storeRequest (e: Awaited<ReturnType<typeof enrolment>>, i = 0): Uint8Array {
  const share = e.shares[i]
  return encodeStoreRequest({ manifest: e.manifest, x: share.x, share: share.bytes.slice(), sender: client, nonce: randomBytes(16), time: now() }, tenant.key)
}

function eraseRequest (e: Awaited<ReturnType<typeof enrolment>>): Uint8Array {
  return encodeEraseRequest({ manifest: e.manifest, by: 'tenant', sender: client, nonce: randomBytes(16), time: now() }, tenant.key)
}

const handlers = suite('store and erase handlers from their factories')

handlers.after(async () => {
  await ndb.close()
  rmSync(dir, { recursive: true, force: true })
})

handlers('a store is kept and answered with a receipt signed by the node\'s key', async () => {
  const e = await enrolment()
  const receipt = readStoreReceipt(await handleStore(storeRequest(e), ctx()))
  assert.is(receipt.body.holder, self)
  assert.is(receipt.body.x, e.shares[0].x)
  const held = await store.getShare(slotKey(tenant.key.publicKey, e.templateId))
  assert.ok(held !== undefined && equalBytes(held.share, e.shares[0].bytes), 'the share is on disk')
})

handlers('a replayed store and a share listed for another holder are refused (ERR_REPLAY, ERR_NOT_HOLDER)', async () => {
  const e = await enrolment()
  const bytes = storeRequest(e)
  await handleStore(bytes.slice(), ctx())
  assert.is(await codeOfAsync(handleStore(bytes, ctx())), 'ERR_REPLAY')
  assert.is(await codeOfAsync(handleStore(storeRequest(e, 1), ctx())), 'ERR_NOT_HOLDER')
})

handlers('an erase destroys the share, drops the cached manifest, and the id then refuses a store (ERR_ERASED)', async () => {
  const e = await enrolment()
  await handleStore(storeRequest(e), ctx())
  const slot = slotKey(tenant.key.publicKey, e.templateId)
  assert.ok(await manifests.get(slot) !== undefined, 'the manifest is cached')
  const receipt = readEraseReceipt(await handleErase(eraseRequest(e), ctx()))
  assert.is(receipt.body.holder, self)
  assert.is(await store.getShare(slot), undefined)
  assert.is(await manifests.get(slot), undefined, 'the cache no longer answers for the erased id')
  assert.is(await codeOfAsync(handleStore(storeRequest(e), ctx())), 'ERR_ERASED')
})

handlers('an erase at a node that neither is listed nor holds anything is refused (ERR_NOT_HOLDER)', async () => {
  const e = await enrolment()
  const stranger = eraseHandler({ ...eraseDeps, self: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString() })
  assert.is(await codeOfAsync(stranger(eraseRequest(e), ctx())), 'ERR_NOT_HOLDER')
})

handlers.run()
