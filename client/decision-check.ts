/**
 * The last step of a verification: the enclave's signed decision must say
 * what the match result handed to the application says, about the manifest
 * that was fetched, for this request's nonce. The application reads `accept`
 * from the result; a relying party later checks the signed bytes; this makes
 * sure the two can never disagree.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { verifyDecision } from '../protocol/decision.ts'
import type { MatchResult } from '../enclave/enclave.ts'
import type { Manifest } from '../protocol/manifest.ts'

/** What the decision must be about. */
export interface DecisionExpectation {
  /** The enclave's decision key (its attested signer). */
  signer: Uint8Array
  manifest: Manifest
  /** Digest of the manifest's canonical bytes. */
  digest: Uint8Array
  /** The nonce the match was asked with. */
  nonce: Uint8Array
}

/**
 * Check a match result against its signed decision.
 *
 * @throws {SignatureError} ERR_BAD_SIGNATURE when the decision does not verify under the enclave's key;
 *   {BioshardError} ERR_BAD_SIGNATURE when it is signed over another template, manifest, nonce or outcome than the result reports
 * @example checkDecision(result, { signer: enclave.signer, manifest, digest, nonce })
 */
export function checkDecision (result: MatchResult, expected: DecisionExpectation): void {
  const d = verifyDecision(result.decision, expected.signer)
  const m = expected.manifest.body
  const about = equalBytes(d.templateId, m.templateId) && equalBytes(d.tenant, m.tenant) && d.seq === m.seq &&
    equalBytes(d.manifest, expected.digest) && equalBytes(d.nonce, expected.nonce)
  const says = d.accept === result.accept && d.threshold === result.threshold && d.score === result.score &&
    d.bad.length === result.bad.length && d.bad.every((x, i) => x === result.bad[i])
  if (!about) throw new BioshardError('ERR_BAD_SIGNATURE', 'the enclave signed a decision about another template, manifest or request')
  if (!says) throw new BioshardError('ERR_BAD_SIGNATURE', 'the enclave\'s signed decision contradicts the result it reported')
}
