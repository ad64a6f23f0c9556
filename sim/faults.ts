/**
 * Byzantine behaviours for simulated site nodes. A misbehaving node runs the
 * real daemon with a different handler table: each fault swaps the fetch
 * handler for the real one built over a lying view of the node's own
 * components (so a wrong answer is exactly what a compromised holder could
 * send: correctly sealed and signed), or for one that refuses or never
 * answers. Production code never sees any of this; it only accepts a handler
 * table (node/site-node.ts `handlers`).
 *
 * @module
 */
import { HOLDER_HANDLERS, type HandlerEntry, type HolderComponents } from '../node/handlers/registry.ts'
import { fetchHandler, type FetchHandlerDeps } from '../node/handlers/fetch.ts'
import type { ShareStore } from '../node/store/share-store.ts'
import type { RequestHandler } from '../net/rpc.ts'
import { auditHandler } from '../node/handlers/audit.ts'
import { PROTOCOL } from '../protocol/constants.ts'
import { refuse } from '../protocol/errors.ts'
import { equalBytes, wipe } from '../crypto/bytes.ts'
import { silence } from './silence.ts'
import type { Behaviour } from './types.ts'

/** Misbehaviours a simulated Byzantine node can be told to show (one at a time: the first set wins, in this order). */
export interface Faults {
  /** Flip a bit in every share before sealing it (a wrong share, correctly sealed and signed). */
  corruptShares?: boolean
  /** Answer a fetch for one template with the node's share of another it holds, correctly sealed and signed. */
  wrongTemplate?: boolean
  /** Answer every fetch with a typed refusal (ERR_NOT_FOUND: "no share held here"). */
  refuseFetches?: boolean
  /** Never answer a fetch (the request ends at the node's own deadline, unanswered). */
  stallFetches?: boolean
  /** Read every share as missing, as a holder that deleted its shares would (fetch and audit answer without one). */
  loseShares?: boolean
}

/** The {@link Faults} that show one named behaviour (sim/types.ts `Behaviour`). */
export function faultsOf (behaviour: Behaviour): Faults {
  switch (behaviour) {
    case 'corrupt': return { corruptShares: true }
    case 'wrong-template': return { wrongTemplate: true }
    case 'refuse': return { refuseFetches: true }
    case 'stall': return { stallFetches: true }
  }
}

/** The store as the fetch handler reads it. */
type ShareSource = FetchHandlerDeps['store']

/** `store`, except that every share read from it has its first bit flipped. */
function corruptingStore (store: ShareSource): ShareSource {
  return {
    isErased: async (slot) => await store.isErased(slot),
    getShare: async (slot) => {
      const held = await store.getShare(slot)
      if (held !== undefined) held.share[0] ^= 0x01
      return held
    }
  }
}

/** `store`, except that no share is found in it. */
function losingStore (store: ShareSource): ShareSource {
  return { isErased: async (slot) => await store.isErased(slot), getShare: async () => undefined }
}

/** The lying view of the store a node with `faults` reads shares through, if any. */
function lyingStore (faults: Faults, store: ShareSource): ShareSource | undefined {
  if (faults.loseShares === true) return losingStore(store)
  if (faults.corruptShares === true) return corruptingStore(store)
  if (faults.wrongTemplate === true) return swappingStore(store)
  return undefined
}

/** Can this store list what it holds? (The node's store can; the handler's declared view does not say so.) */
function canList (store: object): store is Pick<ShareStore, 'ids'> {
  return typeof (store as { ids?: unknown }).ids === 'function'
}

/** The share of some template other than `slot`'s, not erased, or undefined when the node holds no other. */
async function otherShare (store: ShareSource, slot: Uint8Array): Promise<Uint8Array | undefined> {
  if (!canList(store)) return undefined
  for await (const other of store.ids()) {
    if (equalBytes(other, slot) || await store.isErased(other)) continue
    const held = await store.getShare(other)
    if (held !== undefined) return held.share
  }
  return undefined
}

/**
 * `store`, except that a share read from it is the node's share of another
 * template, under the x of the one asked for (so the handler seals and signs
 * it as that share). A node holding one template only answers truthfully.
 */
function swappingStore (store: ShareSource): ShareSource {
  return {
    isErased: async (slot) => await store.isErased(slot),
    getShare: async (slot) => {
      const held = await store.getShare(slot)
      if (held === undefined) return undefined
      const other = await otherShare(store, slot)
      if (other === undefined) return held
      wipe(held.share)
      return { x: held.x, share: other }
    }
  }
}

/** A fetch handler that refuses every request, as a holder claiming to have lost its shares would. */
function refusingFetch (): RequestHandler {
  return async () => refuse('ERR_NOT_FOUND', 'no share of this template is held here')
}

/** A fetch handler that never answers: each request ends unanswered at the node's deadline. */
function stallingFetch (): RequestHandler {
  return async (_bytes, ctx) => await silence([ctx.signal])
}

/** The fetch handler of a node showing `faults`, or undefined for an honest one. */
function lyingFetch (faults: Faults): ((c: HolderComponents) => RequestHandler) | undefined {
  if (faults.loseShares === true || faults.corruptShares === true || faults.wrongTemplate === true) {
    return (c) => fetchHandler({ ...c, store: lyingStore(faults, c.store) ?? c.store })
  }
  if (faults.refuseFetches === true) return () => refusingFetch()
  if (faults.stallFetches === true) return () => stallingFetch()
  return undefined
}

/**
 * The handler table of a node showing `faults`: the real table, with the
 * fetch entry rebuilt to lie, refuse or stall, and the audit entry reading
 * the same lying store.
 *
 * @param faults - the misbehaviours to show
 * @returns a table for `SiteNode.open({ handlers })`
 * @example await SiteNode.open({ dir, handlers: faultyHandlers({ corruptShares: true }) })
 */
export function faultyHandlers (faults: Faults): HandlerEntry[] {
  const fetch = lyingFetch(faults)
  return HOLDER_HANDLERS.map((entry) => {
    if (entry.protocol === PROTOCOL.FETCH && fetch !== undefined) return { ...entry, create: fetch }
    if (entry.protocol === PROTOCOL.AUDIT) {
      return { ...entry, create: (c: HolderComponents) => auditHandler({ ...c, store: lyingStore(faults, c.store) ?? c.store }) }
    }
    return entry
  })
}
