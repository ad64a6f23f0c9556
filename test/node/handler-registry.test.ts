/**
 * The handler table covers every bioshard protocol a node serves: each id in
 * protocol/constants.ts is either a table entry or named as served elsewhere
 * (the DHT, admission), never both; and a real started node registers
 * exactly those ids. A protocol added without a handler fails here.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { LocalNetwork } from '../../sim/local-network.ts'
import { HOLDER_HANDLERS, SERVED_ELSEWHERE } from '../../node/handlers/registry.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES } from '../../protocol/constants.ts'

const ids = Object.values(PROTOCOL) as string[]
const table = HOLDER_HANDLERS.map((h) => h.protocol)
const registry = suite('handler table')

registry('every protocol id is in the table or served elsewhere, and none is both', () => {
  const elsewhere = Object.keys(SERVED_ELSEWHERE)
  for (const id of ids) assert.ok(table.includes(id) !== elsewhere.includes(id), `${id}: in the table or served elsewhere, exactly once`)
  for (const id of [...table, ...elsewhere]) assert.ok(ids.includes(id), `${id} is a protocol id of protocol/constants.ts`)
  assert.is(new Set(table).size, table.length, 'no protocol is registered twice')
})

registry('every entry is bounded by its protocol\'s largest message', () => {
  for (const h of HOLDER_HANDLERS) {
    assert.is(h.limits.maxRequestBytes, MAX_MESSAGE_BYTES[h.protocol as keyof typeof MAX_MESSAGE_BYTES], h.protocol)
  }
})

registry('a started node serves every bioshard protocol id and no other', async () => {
  const net = await LocalNetwork.start({ nodes: 1 })
  try {
    const served = (net.nodes[0].libp2p?.getProtocols() ?? []).filter((p) => p.startsWith('/bioshard/'))
    assert.equal([...served].sort(), [...ids].sort())
  } finally {
    await net.stop()
  }
})

registry.run()
