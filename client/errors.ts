/**
 * The verifier library's errors that carry data besides their code: which
 * holders refused a fetch or sent a bad share, which enrolment was left
 * behind. Each keeps the code of the registry (errors.ts), so applications
 * that match on `code` see the same failure; the data is typed here instead
 * of being read back from an untyped object.
 *
 * @module
 */
import { BioshardError, type ErrorCode } from '../errors.ts'

/** A holder that refused a fetch or did not answer, with the code it gave (or ERR_TIMEOUT / ERR_ABORTED). */
export interface Refusal { readonly holder: string, readonly x: number, readonly code: string }

/**
 * A holder whose share failed its commitment or did not open, with whether
 * its signature on the response verifies (the evidence that this holder sent it).
 */
export interface BadShare { readonly x: number, readonly holder: string, readonly signed: boolean }

/**
 * Fewer than t good shares of a template could be fetched. The code is the
 * one most telling for the caller: ERR_ERASED when any holder says the
 * template was erased; ERR_NOT_AUTHORISED, ERR_EXPIRED or ERR_RATE_LIMITED
 * when every refusal says so; ERR_QUORUM_UNAVAILABLE otherwise.
 *
 * @example
 * try { await client.verify(o) } catch (e) {
 *   if (e instanceof QuorumError) for (const r of e.refused) console.log(r.holder, r.code)
 * }
 */
export class QuorumError extends BioshardError {
  /** Holders that refused or did not answer, in the order they did. */
  readonly refused: readonly Refusal[]
  /** Holders named for a bad share. */
  readonly bad: readonly BadShare[]
  constructor (code: ErrorCode, message: string, facts: { refused: readonly Refusal[], bad: readonly BadShare[] }, options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'QuorumError'
    this.refused = Object.freeze([...facts.refused])
    this.bad = Object.freeze([...facts.bad])
  }
}

/** Which step of an enrolment failed: storing the shares, or publishing the manifest. */
export type EnrollStage = 'store' | 'publish'

/**
 * An enrolment that failed after shares were stored: the id they were
 * stored under, and the holders whose share could not be erased.
 *
 * @example
 * try { await client.enroll(o) } catch (e) {
 *   if (e instanceof EnrollError && e.uncleaned.length > 0) schedule(e.templateId, e.uncleaned)
 * }
 */
export class EnrollError extends BioshardError {
  /** The template id of the failed attempt. */
  readonly templateId: Uint8Array
  /** Peer ids of holders that may still keep a share of it. */
  readonly uncleaned: readonly string[]
  /** Which step failed. */
  readonly stage: EnrollStage
  constructor (code: ErrorCode, message: string, facts: { templateId: Uint8Array, uncleaned: readonly string[], stage: EnrollStage }, options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'EnrollError'
    this.templateId = facts.templateId
    this.uncleaned = Object.freeze([...facts.uncleaned])
    this.stage = facts.stage
  }
}

/** Refusal codes that speak for the whole quorum when every holder gives them (ERR_ERASED: when any does). */
const TELLING_CODES = ['ERR_ERASED', 'ERR_NOT_AUTHORISED', 'ERR_EXPIRED', 'ERR_RATE_LIMITED'] as const

/**
 * The code a failed fetch reports, from its refusals (see {@link QuorumError}).
 *
 * @example quorumCode([{ holder, x: 1, code: 'ERR_ERASED' }]) // 'ERR_ERASED'
 */
export function quorumCode (refused: readonly Refusal[]): ErrorCode {
  if (refused.length === 0) return 'ERR_QUORUM_UNAVAILABLE'
  for (const c of TELLING_CODES) {
    if (refused.some((r) => r.code === c) && (c === 'ERR_ERASED' || refused.every((r) => r.code === c))) return c
  }
  return 'ERR_QUORUM_UNAVAILABLE'
}
