/**
 * Fuzz targets for a node's standing as the roster gossips it: the
 * authority's revocation and the node's own retirement notice, each decoded
 * standalone and then checked as a roster does (protocol/revocation.ts,
 * for the peer the captured record names). An accepted record's decoded
 * body must re-encode to exactly its signed bytes.
 *
 * @module
 */
import { decodeCanonical, encodeCanonical } from '../../crypto/canonical.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { readRevocation, readRetirement, checkRevocation, checkRetirement } from '../../protocol/revocation.ts'
import { checkSigned } from '../../protocol/signed.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { bytesInput, raw, sameSigned, CHECKED, EMBEDDED_MAX } from './targets-wire.ts'
import { consistent, type Target } from './target.ts'

/** The revocation and retirement targets; the records are judged for the peers the captured ones name. */
export function standingTargets (corpus: Map<string, Uint8Array[]>, anchor: TrustAnchor): Target[] {
  const revocations = corpus.get('revocation') ?? []
  const retirements = corpus.get('retirement') ?? []
  if (revocations.length === 0 || retirements.length === 0) return []
  const embedded = (b: unknown, what: string): unknown => decodeCanonical(b as Uint8Array, EMBEDDED_MAX, what)
  const revokedPeer = readRevocation(embedded(revocations[0], 'revocation')).body.peer
  const retiringPeer = readRetirement(embedded(retirements[0], 'retirement notice')).body.peer
  const same = (body: object, bytes: Uint8Array, what: string): void => {
    consistent(equalBytes(encodeCanonical(body), bytes), `${what}: the decoded body re-encodes differently`)
  }
  return [
    {
      name: 'revocation',
      fn: 'readRevocation, checkRevocation (protocol/revocation.ts)',
      refusals: [...CHECKED, 'ERR_BAD_REQUEST'],
      input: bytesInput(revocations),
      run: (b) => {
        const r = readRevocation(embedded(b, 'revocation'))
        sameSigned(r, raw(b as Uint8Array), 'revocation')
        same(r.body, r.bytes, 'revocation')
        checkRevocation(r, revokedPeer, anchor, checkSigned)
      }
    },
    {
      name: 'retirement',
      fn: 'readRetirement, checkRetirement (protocol/revocation.ts)',
      refusals: [...CHECKED, 'ERR_BAD_REQUEST'],
      input: bytesInput(retirements),
      run: (b) => {
        const r = readRetirement(embedded(b, 'retirement notice'))
        sameSigned(r, raw(b as Uint8Array), 'retirement notice')
        same(r.body, r.bytes, 'retirement notice')
        checkRetirement(r, retiringPeer, anchor.network, checkSigned)
      }
    }
  ]
}
