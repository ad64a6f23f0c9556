/**
 * DESIGN trust rule "Erase destroys": after a complete erase (all n
 * receipts) no file under any holder's directory keeps the share's
 * ciphertext, its wrapped key or its unwrapped key — while the nodes run
 * (an erase must not wait for a restart to take effect) and again after a
 * clean stop (closing LevelDB must not bring anything back). Before the
 * erase the same scan finds the ciphertext and the wrapped key, so it does
 * read what the nodes wrote.
 *
 * The records are read for the test straight from each running node's
 * database and its storage key file; production code offers no such hook.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, enrolByHand, fetchParties, type Enrolled } from '../helpers/enrol.ts'
import { eraseAt } from '../../client/holder-requests.ts'
import { LeakPatterns } from '../helpers/leak-scan.ts'
import { loadKeys } from '../../node/keys.ts'
import { unwrapShareKey } from '../../node/store/share-record.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { wipe } from '../../crypto/bytes.ts'
import type { NodeDb } from '../../node/store/db.ts'
import type { SiteNode } from '../../node/site-node.ts'

const net = await LocalNetwork.start({ nodes: 5 })
await net.converged()
const client = await clientHost(net)
const { tenant, enclave } = fetchParties(net)

/** What one holder keeps of one share. */
interface Residue { ciphertext: Uint8Array, wrappedKey: Uint8Array, shareKey: Uint8Array }

/** Read a running node's record of `slot` from its database, and unwrap its key with the node's storage key. */
async function residueAt (node: SiteNode, slot: Uint8Array): Promise<Residue> {
  const db = (node as unknown as { db: NodeDb }).db
  const record = await db.shares.get(slot)
  const wrappedKey = await db.shareKeys.get(slot)
  assert.ok(record !== undefined && wrappedKey !== undefined, 'the holder keeps a record and a wrapped key')
  const { storageKey } = await loadKeys(node.dir)
  const shareKey = unwrapShareKey(storageKey, slot, Uint8Array.from(wrappedKey))
  wipe(storageKey)
  // The ciphertext and tag, after the version, x and nonce.
  return { ciphertext: Uint8Array.from(record.subarray(14)), wrappedKey: Uint8Array.from(wrappedKey), shareKey }
}

/** Which of a holder's residues are found in any file under its directory. */
function found (node: SiteNode, r: Residue): string[] {
  const parts = Object.entries(r) as Array<[keyof Residue, Uint8Array]>
  return parts.filter(([, bytes]) => new LeakPatterns([bytes]).findInTree(node.dir) !== undefined).map(([name]) => name)
}

const state: { enrolled?: Enrolled, residues: Residue[] } = { residues: [] }
const holders = net.nodes

const destroy = suite('erase destroys the share at every holder')

destroy('before erase, every holder\'s files hold its share ciphertext and wrapped key, never the unwrapped key', async () => {
  state.enrolled = await enrolByHand(client.host, holders, tenant, { measurements: [enclave.measurement] })
  const slot = slotKey(tenant.key.publicKey, state.enrolled.templateId)
  for (const node of holders) state.residues.push(await residueAt(node, slot))
  holders.forEach((node, i) => { assert.equal(found(node, state.residues[i]), ['ciphertext', 'wrappedKey'], `holder ${i}`) })
})

destroy('after an erase with all n receipts, no file of a running holder holds any of them', async () => {
  const e = state.enrolled!
  const receipts = await Promise.all(holders.map(async (n) => await eraseAt(client.host, n.cert.body.peer, { manifest: e.manifest, signer: tenant.key })))
  assert.is(receipts.filter((r) => r.body.held).length, holders.length, 'all n receipts, each for a held share')
  holders.forEach((node, i) => { assert.equal(found(node, state.residues[i]), [], `holder ${i} still holds these`) })
})

destroy('after a clean stop, still none', async () => {
  await client.stop()
  await Promise.all(holders.map(async (n) => { await n.stop() }))
  holders.forEach((node, i) => { assert.equal(found(node, state.residues[i]), [], `holder ${i} still holds these`) })
})

destroy.after(async () => {
  for (const r of state.residues) wipe(r.shareKey)
  await net.stop()
})

destroy.run()
