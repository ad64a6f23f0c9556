/**
 * Repair of a lost holder (crypto/repair.ts): the repaired share is the
 * sharing's value at the new x and reconstructs with t − 1 others; every
 * message each party receives is recorded, and no single party's view
 * determines the secret (exhaustively for t = 2 over one-byte secrets); the
 * traffic is t² share sizes.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { runRepair, RepairHelper, RepairRecipient } from '../../crypto/repair.ts'
import { splitSecret, combineShares } from '../../crypto/shares.ts'
import { encryptTemplate, decryptTemplate, type TemplateContext } from '../../crypto/envelope.ts'
import { interpolateAt } from '../../crypto/gf256.ts'
import { helperCounts, newHolderCounts } from '../helpers/repair-views.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'

const ctx = (): TemplateContext => ({ templateId: randomBytes(32), modality: 'face', model: 'test-model-1' })
const freeX = (used: number[]): number => { for (let x = 1; x < 256; x++) if (!used.includes(x)) return x; throw new Error('no x left') }

const Repair = suite('repair')

Repair('the repaired share is the value at the new x and reconstructs with t − 1 others', async () => {
  const c = ctx()
  const template = randomBytes(512)
  const shares = await splitSecret(encryptTemplate(template, c), 3, 5)
  // Holder 5 is gone; helpers 1..3 repair it at a new x.
  const helpers = shares.slice(0, 3)
  const newX = freeX(shares.map((s) => s.x))
  const { share } = runRepair(helpers, newX)
  assert.is(share.x, newX)
  assert.is(toHex(share.bytes), toHex(interpolateAt(helpers, newX)))
  for (const others of [[shares[3], shares[4]], [shares[0], shares[4]], [shares[1], shares[3]]]) {
    assert.is(toHex(decryptTemplate(await combineShares([share, ...others]), c)), toHex(template))
  }
})

Repair('traffic is t² share sizes (t(t − 1) masks and t sums)', async () => {
  for (const t of [2, 3, 5]) {
    const shares = await splitSecret(randomBytes(2_125), t, t + 2)
    const run = runRepair(shares.slice(0, t), freeX(shares.map((s) => s.x)))
    assert.is(run.messages, t * t)
    assert.is(run.payloadBytes, t * t * 2_125)
    assert.is(run.views.get('new')?.length, t, 'the new holder hears t masked sums')
    for (const s of shares.slice(0, t)) assert.is(run.views.get(s.x)?.length, t - 1, 'each helper hears t − 1 masks')
  }
})

Repair('no single party\'s view determines the secret (t = 2, exhaustive over one-byte secrets)', async () => {
  for (let run = 0; run < 2; run++) {
    const secret = randomBytes(1)
    const shares = await splitSecret(secret, 2, 3)
    const helpers = shares.slice(0, 2)
    const xs = helpers.map((s) => s.x)
    const newX = shares[2].x
    const repaired = runRepair(helpers, newX)
    assert.is(repaired.share.bytes[0], shares[2].bytes[0], 'the repair reproduces the lost share')
    const heard = (who: number | 'new'): number[] => (repaired.views.get(who) ?? []).map((m) => m.bytes[0])
    const views: Array<[string, Uint32Array]> = [
      ['helper 1', helperCounts(xs, newX, { i: 0, share: helpers[0].bytes[0], mask: heard(xs[0])[0] })],
      ['helper 2', helperCounts(xs, newX, { i: 1, share: helpers[1].bytes[0], mask: heard(xs[1])[0] })],
      ['the new holder', newHolderCounts(xs, newX, heard('new'))]
    ]
    for (const [who, counts] of views) {
      assert.ok(counts[secret[0]] > 0, `${who}: the model reproduces the recorded view`)
      assert.ok(counts.every((k) => k === counts[0]), `${who}: every candidate secret is equally consistent with the view`)
    }
  }
})

Repair('each party refuses what does not belong to its round', async () => {
  const shares = await splitSecret(randomBytes(16), 2, 3)
  const plan = { helpers: [shares[0].x, shares[1].x], newX: shares[2].x }
  assert.throws(() => new RepairHelper(shares[2], plan), RangeError)
  assert.throws(() => new RepairHelper(shares[0], { helpers: [shares[0].x], newX: shares[2].x }), RangeError)
  assert.throws(() => new RepairHelper(shares[0], { helpers: plan.helpers, newX: shares[1].x }), RangeError)
  const h = new RepairHelper(shares[0], plan)
  assert.throws(() => h.receive(shares[1].x, randomBytes(16)), RangeError)
  h.masks()
  assert.throws(() => h.masks(), RangeError)
  assert.throws(() => h.maskedSum(), RangeError)
  assert.throws(() => h.receive(shares[1].x, randomBytes(15)), RangeError)
  assert.throws(() => h.receive(99, randomBytes(16)), RangeError)
  h.receive(shares[1].x, randomBytes(16))
  assert.throws(() => h.receive(shares[1].x, randomBytes(16)), RangeError)
  const r = new RepairRecipient(plan, 16)
  assert.throws(() => r.finish(), RangeError)
  r.receive(shares[0].x, randomBytes(16))
  assert.throws(() => r.receive(shares[0].x, randomBytes(16)), RangeError)
})

Repair.run()
