/**
 * Default match thresholds per model id, calibrated by `bioshard eval` (the
 * smallest cosine threshold with empirical FMR ≤ 1e-3 on the evaluation set;
 * see the README's accuracy section for the run that produced each figure).
 * A tenant's policy can always set its own.
 *
 * @module
 */

/** Calibrated thresholds (cosine). */
export const CALIBRATED_THRESHOLDS: Readonly<Record<string, number>> = {
  // bioshard eval --faces ../shared/data/faces/raw: FMR ≤ 1e-3 at 0.4030 (1,228 impostor pairs).
  'mobilefacenet-foamliu-a6cc9032': 0.403,
  // sim/synthetic.ts: genuine ≈ 0.7, impostor ≈ 0 ± 0.09 at 128 dimensions.
  'synthetic-128': 0.5
}

/** Fallback when a model has not been calibrated: conservative for L2-normalised embeddings. */
export const UNCALIBRATED_THRESHOLD = 0.5

/** The default threshold for `model`. */
export function defaultThreshold (model: string): number {
  return CALIBRATED_THRESHOLDS[model] ?? UNCALIBRATED_THRESHOLD
}
