/**
 * The coordinator's side of one `/bioshard/maintain/1.0.0` round: it signs
 * each step with the tenant's key, sends it to the parties in parallel,
 * checks every answer is signed by the node it was sent to for this round,
 * and counts the round's traffic (its own requests and answers, plus what the
 * parties report having sent one another). Share material never passes
 * through here: only commitments come back.
 *
 * @module
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { BioshardError } from '../errors.ts'
import { equalBytes, randomBytes } from '../crypto/bytes.ts'
import { encodeCanonical } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { checkSigned } from '../protocol/signed.ts'
import { peerPublicKey } from '../protocol/fields.ts'
import { PROTOCOL, NONCE_BYTES, MAX_RESPONSE_BYTES, WIRE_VERSION } from '../protocol/constants.ts'
import { encodeMaintainMessage, readMaintainMessage, ROUND_ID_BYTES, type MaintainBody, type MaintainHeader } from '../protocol/maintain.ts'
import type { Manifest } from '../protocol/manifest.ts'
import { request } from '../net/rpc.ts'
import type { ClientContext, Credential } from './context.ts'

/** A coordinator step without the header this module fills in. */
export type Step = MaintainBody extends infer B ? B extends MaintainBody ? Omit<B, keyof MaintainHeader> & { kind: B['kind'] } : never : never

/** A party's checked answer. */
export type Answer = MaintainBody

/**
 * One round, coordinated by the tenant.
 *
 * @example
 * const r = new CoordinatorRound(ctx, manifest, tenant)
 * const joined = await r.all(peers, { kind: 'open', op: 'refresh', manifest, helpers })
 */
export class CoordinatorRound {
  readonly round = randomBytes(ROUND_ID_BYTES)
  /** Bytes of the round so far, all parties. */
  bytes = 0
  private readonly ctx: ClientContext
  private readonly manifest: Manifest
  private readonly signer: Credential

  constructor (ctx: ClientContext, manifest: Manifest, signer: Credential) {
    this.ctx = ctx
    this.manifest = manifest
    this.signer = signer
  }

  /**
   * Send one step to one party and check its answer.
   *
   * @throws {RemoteError} the party's refusal; {BioshardError} ERR_BAD_SIGNATURE for an answer that does not check out
   */
  async ask (peer: string, step: Step): Promise<Answer> {
    const m = this.manifest.body
    const header: MaintainHeader = {
      v: WIRE_VERSION,
      kind: step.kind,
      round: this.round,
      templateId: m.templateId,
      tenant: m.tenant,
      sender: this.ctx.host.peerId.toString(),
      nonce: randomBytes(NONCE_BYTES),
      time: Date.now()
    }
    const body = encodeMaintainMessage({ ...header, ...step } as MaintainBody, this.signer.key)
    const timeoutMs = step.kind === 'start' ? this.ctx.timeouts.requestMs * 4 : this.ctx.timeouts.requestMs
    const maxResponseBytes = MAX_RESPONSE_BYTES[PROTOCOL.MAINTAIN]
    const raw = await request(this.ctx.host, peerIdFromString(peer), PROTOCOL.MAINTAIN, { body, timeoutMs, maxResponseBytes })
    this.bytes += body.length + encodeCanonical(raw).length
    const answer = readMaintainMessage(raw)
    checkSigned(SIG.MAINTAIN, answer, peerPublicKey(peer), `maintain answer from ${peer}`)
    const a = answer.body
    if (a.sender !== peer || !equalBytes(a.round, this.round) || !equalBytes(a.templateId, m.templateId)) {
      throw new BioshardError('ERR_BAD_SIGNATURE', `${peer}: the answer is not for this round`)
    }
    if ((a.kind === 'ready' || a.kind === 'done') && step.kind === 'start') this.bytes += a.sent
    return a
  }

  /**
   * Send one step to every peer; each must answer.
   *
   * @returns peer → answer
   * @throws {BioshardError} ERR_QUORUM_UNAVAILABLE naming the peers that did not answer and why
   */
  async all (peers: readonly string[], step: Step): Promise<Map<string, Answer>> {
    const { ok, failed } = await this.settle(peers, step)
    if (failed.length > 0) {
      const why = failed.map((f) => `${f.peer.slice(-8)}: ${f.code}`).join(', ')
      throw new BioshardError('ERR_QUORUM_UNAVAILABLE', `${failed.length} of ${peers.length} parties did not take '${step.kind}' (${why})`)
    }
    return ok
  }

  /** Send one step to every peer; report who answered and who did not (with the error code). */
  async settle (peers: readonly string[], step: Step): Promise<{ ok: Map<string, Answer>, failed: Array<{ peer: string, code: string }> }> {
    const ok = new Map<string, Answer>()
    const failed: Array<{ peer: string, code: string }> = []
    await Promise.all(peers.map(async (peer) => {
      try {
        ok.set(peer, await this.ask(peer, step))
      } catch (e) {
        failed.push({ peer, code: (e as { code?: string }).code ?? 'ERR_INTERNAL' })
      }
    }))
    return { ok, failed }
  }

  /** Tell every peer to drop the round (best effort: a party that never joined or already ended refuses). */
  async abort (peers: readonly string[], reason: string): Promise<void> {
    await this.settle(peers, { kind: 'abort', reason })
  }
}
