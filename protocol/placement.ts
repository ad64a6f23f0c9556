/**
 * Placement: which admitted node holds share i of a template. Candidates are
 * ranked by Kademlia XOR distance between the node's DHT key (SHA-256 of its
 * peer id, as kad-dht computes it) and `H(templateId || i)`, computed
 * locally from the admission roster. The roster, not a DHT walk, is the
 * source of truth: walks are slow and lossy at scale, and a roster entry is
 * authority-signed, so a Sybil cannot place itself by choosing its id alone.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { sha256, taggedHash } from '../crypto/hash.ts'
import { HASH } from '../crypto/tags.ts'

/** A roster entry as placement sees it. */
export interface Candidate { peer: string, site: string }

const dhtKeys = new Map<string, Uint8Array>()

/** The kad-dht key of a peer: SHA-256 of its peer id bytes (multihash). */
export function dhtKeyOf (peer: string): Uint8Array {
  let k = dhtKeys.get(peer)
  if (k === undefined) {
    k = sha256(peerIdFromString(peer).toMultihash().bytes)
    if (dhtKeys.size > 100_000) dhtKeys.clear()
    dhtKeys.set(peer, k)
  }
  return k
}

/** The placement target of share `x`: `H(templateId || x)`. */
export function placementTarget (templateId: Uint8Array, x: number): Uint8Array {
  return taggedHash(HASH.PLACEMENT, templateId, Uint8Array.of(x))
}

/** Compare two XOR distances to `target` (negative when `a` is closer). */
export function compareDistance (a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const da = a[i] ^ target[i]
    const db = b[i] ^ target[i]
    if (da !== db) return da - db
  }
  return 0
}

/** Candidates ordered by XOR distance to share `x`'s target, closest first. */
export function rankCandidates (templateId: Uint8Array, x: number, candidates: readonly Candidate[]): Candidate[] {
  const target = placementTarget(templateId, x)
  return [...candidates].sort((a, b) => compareDistance(dhtKeyOf(a.peer), dhtKeyOf(b.peer), target))
}

/**
 * Choose holders for the shares with x-coordinates `xs`: for each x the
 * closest candidate whose site is not used yet and that `usable` accepts.
 * Returns undefined for an x with no candidate left (fewer distinct sites).
 */
export function choosePlacement (
  templateId: Uint8Array, xs: readonly number[], candidates: readonly Candidate[], usable: (c: Candidate) => boolean = () => true
): Array<Candidate | undefined> {
  const usedSites = new Set<string>()
  const out: Array<Candidate | undefined> = []
  for (const x of xs) {
    const pick = rankCandidates(templateId, x, candidates).find((c) => !usedSites.has(c.site) && usable(c))
    if (pick !== undefined) usedSites.add(pick.site)
    out.push(pick)
  }
  return out
}
