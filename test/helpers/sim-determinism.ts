/**
 * Test helper: the part of a simulation result that must be the same for the
 * same seed and parameters (everything but latencies and timings).
 */
import type { SimResult } from '../../sim/types.ts'

/** What two runs of one seed must agree on. */
export const deterministic = (r: SimResult): unknown => ({
  faults: r.faults,
  counts: r.counts,
  steps: r.steps.map(({ latency: _latency, ...rest }) => rest),
  exposure: r.exposure,
  invariants: r.invariants
})
