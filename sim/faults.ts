/**
 * Byzantine behaviours for simulated site nodes. A misbehaving node runs the
 * real daemon with a different handler table: each fault swaps one handler
 * for the real one built over a lying view of the node's own components, so
 * the answer is exactly what a compromised holder could send (correctly
 * sealed and signed, but wrong). Production code never sees any of this; it
 * only accepts a handler table (node/site-node.ts `handlers`).
 *
 * @module
 */
import { HOLDER_HANDLERS, type HandlerEntry, type HolderComponents } from '../node/handlers/registry.ts'
import { fetchHandler, type FetchHandlerDeps } from '../node/handlers/fetch.ts'
import { auditHandler } from '../node/handlers/audit.ts'
import { PROTOCOL } from '../protocol/constants.ts'

/** Misbehaviours a simulated Byzantine node can be told to show. */
export interface Faults {
  /** Flip a bit in every share before sealing it (a wrong share, correctly sealed and signed). */
  corruptShares?: boolean
  /** Read every share as missing, as a holder that deleted its shares would (fetch and audit answer without one). */
  loseShares?: boolean
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
  return undefined
}

/**
 * The handler table of a node showing `faults`: the real table, with the
 * entries a fault concerns rebuilt over a lying view of the node's components.
 *
 * @param faults - the misbehaviours to show
 * @returns a table for `SiteNode.open({ handlers })`
 * @example await SiteNode.open({ dir, handlers: faultyHandlers({ corruptShares: true }) })
 */
export function faultyHandlers (faults: Faults): HandlerEntry[] {
  return HOLDER_HANDLERS.map((entry) => {
    if (entry.protocol === PROTOCOL.FETCH) {
      return { ...entry, create: (c: HolderComponents) => fetchHandler({ ...c, store: lyingStore(faults, c.store) ?? c.store }) }
    }
    if (entry.protocol === PROTOCOL.AUDIT) {
      return { ...entry, create: (c: HolderComponents) => auditHandler({ ...c, store: lyingStore(faults, c.store) ?? c.store }) }
    }
    return entry
  })
}
