/**
 * The network maintenance tests run on: eight real nodes at eight sites, a
 * tenant (acme) with a client and a raw client host, a second tenant
 * (mallory), and one template enrolled t = 3 of n = 5, plus the reads those
 * tests make of it (the shares each holder holds, whether t of them open the
 * template, whether verify accepts). One setup for every maintenance suite.
 */
import * as assert from 'uvu/assert'
import { LocalNetwork, type Tenant } from '../../sim/local-network.ts'
import { createClient, type Client } from '../../client/client.ts'
import { syntheticIdentity, syntheticProbe, prng } from '../../sim/synthetic.ts'
import { combineShares, type Share } from '../../crypto/shares.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { slotKey } from '../../protocol/ownership.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { SiteNode } from '../../node/site-node.ts'
import { clientHost } from './enrol.ts'

/** The model name of the enrolled synthetic template. */
const MODEL = 'synthetic-128'

/** What {@link maintainNetwork} started, and reads over it. */
export interface MaintainNetwork {
  net: LocalNetwork
  tenant: Tenant
  mallory: Tenant
  /** A client with acme's tenant credentials. */
  client: Client
  /** A bare client host certified for acme, for hand-driven rounds (RawRound). */
  raw: Awaited<ReturnType<typeof clientHost>>
  /** The enrolled template's id and its storage slot. */
  id: Uint8Array
  slot: Uint8Array
  /** The running node with this peer id. */
  nodeOf: (peer: string) => SiteNode
  /** The index of the node with this peer id (running or not). */
  indexOf: (peer: string) => number
  /** The holders a manifest lists, in order. */
  peersOf: (m: Manifest) => string[]
  /** The share each holder of `m` holds now, in manifest order (the caller may wipe them). */
  held: (m: Manifest) => Promise<Share[]>
  /** The template these shares open to (throws when they do not). */
  opens: (shares: Share[]) => Promise<Uint8Array>
  /** Whether verify accepts a fresh probe of the enrolled identity. */
  accepts: () => Promise<boolean>
  /** Stop the client, the raw host and the network. */
  stop: () => Promise<void>
}

/**
 * Start the maintenance test network and enrol one template.
 *
 * @param options.metrics - serve each node's /metrics (SiteNode.metricsUrl)
 * @example const { client, id, held } = await maintainNetwork()
 */
export async function maintainNetwork (options: { metrics?: boolean } = {}): Promise<MaintainNetwork> {
  const net = await LocalNetwork.start({ nodes: 8, sites: 8, ...(options.metrics === true ? { metrics: true } : {}) })
  await net.converged()
  const tenant = net.tenant('acme')
  const mallory = net.tenant('mallory')
  const credential = { key: tenant.key, cert: tenant.wire }
  const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: credential } })
  const raw = await clientHost(net, { credential })
  const rand = prng(16)
  const alice = syntheticIdentity(128, rand)
  const enrolled = await client.enroll({ template: alice.slice(), modality: 'face', model: MODEL, t: 3, n: 5, policy: { ratePerMinute: 600, burst: 600 } })
  const id = enrolled.templateId
  const slot = slotKey(tenant.key.publicKey, id)
  const context = { templateId: id, modality: 'face' as const, model: MODEL }
  const nodeOf = (peer: string): SiteNode => net.nodes.find((n) => n.libp2p !== undefined && n.cert.body.peer === peer) as SiteNode
  return {
    net,
    tenant,
    mallory,
    client,
    raw,
    id,
    slot,
    nodeOf,
    indexOf: (peer) => net.nodes.findIndex((n) => n.cert.body.peer === peer),
    peersOf: (m) => m.body.shares.map((s) => s.holder),
    held: async (m) => await Promise.all(m.body.shares.map(async (e) => {
      const h = await nodeOf(e.holder).heldShare(slot)
      assert.ok(h !== undefined, `holder of x ${e.x} holds a share`)
      return { x: h.x, bytes: h.share }
    })),
    opens: async (shares) => decryptTemplate(await combineShares(shares), context),
    accepts: async () => (await client.verify({ templateId: id, probe: syntheticProbe(alice, rand), purpose: 'login' })).accept,
    stop: async () => {
      await raw.stop()
      await client.close()
      await net.stop()
    }
  }
}
