/**
 * The roster: every admitted node this peer knows, with its site and the
 * addresses the node itself last stated. Filled by the admit protocol;
 * placement reads it. A certificate enters only if it chains to the
 * configured authority, and an entry silently drops out when its certificate
 * expires. Addresses come only from a node's own signed statement, so no relay
 * can add one ({@link Roster}). A revoked node stays in the roster as a
 * tombstone (its certificate and the authority's revocation, spread like
 * any entry) but is no longer admitted; a retiring node stays admitted but
 * marked. A roster digest (one short hash per bucket of
 * nodes) lets two peers find which buckets differ without sending entries.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { concat, equalBytes, utf8 } from '../crypto/bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { SIG } from '../crypto/tags.ts'
import type { NodeCert, TenantCert, TrustAnchor } from '../protocol/certs.ts'
import { BUCKET_HASH_BYTES, ROSTER_BUCKETS, ROSTER_DIGEST_BYTES, type RosterEntry } from '../protocol/admit.ts'
import { checkNodeAddresses, type NodeAddresses } from '../protocol/node-addresses.ts'
import { FRESHNESS_WINDOW_MS } from '../protocol/constants.ts'
import { VerifiedCache } from './policy/verified-cache.ts'
import { checkRevocation, checkRetirement, type Revocation, type Retirement, type VerifyFn } from '../protocol/revocation.ts'

export interface Admitted {
  peer: string
  site: string
  cert: NodeCert
  /** The addresses of the node's newest statement (empty until one is known). */
  addrs: string[]
  /** That statement, relayed unchanged to others. */
  statement?: NodeAddresses
  /** The authority's revocation: the node is no longer admitted (final). */
  revoked?: Revocation
  /** The node's own retirement notice: it takes no new shares (final). */
  retiring?: Retirement
}

/** The digest bucket of a node: the first byte of the hash of its peer id, modulo {@link ROSTER_BUCKETS}. */
export function bucketOf (peer: string): number {
  return sha256(utf8(peer))[0] % ROSTER_BUCKETS
}

/** The buckets whose hashes differ between two roster digests of {@link ROSTER_DIGEST_BYTES} bytes. */
export function differingBuckets (a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = []
  for (let i = 0; i < ROSTER_BUCKETS; i++) {
    const at = i * BUCKET_HASH_BYTES
    for (let j = at; j < at + BUCKET_HASH_BYTES; j++) {
      if (a[j] !== b[j]) { out.push(i); break }
    }
  }
  return out
}

/** An entry's place in the digest: its bucket and the hash of its certificate and statement signatures. */
interface Hashed { cert: NodeCert, statement: NodeAddresses | undefined, standing: unknown, bucket: number, hash: Uint8Array }

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
  /** Each entry's bucket and hash, recomputed when its certificate or statement changes. */
  private readonly hashes = new WeakMap<Admitted, Hashed>()
  /**
   * The last digest, for as long as it stands: until an offer changes an
   * entry or a certificate's validity begins or ends (`until`). Every
   * admission exchange asks for it, so recomputing it each time costs
   * every node a pass over the whole roster per exchange.
   */
  private digestCache: { value: Uint8Array, at: number, until: number } | undefined
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
    const offered = this.offerChecked(entry, now)
    if (offered === 'changed') this.digestCache = undefined
    return offered
  }

  private offerChecked (entry: RosterEntry, now: number): Offered {
    checkAuthorityCertWith(this.verified, entry.cert, this.anchor, now)
    const peer = entry.cert.body.peer
    const statement = entry.addrs
    if (statement !== undefined) {
      checkNodeAddresses(statement, peer, this.anchor.network, (tag, s, key, what) => { this.verified.checkSigned(tag, s, key, what) })
    }
    this.checkStanding(entry, peer)
    let changed: Offered = 'unchanged'
    let known = this.entries.get(peer)
    if (known === undefined || known.cert.body.na < entry.cert.body.na) {
      const kept = {
        ...(known?.statement !== undefined ? { statement: known.statement } : {}),
        ...(known?.revoked !== undefined ? { revoked: known.revoked } : {}),
        ...(known?.retiring !== undefined ? { retiring: known.retiring } : {})
      }
      known = { peer, site: entry.cert.body.site, cert: entry.cert, addrs: known?.addrs ?? [], ...kept }
      this.entries.set(peer, known)
      changed = 'changed'
    }
    if (known.revoked !== undefined) return changed
    if (statement !== undefined && statement.body.seq <= now + FRESHNESS_WINDOW_MS && statement.body.seq > (known.statement?.body.seq ?? -1)) {
      known.statement = statement
      known.addrs = [...statement.body.addrs]
      changed = 'changed'
    }
    if (entry.revoked !== undefined) {
      known.revoked = entry.revoked
      changed = 'changed'
    } else if (entry.retiring !== undefined && known.retiring === undefined) {
      known.retiring = entry.retiring
      changed = 'changed'
    }
    return changed
  }

  /** Check an entry's revocation (the authority's) and retirement notice (the node's own) before anything is stored. */
  private checkStanding (entry: RosterEntry, peer: string): void {
    const verify: VerifyFn = (tag, s, key, what) => { this.verified.checkSigned(tag, s, key, what) }
    if (entry.revoked !== undefined) checkRevocation(entry.revoked, peer, this.anchor, verify)
    if (entry.retiring !== undefined) checkRetirement(entry.retiring, peer, this.anchor.network, verify)
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

  /** The admitted entry for `peer`, or undefined if unknown, expired or revoked. */
  get (peer: string, now = Date.now()): Admitted | undefined {
    const e = this.known(peer, now)
    return e?.revoked === undefined ? e : undefined
  }

  /** The entry for `peer` while its certificate is valid, revoked or not (what gossip relays). */
  known (peer: string, now = Date.now()): Admitted | undefined {
    const e = this.entries.get(peer)
    if (e === undefined) return undefined
    if (now > e.cert.body.na || now < e.cert.body.nb) return undefined
    return e
  }

  /** Whether the authority has revoked `peer` (as far as this roster has heard). */
  isRevoked (peer: string): boolean {
    return this.entries.get(peer)?.revoked !== undefined
  }

  /** Whether `peer` has announced that it is retiring. */
  isRetiring (peer: string): boolean {
    return this.entries.get(peer)?.retiring !== undefined
  }

  isAdmitted (peer: string, now = Date.now()): boolean {
    return this.get(peer, now) !== undefined
  }

  /** Every admitted node (valid and not revoked); expired entries are removed on the way. */
  list (now = Date.now()): Admitted[] {
    return this.all(now).filter((e) => e.revoked === undefined)
  }

  /** Every entry with a valid certificate, revoked ones too (what the digest covers); expired ones are removed on the way. */
  private all (now: number): Admitted[] {
    const out: Admitted[] = []
    for (const [peer, e] of this.entries) {
      if (now > e.cert.body.na) { this.entries.delete(peer); continue }
      if (now >= e.cert.body.nb) out.push(e)
    }
    return out
  }

  /**
   * The roster digest: per bucket, the XOR of the hashes of its valid
   * entries (certificate and statement signatures, so a newer certificate or
   * statement changes it).
   */
  digest (now = Date.now()): Uint8Array {
    const cached = this.digestCache
    if (cached !== undefined && now >= cached.at && now < cached.until) return cached.value.slice()
    const out = new Uint8Array(ROSTER_DIGEST_BYTES)
    for (const e of this.all(now)) {
      const h = this.hashed(e)
      const at = h.bucket * BUCKET_HASH_BYTES
      for (let i = 0; i < BUCKET_HASH_BYTES; i++) out[at + i] ^= h.hash[i]
    }
    this.digestCache = { value: out.slice(), at: now, until: this.nextValidityChange(now) }
    return out
  }

  /** The first moment after `now` at which an entry's certificate becomes valid or expires. */
  private nextValidityChange (now: number): number {
    let next = Number.POSITIVE_INFINITY
    for (const e of this.entries.values()) {
      const change = now < e.cert.body.nb ? e.cert.body.nb : e.cert.body.na + 1
      if (change < next) next = change
    }
    return next
  }

  /** The valid entries in `buckets`, revoked ones too. */
  inBuckets (buckets: ReadonlySet<number>, now = Date.now()): Admitted[] {
    return this.all(now).filter((e) => buckets.has(this.hashed(e).bucket))
  }

  /** The digest bucket of an entry of this roster. */
  bucketOf (e: Admitted): number {
    return this.hashed(e).bucket
  }

  private hashed (e: Admitted): Hashed {
    const known = this.hashes.get(e)
    const standing = e.revoked ?? e.retiring
    if (known !== undefined && known.cert === e.cert && known.statement === e.statement && known.standing === standing) return known
    // A revoked entry is relayed as its certificate and revocation alone, so that is all its hash covers.
    const parts = e.revoked !== undefined
      ? [e.cert.sig, e.revoked.sig]
      : [e.cert.sig, ...(e.statement !== undefined ? [e.statement.sig] : []), ...(e.retiring !== undefined ? [e.retiring.sig] : [])]
    const hash = sha256(concat(...parts)).subarray(0, BUCKET_HASH_BYTES)
    const h = { cert: e.cert, statement: e.statement, standing, bucket: known?.bucket ?? bucketOf(e.peer), hash }
    this.hashes.set(e, h)
    return h
  }

  /** Number of currently admitted nodes. */
  size (now = Date.now()): number {
    return this.list(now).length
  }
}
