/**
 * The roster: every admitted node this peer knows, with its site and last
 * known addresses. Filled by the admit protocol; placement reads it. A
 * certificate enters only if it chains to the configured authority, and an
 * entry silently drops out when its certificate expires.
 *
 * @module
 */
import { checkNodeCert, type NodeCert, type TrustAnchor } from '../protocol/certs.ts'
import type { RosterEntry } from '../protocol/admit.ts'

export interface Admitted { peer: string, site: string, cert: NodeCert, addrs: string[] }

export class Roster {
  private readonly entries = new Map<string, Admitted>()
  readonly anchor: TrustAnchor

  constructor (anchor: TrustAnchor) {
    this.anchor = anchor
  }

  /**
   * Add or refresh an entry. Returns true when the roster changed (a new peer,
   * a newer certificate or new addresses); invalid certificates are dropped.
   */
  add (entry: RosterEntry, now = Date.now()): boolean {
    try {
      checkNodeCert(entry.cert, this.anchor, now)
    } catch {
      return false
    }
    const peer = entry.cert.body.peer
    const known = this.entries.get(peer)
    if (known !== undefined && known.cert.body.na >= entry.cert.body.na) {
      const addrs = entry.addrs.filter((a) => !known.addrs.includes(a))
      if (addrs.length === 0) return false
      known.addrs = [...addrs, ...known.addrs].slice(0, 8)
      return true
    }
    this.entries.set(peer, { peer, site: entry.cert.body.site, cert: entry.cert, addrs: entry.addrs.slice(0, 8) })
    return true
  }

  /** The admitted entry for `peer`, or undefined if unknown or expired. */
  get (peer: string, now = Date.now()): Admitted | undefined {
    const e = this.entries.get(peer)
    if (e === undefined) return undefined
    if (now > e.cert.body.na || now < e.cert.body.nb) return undefined
    return e
  }

  isAdmitted (peer: string, now = Date.now()): boolean {
    return this.get(peer, now) !== undefined
  }

  /** Every currently valid entry; expired ones are removed on the way. */
  list (now = Date.now()): Admitted[] {
    const out: Admitted[] = []
    for (const [peer, e] of this.entries) {
      if (now > e.cert.body.na) { this.entries.delete(peer); continue }
      if (now >= e.cert.body.nb) out.push(e)
    }
    return out
  }

  /** Number of currently admitted nodes. */
  size (now = Date.now()): number {
    return this.list(now).length
  }
}
