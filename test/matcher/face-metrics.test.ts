/**
 * Verification metrics (matcher/eval/metrics.ts) on hand-made score lists
 * whose EER, FMR/FNMR and thresholds are known by counting.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { detPoints, equalErrorRate, fmrAt, fnmrAt, fnmrAtFmr, mean, nextUp, thresholdForFmr } from '../../matcher/eval/metrics.ts'

const Metrics = suite('eval metrics')

Metrics('FMR counts impostor scores at or above the threshold, FNMR genuine scores below it', () => {
  assert.is(fmrAt([0.1, 0.3, 0.5, 0.7], 0.5), 0.5)
  assert.is(fnmrAt([0.4, 0.5, 0.9, 1], 0.5), 0.25)
})

Metrics('EER is 0 for perfectly separated scores', () => {
  assert.is(equalErrorRate([0.7, 0.8, 0.9], [0.1, 0.2, 0.3]).eer, 0)
})

Metrics('EER is 25 % when one of four impostors outscores one of four genuine pairs', () => {
  const r = equalErrorRate([0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.65])
  assert.is(r.eer, 0.25)
  assert.is(r.threshold, 0.65)
})

Metrics('EER is 50 % for identical genuine and impostor distributions', () => {
  const s = Array.from({ length: 100 }, (_, i) => i / 100)
  const r = equalErrorRate(s, s)
  assert.ok(Math.abs(r.eer - 0.5) <= 0.005, String(r.eer))
})

Metrics('EER of 10 % on a 10/10 split with one crossing each way', () => {
  const genuine = [0.35, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99]
  const impostor = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.32, 0.34, 0.5]
  // At t = 0.5: FMR = 1/10 (0.5), FNMR = 1/10 (0.35).
  assert.is(equalErrorRate(genuine, impostor).eer, 0.1)
})

Metrics('the threshold for a target FMR is the smallest one with empirical FMR ≤ target', () => {
  const impostor = Array.from({ length: 1000 }, (_, i) => i / 1000) // 0 … 0.999
  const r = thresholdForFmr(impostor, 1e-3)
  // One false match allowed: 0.999 may pass, 0.998 must not.
  assert.is(r.allowedFalseMatches, 1)
  assert.is(r.threshold, nextUp(0.998))
  assert.is(r.fmr, 1e-3)
  assert.is(fmrAt(impostor, r.threshold), 1e-3)
  assert.ok(fmrAt(impostor, 0.998) > 1e-3)
})

Metrics('with fewer impostor pairs than 1/target the threshold sits just above the highest impostor score', () => {
  const r = thresholdForFmr([0.1, 0.42, 0.3], 1e-3)
  assert.is(r.allowedFalseMatches, 0)
  assert.is(r.threshold, nextUp(0.42))
  assert.is(r.fmr, 0)
  assert.is(r.impostorPairs, 3)
})

Metrics('ties at the threshold score are all rejected', () => {
  const r = thresholdForFmr([0.5, 0.5, 0.5, 0.1], 0.25)
  assert.is(r.fmr, 0)
  assert.ok(r.threshold > 0.5)
})

Metrics('FNMR at FMR uses that threshold', () => {
  const impostor = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
  const genuine = [0.85, 0.9, 0.97, 0.99]
  const r = fnmrAtFmr(genuine, impostor, 0.1) // one impostor (0.95) may pass: threshold just above 0.9
  assert.is(r.threshold, nextUp(0.9))
  assert.is(r.fnmr, 0.5)
})

Metrics('DET points fall in FMR and rise in FNMR as the threshold rises', () => {
  const pts = detPoints([0.5, 0.6, 0.7, 0.9], [0.1, 0.55, 0.2, 0.65])
  assert.is(pts.length, 8)
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i].threshold > pts[i - 1].threshold)
    assert.ok(pts[i].fmr <= pts[i - 1].fmr)
    assert.ok(pts[i].fnmr >= pts[i - 1].fnmr)
  }
  assert.equal(pts[0], { threshold: 0.1, fmr: 1, fnmr: 0 })
  assert.equal(pts[pts.length - 1], { threshold: 0.9, fmr: 0, fnmr: 0.75 })
})

Metrics('rejects empty lists, non-numbers and targets outside (0, 1)', () => {
  assert.throws(() => equalErrorRate([], [0.1]), /genuine must not be empty/)
  assert.throws(() => fmrAt([0.1, Number.NaN], 0), /impostor\[1\]/)
  assert.throws(() => thresholdForFmr([0.1], 0), /targetFmr/)
  assert.throws(() => thresholdForFmr([0.1], 1), /targetFmr/)
  assert.is(mean([1, 2, 3]), 2)
})

Metrics.run()
