/**
 * Test helpers for maintenance rounds driven by hand: sign a maintain step as
 * any key (the tenant, or a hostile one), send it from a client host to one
 * node, and read the answer, so tests can stop a round at any step or send
 * what no honest coordinator would.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Host } from '../../net/host.ts'
import { request } from '../../net/rpc.ts'
import { PROTOCOL, MAX_RESPONSE_BYTES, NONCE_BYTES, WIRE_VERSION } from '../../protocol/constants.ts'
import { encodeMaintainMessage, readMaintainMessage, ROUND_ID_BYTES, type MaintainBody, type MaintainHeader } from '../../protocol/maintain.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { randomBytes } from '../../crypto/bytes.ts'
import type { SigningKey } from '../../crypto/sign.ts'

/** A step without its header. */
export type RawStep = Record<string, unknown> & { kind: MaintainBody['kind'] }

/** A hand-driven round: one round id, one manifest, one sending host and signer. */
export class RawRound {
  readonly round: Uint8Array
  readonly host: Host
  readonly manifest: Manifest
  readonly signer: SigningKey
  constructor (host: Host, manifest: Manifest, signer: SigningKey, round = randomBytes(ROUND_ID_BYTES)) {
    this.host = host
    this.manifest = manifest
    this.signer = signer
    this.round = round
  }

  header (kind: MaintainBody['kind']): MaintainHeader {
    const m = this.manifest.body
    const sender = this.host.peerId.toString()
    return { v: WIRE_VERSION, kind, round: this.round, templateId: m.templateId, tenant: m.tenant, sender, nonce: randomBytes(NONCE_BYTES), time: Date.now() }
  }

  /** The signed bytes of one step (to send, or to send twice). */
  bytes (step: RawStep): Uint8Array {
    return encodeMaintainMessage({ ...this.header(step.kind), ...step } as unknown as MaintainBody, this.signer)
  }

  /** Send raw bytes to `peer` and return the decoded answer's body. */
  async send (peer: string, bytes: Uint8Array): Promise<MaintainBody> {
    const options = { body: bytes, timeoutMs: 20_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.MAINTAIN] }
    const raw = await request(this.host, peerIdFromString(peer), PROTOCOL.MAINTAIN, options)
    return readMaintainMessage(raw).body
  }

  /** Sign and send one step to `peer`. */
  async ask (peer: string, step: RawStep): Promise<MaintainBody> {
    return await this.send(peer, this.bytes(step))
  }

  /** Sign and send one step to every peer in parallel. */
  async all (peers: readonly string[], step: RawStep): Promise<MaintainBody[]> {
    return await Promise.all(peers.map(async (p) => await this.ask(p, step)))
  }
}
