/**
 * Continuous-authentication trust (zero trust: verify continuously, not
 * once). Trust is a number in [0, 1] that decays with a configured half-life;
 * each passive match raises or cuts it, and below the policy floor the session
 * moves to `step-up` (the application must re-verify explicitly). Every change
 * of state carries the signed decisions that caused it. Pure: the clock is
 * injected, so tests drive time.
 *
 * @module
 */

export type SessionState = 'trusted' | 'step-up'

export interface SessionPolicy {
  /** Time for trust to halve without a match (ms). @default 300_000 */
  halfLifeMs: number
  /** Below this trust the session asks for step-up. @default 0.5 */
  floor: number
  /** Fraction of trust lost on a rejected passive match. @default 0.5 */
  rejectPenalty: number
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { halfLifeMs: 300_000, floor: 0.5, rejectPenalty: 0.5 }

/** One observation's outcome as the trust model sees it (`score` only when the policy reveals it). */
export interface Observation { accept: boolean, score?: number, threshold: number, decision: Uint8Array, time: number }

/** Margin assumed for an accept whose decision carries no score: half way between the threshold and 1. */
const MARGIN_WITHOUT_SCORE = 0.5

/** A change of state, with the decisions observed since the previous change. */
export interface StateChange { from: SessionState, to: SessionState, trust: number, time: number, decisions: Uint8Array[] }

/** Validate a session policy (RangeError naming the field). */
export function resolveSessionPolicy (p: Partial<SessionPolicy> = {}): SessionPolicy {
  const out = { ...DEFAULT_SESSION_POLICY, ...p }
  if (!(out.halfLifeMs > 0)) throw new RangeError('halfLifeMs must be > 0')
  if (!(out.floor >= 0 && out.floor <= 1)) throw new RangeError('floor must be in [0, 1]')
  if (!(out.rejectPenalty >= 0 && out.rejectPenalty <= 1)) throw new RangeError('rejectPenalty must be in [0, 1]')
  return out
}

/**
 * The trust of one session. Trust decays exponentially; an accepted match
 * restores it towards 1 in proportion to how far the score clears the
 * threshold, a rejected match cuts it. Decisions carry no score unless the
 * tenant's policy reveals it (protocol/decision.ts); then an accept counts as
 * clearing the threshold by half the possible margin: it closes three quarters
 * of the gap to full trust, so two accepts in a row restore trust from the
 * floor to above 0.9, and the model works from accept alone.
 */
export class TrustModel {
  readonly policy: SessionPolicy
  private value: number
  private at: number
  private current: SessionState
  private pending: Uint8Array[] = []

  /** A session starts trusted at 1 (it opens after an explicit verification). */
  constructor (policy: Partial<SessionPolicy>, now: number, initial = 1) {
    this.policy = resolveSessionPolicy(policy)
    this.value = initial
    this.at = now
    this.current = initial >= this.policy.floor ? 'trusted' : 'step-up'
  }

  /** Trust at `now`, decayed since the last update. */
  trust (now: number): number {
    return this.value * Math.pow(0.5, Math.max(0, now - this.at) / this.policy.halfLifeMs)
  }

  get state (): SessionState { return this.current }

  /** Fold one observation in; returns a state change if it caused one. */
  observe (o: Observation): StateChange | undefined {
    const before = this.trust(o.time)
    let after: number
    if (o.accept) {
      // How convincingly the score clears the threshold sets how far trust rises.
      const margin = o.score === undefined
        ? MARGIN_WITHOUT_SCORE
        : Math.min(1, Math.max(0, (o.score - o.threshold) / Math.max(1e-9, 1 - o.threshold)))
      after = before + (1 - before) * (0.5 + 0.5 * margin)
    } else {
      after = before * (1 - this.policy.rejectPenalty)
    }
    this.value = Math.min(1, after)
    this.at = o.time
    this.pending.push(o.decision)
    return this.settle(o.time)
  }

  /** Re-evaluate the state at `now` (decay alone can trigger step-up). */
  tick (now: number): StateChange | undefined {
    return this.settle(now)
  }

  private settle (now: number): StateChange | undefined {
    const trust = this.trust(now)
    const next: SessionState = trust >= this.policy.floor ? 'trusted' : 'step-up'
    if (next === this.current) return undefined
    const change = { from: this.current, to: next, trust, time: now, decisions: this.pending }
    this.current = next
    this.pending = []
    return change
  }
}
