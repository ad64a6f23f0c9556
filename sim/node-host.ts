/**
 * Entry of a node host thread (started by sim/host-thread.ts): it runs the
 * real SiteNodes of the directories the main thread gives it, wired exactly
 * as LocalNetwork wires its own (sim/local-network.ts `wireNode`), over TCP
 * on loopback, and answers what the simulator asks of them. The link state
 * is a mirror fed by the main thread's injector; a share read for a measure
 * leaves as a transferred copy and the store's copy is wiped.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { SiteNode } from '../node/site-node.ts'
import { wipe } from '../crypto/bytes.ts'
import { restartEnv, wireNode, type NodeRunOptions } from './local-network.ts'
import { LinkShaper, closeDenied } from './link-state.ts'
import { faultyHandlers, faultsOf } from './faults.ts'
import type { HostAnswer, HostInit, HostMessage, HostRequest } from './host-protocol.ts'

const init = workerData as HostInit
/** Node index → its running (or stopped) SiteNode. */
const nodes = new Map<number, SiteNode>()
const runs = new Map<number, NodeRunOptions>()
/** Each stopped node's listen addresses, rebound on restart. */
const stoppedAddrs = new Map<number, string[]>()
let shaper: LinkShaper | undefined

function nodeAt (index: number): SiteNode {
  const node = nodes.get(index)
  if (node === undefined) throw new RangeError(`thread ${init.thread} runs no node ${index}`)
  return node
}

async function open (index: number, dir: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const options = wireNode({ index, dir, run: runs.get(index) ?? {}, hooks: () => shaper?.hooks ?? {}, reconcile: init.reconcile })
  const node = await SiteNode.open({ ...options, ...(env !== undefined ? { env } : {}) })
  await node.start()
  nodes.set(index, node)
  stoppedAddrs.delete(index)
  return node.addrs
}

async function stop (index: number): Promise<void> {
  const node = nodeAt(index)
  if (node.libp2p === undefined) return
  shaper?.stopping(index)
  stoppedAddrs.set(index, node.addrs.map((a) => a.split('/p2p/')[0]))
  await node.stop()
}

async function restart (r: Extract<HostRequest, { op: 'restart' }>): Promise<string[]> {
  const old = nodeAt(r.index)
  await stop(r.index)
  if (r.behaviour !== undefined) runs.set(r.index, { handlers: faultyHandlers(faultsOf(r.behaviour)) })
  return await open(r.index, old.dir, restartEnv(stoppedAddrs.get(r.index), r.bootstrap))
}

/** A copy of node `index`'s share for `slot`, the store's copy wiped; the copy is transferred (so no copy stays here). */
async function share (index: number, slot: Uint8Array): Promise<{ value: unknown, transfer: ArrayBuffer[] }> {
  const held = await nodeAt(index).heldShare(slot)
  if (held === undefined) return { value: undefined, transfer: [] }
  const copy = new Uint8Array(held.share)
  wipe(held.share)
  return { value: { x: held.x, share: copy }, transfer: [copy.buffer] }
}

async function slots (index: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const slot of nodeAt(index).heldSlots()) out.push(slot)
  return out
}

async function stopAll (): Promise<void> {
  await Promise.all([...nodes.values()].map(async (n) => { await n.stop() }))
}

/** Serve one request; `transfer` lists buffers to move rather than copy. */
async function serve (r: HostRequest): Promise<{ value: unknown, transfer?: ArrayBuffer[] }> {
  switch (r.op) {
    case 'open': return { value: await open(r.index, r.dir) }
    case 'restart': return { value: await restart(r) }
    case 'stop': return { value: await stop(r.index) }
    case 'slots': return { value: await slots(r.index) }
    case 'share': return await share(r.index, r.slot)
    case 'reconcile': return { value: await nodeAt(r.index).reconcile() }
    case 'connections': return { value: nodeAt(r.index).libp2p?.getConnections().map((c) => c.remotePeer.toString()) ?? [] }
    case 'rosters': return { value: [...nodes.values()].filter((n) => n.libp2p !== undefined).map((n) => n.roster.size()) }
    case 'close-denied': {
      const s = shaper
      if (s !== undefined) await closeDenied(nodes.entries(), (i, peer, dir) => s.state.denies(i, peer, dir))
      return { value: undefined }
    }
    case 'stop-all': return { value: await stopAll() }
  }
}

async function answer (id: number, request: HostRequest): Promise<void> {
  let reply: HostAnswer
  let transfer: ArrayBuffer[] = []
  try {
    const done = await serve(request)
    reply = { id, ok: true, value: done.value }
    transfer = done.transfer ?? []
  } catch (e) {
    const code = (e as { code?: unknown }).code
    reply = { id, ok: false, message: (e as Error).message, ...(typeof code === 'string' ? { code } : {}) }
  }
  parentPort?.postMessage(reply, transfer)
}

parentPort?.on('message', (m: HostMessage) => {
  if ('links' in m) shaper = new LinkShaper(m.links)
  else if ('change' in m) shaper?.apply(m.change)
  else void answer(m.id, m.request)
})
