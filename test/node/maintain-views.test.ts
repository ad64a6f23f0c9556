/**
 * One repair over real nodes with every maintain message each node receives
 * recorded (DESIGN.md invariant 7): the helpers hear only the other helper's
 * mask, the new holder only the masked sums, and for every byte position
 * checked no party's view favours any value of the secret byte (the
 * exhaustive t = 2 checker of the in-process repair test). The coordinator
 * hears only answers: commitments, never parts.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { createClient } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { HOLDER_HANDLERS, type HandlerEntry } from '../../node/handlers/registry.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { decodeMaintainMessage, type MaintainBody } from '../../protocol/maintain.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { interpolateAt } from '../../crypto/gf256.ts'
import type { Share } from '../../crypto/shares.ts'
import { helperCounts, newHolderCounts } from '../helpers/repair-views.ts'

/** Every maintain message each node received, by the receiving node's peer id. */
const received = new Map<string, MaintainBody[]>()
const recording: readonly HandlerEntry[] = HOLDER_HANDLERS.map((entry) => entry.protocol !== PROTOCOL.MAINTAIN
  ? entry
  : {
      ...entry,
      create: (c) => {
        const handle = entry.create(c)
        return async (bytes, ctx) => {
          try {
            const list = received.get(c.self) ?? []
            list.push(decodeMaintainMessage(bytes.slice()).body)
            received.set(c.self, list)
          } catch { /* malformed input is the handler's to refuse */ }
          return await handle(bytes, ctx)
        }
      }
    })

const net = await LocalNetwork.start({ nodes: 1 })
for (let site = 2; site <= 6; site++) await net.addNode(`site-${site}`, net.bootstrap, undefined, { handlers: recording })
await net.converged()
// Only recording nodes stay up, so every party of the round is recorded.
await net.stopNode(0)
const tenant = net.tenant('acme')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(7)
const alice = syntheticIdentity(128, rand)

const views = suite('what each party of a repair sees')

views('no party\'s recorded view of a t = 2 repair favours any secret byte', async () => {
  const e = await client.enroll({ template: alice.slice(), modality: 'face', model: 'synthetic-128', t: 2, n: 3, policy: { ratePerMinute: 600, burst: 600 } })
  const slot = slotKey(tenant.key.publicKey, e.templateId)
  type Node = (typeof net.nodes)[number]
  const nodeOf = (peer: string): Node => net.nodes.find((n) => n.libp2p !== undefined && n.cert.body.peer === peer) as Node
  const gone = e.manifest.body.shares[2].holder
  const shares = new Map<string, Share>()
  for (const s of e.manifest.body.shares.slice(0, 2)) {
    const h = await nodeOf(s.holder).heldShare(slot)
    if (h === undefined) throw new Error('share missing')
    shares.set(s.holder, { x: h.x, bytes: h.share })
  }
  await net.stopNode(net.nodes.findIndex((n) => n.cert.body.peer === gone))
  received.clear()
  const report = await client.repair(e.templateId, { lost: [gone] })
  const to = report.replaced[0].to
  const open = received.get(to)?.find((m) => m.kind === 'open')
  if (open?.kind !== 'open') throw new Error('the new holder was not opened')
  const xs = open.helpers
  const newX = open.newX as number
  const peerAt = (x: number): string => e.manifest.body.shares.find((s) => s.x === x)?.holder as string
  const parts = (peer: string, kind: 'deal' | 'sum'): Array<{ fromX: number, part: Uint8Array }> =>
    (received.get(peer) ?? []).flatMap((m) => m.kind === kind ? [{ fromX: m.fromX, part: m.part }] : [])
  for (const [peer, list] of received) {
    const party = peer === to || xs.some((x) => peerAt(x) === peer)
    if (!party) assert.is(list.filter((m) => m.kind === 'deal' || m.kind === 'sum').length, 0, 'observers hear no parts')
  }
  const masks = xs.map((x) => parts(peerAt(x), 'deal'))
  masks.forEach((m) => { assert.is(m.length, 1, 'each helper hears exactly one mask (t − 1)') })
  const sums = parts(to, 'sum').sort((a, b) => xs.indexOf(a.fromX) - xs.indexOf(b.fromX))
  assert.is(sums.length, 2, 'the new holder hears t masked sums')
  assert.is(parts(to, 'deal').length, 0, 'the new holder hears no masks')
  const helperShares = xs.map((x) => shares.get(peerAt(x)) as Share)
  const secret = interpolateAt(helperShares, 0)
  for (const k of [0, 1, 2]) {
    const checks: Array<[string, Uint32Array]> = [
      ['helper 1', helperCounts(xs, newX, { i: 0, share: helperShares[0].bytes[k], mask: masks[0][0].part[k] })],
      ['helper 2', helperCounts(xs, newX, { i: 1, share: helperShares[1].bytes[k], mask: masks[1][0].part[k] })],
      ['the new holder', newHolderCounts(xs, newX, sums.map((s) => s.part[k]))]
    ]
    for (const [who, counts] of checks) {
      assert.ok(counts[secret[k]] > 0, `${who}, byte ${k}: the model reproduces the recorded view`)
      assert.ok(counts.every((c) => c === counts[0]), `${who}, byte ${k}: every candidate secret byte is equally consistent with the view`)
    }
  }
  const r = await client.verify({ templateId: e.templateId, probe: syntheticProbe(alice, rand), purpose: 'login' })
  assert.ok(r.accept, 'the repaired template verifies')
  console.log(`repair traffic: t=2 share=${helperShares[0].bytes.length} B total=${report.bytes} B`)
})

views.after(async () => {
  await client.close()
  await net.stop()
})

views.run()
