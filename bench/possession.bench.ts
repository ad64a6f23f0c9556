/**
 * What one possession audit costs (crypto/possession.ts): the holder's proof,
 * the auditor's check, the commitment made at enrolment or after a refresh,
 * and the proof's size, for a 128-d and a 512-d float32 template's share, beside an
 * Ed25519 signature over the same bytes (the response is signed anyway).
 *
 * Run alone: `node bench/possession.bench.ts` (prints a table).
 *
 * @module
 */
import { auditCommitment, proveAudit, verifyAudit, auditProofBytes } from '../crypto/possession.ts'
import { generateSigningKey, sign } from '../crypto/sign.ts'
import { randomBytes } from '../crypto/bytes.ts'
import { SIG } from '../crypto/tags.ts'
import { envelopeOverhead } from '../crypto/envelope.ts'
import { measure, progress, printTable, type BenchResult, type MeasureOptions } from './harness.ts'

/** Share sizes: the envelope of a 128-d and of a 512-d float32 embedding. */
const SHARE_BYTES = [512 + envelopeOverhead(), 2_048 + envelopeOverhead()] as const
const OPTIONS: MeasureOptions = { iterations: 20, warmup: 5, minTimeMs: 300 }

/**
 * @returns one result per operation and share size
 * @example printTable(await run(), 'possession')
 */
export async function run (): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const key = generateSigningKey().key
  for (const length of SHARE_BYTES) {
    progress(`possession: ${length}-byte share, proof ${auditProofBytes(length)} B`)
    const templateId = randomBytes(32)
    const share = { x: 7, bytes: randomBytes(length) }
    const commitment = auditCommitment(templateId, share)
    const st = { templateId, x: 7, commitment, binding: randomBytes(32) }
    const proof = proveAudit(st, share)
    const note = `proof ${auditProofBytes(length)} B`
    results.push(await measure(`commit ${length} B share`, () => { auditCommitment(templateId, share) }, { ...OPTIONS, note }))
    results.push(await measure(`prove ${length} B share`, () => { proveAudit(st, share) }, { ...OPTIONS, note }))
    results.push(await measure(`verify ${length} B share`, () => { if (!verifyAudit(st, proof)) throw new Error('proof failed') }, { ...OPTIONS, note }))
    results.push(await measure(`ed25519 sign ${length} B`, () => { sign(SIG.AUDIT_RESPONSE, share.bytes, key) }, OPTIONS))
  }
  return results
}

if (import.meta.main) printTable(await run(), 'possession')
