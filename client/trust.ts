/**
 * What a verifier checks of a manifest before it fetches a single share
 * (docs/architecture.md, "Trust rules": "A verifier trusts a manifest only if
 * its tenant is the verifier's tenant and every holder it names is admitted at
 * the site it names"). The signature and tenant certificate were checked when
 * the manifest entered the client's cache; without this, a manifest naming
 * holders its author runs outside the network would have the verifier fetch
 * shares of the author's choosing from them.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import type { Manifest } from '../protocol/manifest.ts'
import { MAX_SEQ, MAX_SHARES } from '../protocol/constants.ts'
import type { Roster } from '../net/roster.ts'

/**
 * Check that a manifest may be acted on by a client of `tenant`.
 *
 * @param m - a manifest whose signature and tenant certificate have been checked
 * @param tenant - the 32-byte key of the tenant this client acts for (its verifier certificate's tenant)
 * @param roster - the admitted nodes this client knows
 * @param now - ms since the epoch
 * @throws {BioshardError} ERR_NOT_AUTHORISED for another tenant's manifest; ERR_NOT_ADMITTED when a holder is not
 *   admitted, or admitted at another site than the manifest names; ERR_BAD_REQUEST for t, n or seq out of bounds
 * @example checkManifestTrust(manifest, verifierCert.body.tenant, roster)
 */
export function checkManifestTrust (m: Manifest, tenant: Uint8Array, roster: Roster, now = Date.now()): void {
  const { body } = m
  if (!equalBytes(body.tenant, tenant) || !equalBytes(m.cert.body.key, tenant)) {
    throw new BioshardError('ERR_NOT_AUTHORISED', 'the manifest belongs to another tenant than this verifier\'s')
  }
  if (!(body.t >= 2 && body.t <= body.n && body.n <= MAX_SHARES && body.shares.length === body.n)) {
    throw new BioshardError('ERR_BAD_REQUEST', `manifest sharing t = ${body.t}, n = ${body.n} is out of bounds`)
  }
  if (!(body.seq >= 1 && body.seq <= MAX_SEQ)) throw new BioshardError('ERR_BAD_REQUEST', `manifest seq ${body.seq} is out of bounds`)
  for (const s of body.shares) {
    const admitted = roster.get(s.holder, now)
    if (admitted === undefined) throw new BioshardError('ERR_NOT_ADMITTED', `holder ${s.holder} of share ${s.x} is not an admitted node`)
    if (admitted.site !== s.site) throw new BioshardError('ERR_NOT_ADMITTED', `holder ${s.holder} is admitted at site ${admitted.site}, not ${s.site}`)
  }
}
