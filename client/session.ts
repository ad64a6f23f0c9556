/**
 * `client.session(templateId, policy)`: a continuous-authentication session.
 * `observe(sample)` runs a passive match through the network and enclave and
 * folds its signed decision into the trust model; the session emits
 * `state` events (`trusted` ↔ `step-up`) carrying the decisions that caused
 * them. Call `tick()` on a timer (or before an access decision) to let decay
 * alone trigger step-up.
 *
 * @module
 */
import { TrustModel, type SessionPolicy, type StateChange, type SessionState } from '../matcher/session.ts'
import type { VerifyResult } from './verify.ts'

export interface SessionOptions extends Partial<SessionPolicy> {
  /** Purpose presented to holders for passive matches. @default 'login' */
  purpose?: string
  /** Clock (ms); tests inject one. @default Date.now */
  now?: () => number
}

type Verify = (probe: Float32Array | { image: Uint8Array }, purpose: string) => Promise<VerifyResult>

/** A continuous-authentication session over one enrolled template. */
export class Session extends EventTarget {
  readonly templateId: Uint8Array
  private readonly model: TrustModel
  private readonly verify: Verify
  private readonly purpose: string
  private readonly now: () => number

  constructor (templateId: Uint8Array, verify: Verify, options: SessionOptions = {}) {
    super()
    this.templateId = templateId
    this.verify = verify
    this.purpose = options.purpose ?? 'login'
    this.now = options.now ?? Date.now
    this.model = new TrustModel(options, this.now())
  }

  get state (): SessionState { return this.model.state }
  get trust (): number { return this.model.trust(this.now()) }

  /** Run one passive match on `sample`; returns the verification result. */
  async observe (sample: Float32Array | { image: Uint8Array }): Promise<VerifyResult> {
    const r = await this.verify(sample, this.purpose)
    // The score is there only when the tenant's policy reveals it; the trust model works from accept alone otherwise.
    const score = r.score !== undefined ? { score: r.score } : {}
    this.emit(this.model.observe({ accept: r.accept, ...score, threshold: r.threshold, decision: r.decision, time: this.now() }))
    return r
  }

  /** Apply decay up to now; may emit `step-up`. */
  tick (): SessionState {
    this.emit(this.model.tick(this.now()))
    return this.model.state
  }

  private emit (change: StateChange | undefined): void {
    if (change === undefined) return
    this.dispatchEvent(new CustomEvent<StateChange>('state', { detail: change }))
    if (change.to === 'step-up') this.dispatchEvent(new CustomEvent<StateChange>('step-up', { detail: change }))
  }
}
