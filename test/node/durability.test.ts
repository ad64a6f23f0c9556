/**
 * DESIGN invariant 6 — an acknowledged store survives a crash of its holder:
 * a real `bioshard node start` process acknowledges stores, is killed with
 * SIGKILL at the moment the acknowledgements arrive, restarts on the same
 * directory and serves every acknowledged share, byte for byte.
 *
 * DESIGN invariant 1 — nothing under the node's directory, nor anything it
 * logged, holds a share, a template or its ciphertext (not even 16 bytes of
 * one), raw or as hex.
 *
 * The manifests are t = 2, n = 2: share 1 goes to the node under test, share
 * 2 is kept here (its listed holder, at another site, never runs), so the
 * restarted node's share plus the kept one must rebuild the template.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { provisionNode, type Tenant, type Verifier } from '../../sim/local-network.ts'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier } from '../../keys/authority.ts'
import { createHost, type Host } from '../../net/host.ts'
import { Admission } from '../../net/admission.ts'
import { Roster } from '../../net/roster.ts'
import { InvalidRequestBudget } from '../../net/rpc.ts'
import { storeShare, fetchShare, type StoreOrder } from '../../client/holder-requests.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { combineShares, type Share } from '../../crypto/shares.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { toWire } from '../../protocol/signed.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { StoreReceipt } from '../../protocol/store.ts'
import { testEnclave, prepareEnrolment, openFetched, MODEL } from '../helpers/enrol.ts'
import { startNodeProcess, type NodeProcess } from '../helpers/node-process.ts'
import { LeakPatterns } from '../helpers/leak-scan.ts'
import { sharedSetup } from '../helpers/setup.ts'

const root = mkdtempSync(join(tmpdir(), 'bioshard-durable-'))
const authority = (() => { initAuthority(join(root, 'authority')); return loadAuthority(join(root, 'authority')) })()
const anchor = { network: authority.info.network, authorities: [authority.info.publicKey] }
const dir = join(root, 'node')
const peer = await provisionNode({ dir, site: 'site-1', authority })
const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

const t0 = admitTenant(authority, 'acme')
const tenant: Tenant = { key: t0.key, cert: t0.cert, wire: toWire(t0.cert) }
const v0 = authoriseVerifier(tenant.key, 'verifier', ['login'])
const verifier: Verifier = { key: v0.key, cert: v0.cert, wire: toWire(v0.cert) }
const enclave = testEnclave(verifier)
const creds = { verifier: verifier.key, cert: verifier.wire, attestation: enclave.attestation }

interface Stored { templateId: Uint8Array, template: Uint8Array, secret: Uint8Array, held: Share, kept: Share, manifest: Manifest }

/** Encrypt and split a fresh template; share 1 is for the node under test. */
async function prepare (): Promise<Stored> {
  const placement = [{ peer, site: 'site-1' }, { peer: absent, site: 'site-2' }]
  const enrolment = await prepareEnrolment(tenant, placement, { t: 2, measurements: [enclave.measurement] })
  const { templateId, template, secret, shares: [held, kept], manifest } = enrolment
  return { templateId, template, secret, held, kept, manifest }
}

/** What the suite's steps hand on to each other: the client, the node process, its logs, and the stores sent and acknowledged. */
interface CrashState { client?: Host, node?: NodeProcess, logs: string[], sent: Stored[], acked: Array<{ s: Stored, receipt: StoreReceipt }> }
const state: CrashState = { logs: [], sent: [], acked: [] }

/** Start the node process and connect the client to the address it printed. */
async function startNode (): Promise<NodeProcess> {
  const node = await startNodeProcess(dir, [], { env: { DEBUG: 'bioshard:*' } })
  state.node = node
  assert.is(node.peer, peer)
  await state.client!.dial(multiaddr(node.addrs[0]), { signal: AbortSignal.timeout(5_000) })
  return node
}

/** The store order for the node's share of `s`, on a copy of the share bytes so `s` keeps its own. */
function storeOrder (s: Stored): StoreOrder {
  return { manifest: s.manifest, x: s.held.x, share: s.held.bytes.slice(), tenant: tenant.key }
}

async function fetchHeld (s: Stored): Promise<Uint8Array> {
  const now = Date.now()
  const res = await fetchShare(state.client!, peer, { templateId: s.templateId, x: s.held.x, purpose: 'login', creds }, { now })
  return openFetched(enclave.keys, res, now)
}

const crash = suite('an acknowledged store survives kill -9 of its holder (invariant 6)')

sharedSetup(crash, 'a client host proving the tenant certificate', async () => {
  state.client = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client' })
  // Nodes serve certified clients only: this one proves the tenant's certificate in admission.
  const admission = new Admission({
    libp2p: state.client,
    roster: new Roster(anchor),
    budget: new InvalidRequestBudget(20, 60_000, 60_000),
    credential: { key: tenant.key, cert: tenant.wire }
  })
  await state.client.start()
  await admission.start()
})

crash('stores are acknowledged with receipts signed by the holder', async () => {
  const node = await startNode()
  for (let i = 0; i < 3; i++) {
    const s = await prepare()
    state.sent.push(s)
    const receipt = await storeShare(state.client!, peer, storeOrder(s))
    assert.is(receipt.body.holder, peer)
    assert.is(receipt.body.x, s.held.x)
    assert.ok(equalBytes(receipt.body.templateId, s.templateId))
    state.acked.push({ s, receipt })
  }
  assert.ok(equalBytes(await fetchHeld(state.sent[0]), state.sent[0].held.bytes), 'served before the crash')
  state.logs.push(node.stdout() + node.stderr())
})

crash('SIGKILL the moment acknowledgements arrive, with more stores still in flight', async () => {
  const node = state.node!
  const batch = await Promise.all(Array.from({ length: 8 }, async () => await prepare()))
  state.sent.push(...batch)
  let acks = 0
  await Promise.allSettled(batch.map(async (s) => {
    const receipt = await storeShare(state.client!, peer, storeOrder(s), { timeoutMs: 3_000 })
    state.acked.push({ s, receipt })
    // No await between the third acknowledgement and the kill.
    if (++acks === 3) node.child.kill('SIGKILL')
  }))
  if (acks < 3) node.child.kill('SIGKILL')
  const exit = await node.exited
  assert.is(exit.signal, 'SIGKILL')
  assert.not.match(node.stderr(), /stopping/, 'died without a clean shutdown')
  assert.ok(acks >= 3, `${acks} of the batch acknowledged`)
  state.logs.push(node.stdout() + node.stderr())
})

crash('after a restart on the same directory every acknowledged share is served, byte for byte', async () => {
  const node = await startNode()
  for (const { s } of state.acked) {
    const share = await fetchHeld(s)
    assert.ok(equalBytes(share, s.held.bytes), 'the share the holder acknowledged')
    const template = decryptTemplate(await combineShares([{ x: s.held.x, bytes: share }, s.kept]), { templateId: s.templateId, modality: 'face', model: MODEL })
    assert.ok(equalBytes(template, s.template), 'with the kept share it rebuilds the template')
  }
  state.logs.push(node.stdout() + node.stderr())
})

crash.run()

const rest = suite('at rest and in logs: no share, template or ciphertext (invariant 1)')

rest('the scanner finds a 16-byte window of a secret, raw or as hex, when one is there', () => {
  const s = state.sent[0]
  const patterns = new LeakPatterns([s.held.bytes])
  const probe = join(root, 'probe')
  mkdirSync(probe)
  // The secret's first 16 bytes: a window from its middle could start a byte early, where the secret's byte before it
  // happens to equal the last byte written ahead of it.
  writeFileSync(join(probe, 'raw'), new Uint8Array([1, 2, 3, ...s.held.bytes.subarray(0, 16), 4]))
  assert.is(patterns.findInTree(probe)?.offset, 3)
  rmSync(join(probe, 'raw'))
  writeFileSync(join(probe, 'hex'), `share=${Buffer.from(s.held.bytes.subarray(100, 116)).toString('hex')}`)
  assert.is(patterns.findInTree(probe)?.form, 'hex')
  rmSync(probe, { recursive: true })
})

rest('the node directory does hold the stored records (the scan reads what the node wrote)', () => {
  // Template ids are public and stored raw (keys, manifests): a scan that
  // cannot see them could not see a leak either.
  const ids = new LeakPatterns(state.acked.map(({ s }) => s.templateId), 32)
  for (const { s } of state.acked) {
    const one = new LeakPatterns([s.templateId], 32)
    assert.ok(one.findInTree(dir) !== undefined, 'template id on disk')
  }
  assert.ok(ids.findInTree(dir) !== undefined)
})

rest('no file under the node directory holds 16 bytes of any share, template or ciphertext', async () => {
  const exit = await state.node!.kill('SIGTERM')
  assert.is(exit.code, 0)
  state.logs.push(state.node!.stdout() + state.node!.stderr())
  const secrets = state.sent.flatMap((s) => [s.held.bytes, s.kept.bytes, s.template, s.secret])
  const leak = new LeakPatterns(secrets).findInTree(dir)
  assert.is(leak, undefined, leak === undefined ? '' : `secret ${leak.secret} (${leak.form}) in ${leak.where} at ${leak.offset}`)
})

rest('nothing the node printed or logged (DEBUG=bioshard:*) holds one either', () => {
  const logs = state.logs.join('\n')
  assert.ok(logs.includes(peer), 'the logs were captured')
  const secrets = state.sent.flatMap((s) => [s.held.bytes, s.kept.bytes, s.template, s.secret])
  assert.is(new LeakPatterns(secrets).find(Buffer.from(logs, 'utf8'), 'logs'), undefined)
})

rest.after(async () => {
  await state.node?.kill('SIGKILL')
  await state.client?.stop()
  rmSync(root, { recursive: true, force: true })
})

rest.run()
