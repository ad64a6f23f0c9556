/**
 * Corpus capture for roster standing and digests: the authority revokes one
 * node (keys/authority.ts `revokeNode`) and another signs its own retirement
 * notice with its peer key, both gossiped to a node in an admit request that
 * carries a roster digest; the node's answers to a digest that differs
 * everywhere (the whole roster, revoked and retiring entries included) and
 * to its own digest (nothing to send) are kept, with the two records alone.
 * Runs last: the revoked node is cut off from then on.
 *
 * @module
 */
import type { LocalNetwork } from '../../sim/local-network.ts'
import { revokeNode } from '../../keys/authority.ts'
import { loadKeys } from '../../node/keys.ts'
import { encodeAdmitMessage, ROSTER_DIGEST_BYTES, type RosterEntry } from '../../protocol/admit.ts'
import { readRetirement, signRetirement } from '../../protocol/revocation.ts'
import { makeClientProof } from '../../protocol/client-proof.ts'
import { toWire } from '../../protocol/signed.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { wipe } from '../../crypto/bytes.ts'
import type { CaptureIo } from './capture-audit.ts'

/** Revoke the last node, retire the one before it, gossip both with a digest and record the exchanges. */
export async function captureRoster (net: LocalNetwork, io: CaptureIo): Promise<void> {
  const [target, leaving] = [net.nodes[net.nodes.length - 1], net.nodes[net.nodes.length - 2]]
  const peer = net.nodes[0].cert.body.peer
  const revoked = revokeNode(net.authority, target.cert)
  const keys = await loadKeys(leaving.dir)
  wipe(keys.storageKey)
  const notice = signRetirement(keys.signing, { network: net.info.network, peer: leaving.cert.body.peer, at: Date.now() })
  const retiring: RosterEntry = { cert: leaving.cert, retiring: readRetirement(notice) }
  io.keep('revocation-0', encodeCanonical(toWire(revoked.revoked as NonNullable<RosterEntry['revoked']>)))
  io.keep('retirement-0', encodeCanonical(notice))

  const tenant = net.tenant('gossiping')
  const proof = () => makeClientProof({ key: tenant.key, cert: tenant.wire }, net.anchor.network, io.sender, Date.now())
  const own = net.nodes[0].roster.digest()
  const news = encodeAdmitMessage([revoked, retiring], proof(), own)
  io.keep('admit-request-2', news)
  io.keep('admit-response-1', await io.send(peer, PROTOCOL.ADMIT, news))
  // A digest that matches no bucket: the answer is the whole roster, with both records, and the node's digest.
  const blank = encodeAdmitMessage([], proof(), new Uint8Array(ROSTER_DIGEST_BYTES))
  io.keep('admit-request-3', blank)
  io.keep('admit-response-2', await io.send(peer, PROTOCOL.ADMIT, blank))
  // The node's own digest now: nothing differs, so the answer is its digest alone.
  const same = encodeAdmitMessage([], proof(), net.nodes[0].roster.digest())
  io.keep('admit-request-4', same)
  io.keep('admit-response-3', await io.send(peer, PROTOCOL.ADMIT, same))
}
