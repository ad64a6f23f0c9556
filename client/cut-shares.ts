/**
 * The CPU-bound part of an enrolment attempt, apart from the network: the
 * template sealed under a fresh data key, split into n shares, and each
 * share's hash and audit commitments. It touches no key and no socket, so it
 * can run on another thread while this one talks to holders (the simulator
 * runs it in a worker); the enrolment flow takes whichever cutter it is given.
 *
 * @module
 */
import { wipe } from '../crypto/bytes.ts'
import { encryptTemplate } from '../crypto/envelope.ts'
import { splitSecret, commitShare, type Share } from '../crypto/shares.ts'
import { auditCommitment } from '../crypto/possession.ts'

/** What a share cut needs besides the template: what the envelope binds, and the sharing's parameters. */
export interface CutJob {
  templateId: Uint8Array
  modality: 'face' | 'voice'
  model: string
  t: number
  n: number
}

/** The shares of one attempt with, in the same order, each share's hash commitment and audit commitment. */
export interface CutShares {
  /** Secret: the caller wipes every share's bytes. */
  shares: Share[]
  commitments: Uint8Array[]
  audits: Uint8Array[]
}

/** Seal, split and commit one template (`secret` is read, never kept or changed). */
export type ShareCutter = (secret: Uint8Array, job: CutJob) => Promise<CutShares>

/**
 * Seal `secret` under a fresh data key bound to the job's id, modality and
 * model, split the sealed bytes t-of-n, and commit to each share. The sealed
 * bytes are wiped; on failure the shares are too.
 *
 * @throws {TypeError|RangeError} naming a malformed argument
 * @example const { shares, commitments, audits } = await cutShares(template, { templateId, modality: 'face', model, t: 3, n: 5 })
 */
export async function cutShares (secret: Uint8Array, job: CutJob): Promise<CutShares> {
  const sealed = encryptTemplate(secret, { templateId: job.templateId, modality: job.modality, model: job.model })
  let shares: Share[] = []
  try {
    shares = await splitSecret(sealed, job.t, job.n)
    const commitments = shares.map((s) => commitShare(job.templateId, s))
    const audits = shares.map((s) => auditCommitment(job.templateId, s))
    return { shares, commitments, audits }
  } catch (e) {
    for (const s of shares) wipe(s.bytes)
    throw e
  } finally {
    wipe(sealed)
  }
}
