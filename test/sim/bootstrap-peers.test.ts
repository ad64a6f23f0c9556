/**
 * Which peers a starting node bootstraps to: the first node always, and in a
 * large network two more of the nodes already up, spread over them, so no
 * single node answers every join.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { bootstrapPeers } from '../../sim/local-network.ts'

const peers = suite('bootstrapPeers')
const addrs = Array.from({ length: 1_000 }, (_, i) => `/ip4/127.0.0.1/tcp/${10_000 + i}`)

peers('the first nodes of a start bootstrap to the first node alone', () => {
  for (let up = 1; up <= 3; up++) assert.equal(bootstrapPeers(up, addrs.slice(0, up)), [addrs[0]], `${up} up`)
})

peers('later nodes add two distinct nodes that are up', () => {
  for (let i = 4; i < 1_000; i++) {
    const up = addrs.slice(0, Math.max(4, i - (i % 7))) // some nodes before this one may still be starting
    const got = bootstrapPeers(i, up)
    assert.is(got[0], addrs[0])
    assert.ok(got.length >= 2 && got.length <= 3, `node ${i}: ${got.length}`)
    assert.is(new Set(got).size, got.length, 'no address twice')
    for (const a of got) assert.ok(up.includes(a), `node ${i} bootstraps to ${a}, which is not up`)
  }
})

peers('joins spread over the network: at 1,000 nodes no node but the first is a bootstrap peer of more than 2 % of the joins', () => {
  const count = new Map<string, number>()
  for (let i = 1; i < 1_000; i++) for (const a of bootstrapPeers(i, addrs.slice(0, i)).slice(1)) count.set(a, (count.get(a) ?? 0) + 1)
  assert.ok(Math.max(...count.values()) <= 40, `most: ${Math.max(...count.values())}`)
  assert.ok(count.size > 400, `spread over ${count.size} nodes`)
})

peers.run()
