/**
 * Repeated refusals are aggregated in the audit log: a hostile peer sending
 * thousands of refused requests to a real node produces a bounded number of
 * audit entries (the first of each code in full, then one counted entry per
 * code and window), whose counts add up to every refusal it received, and
 * the chain still verifies. The aggregation map is bounded too: pairs beyond
 * it share one overflow entry.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { clientHost, fetchParties } from '../helpers/enrol.ts'
import { fetchShare } from '../../client/holder-requests.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { decodeAuditRecord, type AuditEntry } from '../../node/audit/audit-log.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'
import { RefusalAggregator, OVERFLOW_PEER, REPEATED_ACTION } from '../../node/audit/refusal-aggregator.ts'
import { RemoteError } from '../../protocol/errors.ts'
import { randomBytes } from '../../crypto/bytes.ts'

const REQUESTS = 2_000
const IN_FLIGHT = 16

const net = await LocalNetwork.start({ nodes: 1 })
const hostile = await clientHost(net)
const { creds } = fetchParties(net)
const node = net.nodes[0]

const agg = suite('repeated refusals are aggregated in the audit log')

agg('thousands of refused fetches from one peer: a few entries whose counts add up', async () => {
  const refused = new Map<string, number>()
  let next = 0
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < REQUESTS) {
      next++
      try {
        await fetchShare(hostile.host, node.cert.body.peer, { templateId: randomBytes(32), x: 1, purpose: 'login', creds })
      } catch (e) {
        // ERR_BUSY is this side's own "unreachable" once the node has cut the peer off.
        if (e instanceof RemoteError && e.code !== 'ERR_BUSY') refused.set(e.code, (refused.get(e.code) ?? 0) + 1)
      }
    }
  }))
  const total = [...refused.values()].reduce((a, b) => a + b, 0)
  assert.ok(total >= REQUESTS / 4, `${total} of ${REQUESTS} requests were answered with a refusal`)
  const peer = hostile.host.peerId.toString()
  await hostile.stop()
  await node.stop() // a clean stop writes what is still counted

  const db = await openNodeDb(node.dir, { createIfMissing: false })
  try {
    const v = await verifyAuditLog(db)
    assert.ok(v.ok, JSON.stringify(v))
    const entries: AuditEntry[] = []
    for await (const value of db.audit.values()) entries.push(decodeAuditRecord(value).entry)
    const mine = entries.filter((e) => e.peer === peer)
    // Codes the peer never saw may appear too (a stream cut when the peer was banned is ERR_ABORTED).
    const codes = new Set(mine.map((e) => e.outcome))
    assert.ok(codes.size <= refused.size + 2 && mine.length <= 2 * codes.size, `${mine.length} entries for ${codes.size} codes (${[...codes].join(', ')})`)
    for (const [code, n] of refused) {
      const ofCode = mine.filter((e) => e.outcome === code)
      const counted = ofCode.reduce((sum, e) => sum + (e.action === REPEATED_ACTION ? Number(e.detail?.count) : 1), 0)
      // Every refusal the peer received is counted; a few more may have been
      // served but not received (the peer is charged for each and cut off
      // once over budget, with answers still on the wire).
      assert.ok(counted >= n && counted <= REQUESTS, `${code}: the entries count ${counted} refusals, the peer received ${n} of ${REQUESTS} sent`)
    }
  } finally {
    await db.close()
  }
})

agg('the aggregation map is bounded: pairs beyond it share one overflow entry, and every refusal is counted', () => {
  const written: AuditEntry[] = []
  const a = new RefusalAggregator({ windowMs: 60_000, maxKeys: 3, write: (e) => { written.push(e) } })
  let sent = 0
  for (let round = 0; round < 50; round++) {
    for (let p = 0; p < 100; p++) {
      a.refused({ time: 1_000 + round, protocol: 'fetch', peer: `peer-${p}`, action: 'fetch', outcome: p % 2 === 0 ? 'ERR_NOT_FOUND' : 'ERR_TIMEOUT' })
      sent++
    }
  }
  a.close()
  assert.ok(written.length <= 2 * 3 + 1, `${written.length} entries`)
  assert.is(written.filter((e) => e.peer === OVERFLOW_PEER).length, 1)
  const counted = written.reduce((sum, e) => sum + (e.action === REPEATED_ACTION ? Number(e.detail?.count) : 1), 0)
  assert.is(counted, sent)
  a.close()
  assert.ok(written.length <= 7, 'a second close writes nothing more')
})

agg.after(async () => { await net.stop() })

agg.run()
