/**
 * The simulator's share-cutting thread (sim/share-thread.ts): what it cuts
 * on the worker is what the enrolment flow would cut in this thread — t of
 * its shares match their hash commitments and reconstruct the sealed
 * template, each audit commitment is the one this thread computes for the
 * share, the caller's template is left as it was — and a closed thread
 * refuses further work with a typed error.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ShareThread } from '../../sim/share-thread.ts'
import { reconstruct } from '../../crypto/shares.ts'
import { decryptTemplate } from '../../crypto/envelope.ts'
import { auditCommitment } from '../../crypto/possession.ts'
import { randomBytes, equalBytes } from '../../crypto/bytes.ts'

const Thread = suite('share thread')

Thread('shares cut on the worker reconstruct the template and carry the right commitments', async () => {
  const thread = new ShareThread()
  try {
    const template = randomBytes(600)
    const kept = template.slice()
    const job = { templateId: randomBytes(32), modality: 'face' as const, model: 'synthetic-128', t: 3, n: 5 }
    const cuts = await Promise.all([thread.cut(template, job), thread.cut(template, job)])
    assert.ok(equalBytes(template, kept), 'the caller\'s template is not changed')
    for (const cut of cuts) {
      assert.is(cut.shares.length, 5)
      const commitments = new Map(cut.shares.map((s, i) => [s.x, cut.commitments[i]]))
      const { secret } = await reconstruct(job.templateId, cut.shares.slice(2), commitments, 3)
      assert.ok(equalBytes(decryptTemplate(secret, job), kept), 'the shares open to the template')
      cut.shares.forEach((s, i) => { assert.ok(equalBytes(cut.audits[i], auditCommitment(job.templateId, s)), `audit commitment of share ${s.x}`) })
    }
    assert.not.ok(equalBytes(cuts[0].shares[0].bytes, cuts[1].shares[0].bytes), 'each cut draws fresh randomness')
  } finally {
    await thread.close()
  }
})

Thread('a closed thread refuses to cut', async () => {
  const thread = new ShareThread()
  await thread.close()
  try {
    await thread.cut(randomBytes(64), { templateId: randomBytes(32), modality: 'face', model: 'm', t: 2, n: 3 })
    assert.unreachable('a closed thread cut shares')
  } catch (e) {
    assert.is((e as { code?: string }).code, 'ERR_INTERNAL')
  }
})

Thread.run()
