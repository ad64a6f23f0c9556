/**
 * The roster: every admitted node this peer knows, with its site and the
 * addresses the node itself last stated. Filled by the admit protocol;
 * placement reads it. A certificate enters only if it chains to the
 * configured authority, and an entry silently drops out when its certificate
 * expires. Addresses come only from a node's own signed statement, so no relay
 * can add one ({@link Roster}).
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { SIG } from '../crypto/tags.ts'
import type { NodeCert, TenantCert, TrustAnchor } from '../protocol/certs.ts'
import type { RosterEntry } from '../protocol/admit.ts'
import { checkNodeAddresses, type NodeAddresses } from '../protocol/node-addresses.ts'
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import { VerifiedCache } from './policy/verified-cache.ts'

export interface Admitted {
  peer: string
  site: string
  cert: NodeCert
  /** The addresses of the node's newest statement (empty until one is known). */
  addrs: string[]
  /** That statement, relayed unchanged to others. */
  statement?: NodeAddresses
}

/** What offering an entry did: `changed` when it added a node, a newer certificate or newer addresses. */
export type Offered = 'changed' | 'unchanged'

function checkWindow (nb: number, na: number, now: number, what: string): void {
  if (now < nb) throw new BioshardError('ERR_EXPIRED', `${what} is not valid until ${new Date(nb).toISOString()}`)
  if (now > na) throw new BioshardError('ERR_EXPIRED', `${what} expired at ${new Date(na).toISOString()}`)
}

/**
 * `checkNodeCert` (and `checkTenantCert`) from protocol/certs.ts with the
 * signature check remembered in `cache`; issuer, network and validity window
 * are checked on every call, in the same order and with the same codes.
 */
export function checkAuthorityCertWith (cache: VerifiedCache, cert: NodeCert | TenantCert, anchor: TrustAnchor, now: number): void {
  const what = `${cert.body.kind} certificate`
  if (cert.body.network !== anchor.network) throw new BioshardError('ERR_NOT_ADMITTED', `${what} is for network ${cert.body.network}, not ${anchor.network}`)
  if (!anchor.authorities.some((a) => equalBytes(a, cert.body.issuer))) throw new BioshardError('ERR_NOT_ADMITTED', `${what} is issued by an unknown authority`)
  cache.checkSigned(SIG.AUTHORITY_CERT, cert, cert.body.issuer, what)
  checkWindow(cert.body.nb, cert.body.na, now, what)
}

/**
 * The admitted nodes one peer knows.
 *
 * Addresses come only from a node's own signed statement
 * (protocol/node-addresses.ts): a statement with a higher `seq` replaces the
 * entry's addresses as a whole, so nothing accumulates. Signatures already
 * verified (certificates and statements are gossiped again and again, byte
 * for byte) are remembered in a bounded cache, so a repeated entry costs a
 * hash, not a verify.
 */
export class Roster {
  private readonly entries = new Map<string, Admitted>()
  readonly anchor: TrustAnchor
  /** Signatures of certificates and statements already verified. */
  readonly verified: VerifiedCache

  constructor (anchor: TrustAnchor, verified = new VerifiedCache()) {
    this.anchor = anchor
    this.verified = verified
  }

  /**
   * Offer an entry: its certificate must be valid now; its statement, if
   * any, must be the node's own. A newer certificate replaces an older one;
   * a statement with a higher `seq` replaces the addresses (a stale or
   * future-dated one is ignored).
   *
   * @throws {BioshardError} ERR_NOT_ADMITTED, ERR_BAD_SIGNATURE, ERR_EXPIRED or ERR_BAD_REQUEST for an entry that is not valid
   */
  offer (entry: RosterEntry, now = Date.now()): Offered {
    checkAuthorityCertWith(this.verified, entry.cert, this.anchor, now)
    const peer = entry.cert.body.peer
    const statement = entry.addrs
    if (statement !== undefined) {
      checkNodeAddresses(statement, peer, this.anchor.network, (tag, s, key, what) => { this.verified.checkSigned(tag, s, key, what) })
    }
    let changed: Offered = 'unchanged'
    let known = this.entries.get(peer)
    if (known === undefined || known.cert.body.na < entry.cert.body.na) {
      const kept = known?.statement !== undefined ? { statement: known.statement } : {}
      known = { peer, site: entry.cert.body.site, cert: entry.cert, addrs: known?.addrs ?? [], ...kept }
      this.entries.set(peer, known)
      changed = 'changed'
    }
    if (statement !== undefined && statement.body.seq <= now + FRESHNESS_WINDOW_MS && statement.body.seq > (known.statement?.body.seq ?? -1)) {
      known.statement = statement
      known.addrs = [...statement.body.addrs]
      changed = 'changed'
    }
    return changed
  }

  /**
   * Add or refresh an entry. Returns true when the roster changed (a new
   * peer, a newer certificate or a newer address statement); invalid entries
   * are dropped.
   */
  add (entry: RosterEntry, now = Date.now()): boolean {
    try {
      return this.offer(entry, now) === 'changed'
    } catch {
      return false
    }
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
