/**
 * Fuzz targets for `/bioshard/maintain/1.0.0`. Over the captured rounds
 * (capture-maintain.ts): `open`, the coordinator's steps (`start`,
 * `commit`, `abort`) and the parts holders send one another (`deal`, `sum`),
 * each read as a holder that joined those rounds reads it before its store
 * (maintain-holder.ts); and every answer (`join`, `ready`, `done`, a refusal)
 * as the coordinator or a dealing holder reads it: frame, decode, the
 * answering node's signature, the round it answers. Over an in-memory world
 * (maintain-world.ts): valid-but-hostile messages of every kind, signed by
 * the keys the holder trusts (maintain-hostile.ts), through the same holder
 * reading. An accepted message must re-encode to exactly its signed bytes.
 *
 * @module
 */
import { BioshardError } from '../../errors.ts'
import { decodeMaintainMessage, readMaintainMessage, type OpenBody, type ReadyBody } from '../../protocol/maintain.ts'
import { checkSigned } from '../../protocol/signed.ts'
import { peerPublicKey } from '../../protocol/fields.ts'
import { readFrame } from '../../protocol/frame.ts'
import { decodeCanonical } from '../../crypto/canonical.ts'
import { equalBytes, toHex } from '../../crypto/bytes.ts'
import { SIG } from '../../crypto/tags.ts'
import { bytesInput, sameSigned, CHECKED, FRAME, BARE_MAX } from './targets-wire.ts'
import { holderReads, sameBody, HOLDER_REFUSALS, type HolderWorld, type RoundView } from './maintain-holder.ts'
import { maintainWorld } from './maintain-world.ts'
import { buildPlan, planInput, poolsOf, type Plan } from './maintain-hostile.ts'
import type { Target } from './target.ts'

/** The holders' clock for a captured round: a second after its `open` was sent. */
const ROUND_CLOCK_MS = 1000

/** The captured rounds as the holders that joined them know them, with each party's reported commitments. */
export function capturedWorld (corpus: Map<string, Uint8Array[]>): HolderWorld | undefined {
  const opens = (corpus.get('maintain-open') ?? []).map((b) => decodeMaintainMessage(b).body as OpenBody)
  const deal = (corpus.get('maintain-part') ?? []).map((b) => decodeMaintainMessage(b).body).find((b) => b.kind === 'deal')
  if (opens.length === 0 || deal === undefined) return undefined
  const readies: ReadyBody[] = []
  for (const b of corpus.get('maintain-answer') ?? []) {
    const frame = decodeCanonical(b, BARE_MAX) as { ok: boolean, body?: unknown }
    if (frame.ok) {
      const a = readMaintainMessage(frame.body).body
      if (a.kind === 'ready') readies.push(a)
    }
  }
  const rounds = new Map<string, RoundView>(opens.map((o) => [toHex(o.round), {
    open: o,
    coordinator: { peer: o.sender, key: o.cert?.body.key ?? o.tenant },
    now: o.time + ROUND_CLOCK_MS,
    reported: new Map(readies.filter((r) => equalBytes(r.round, o.round)).map((r) => [r.sender, { commitment: r.commitment, audit: r.audit }]))
  }]))
  const cert = opens[0].manifest.cert.body
  const shareBytes = (deal as { part: Uint8Array }).part.length
  return { anchor: { network: cert.network, authorities: [cert.issuer] }, rounds, now: opens[0].time + ROUND_CLOCK_MS, shareBytes }
}

/** The coordinator's (or a dealing holder's) reading of an answer frame: the answering node signed it, for a round it runs. */
function readAnswer (world: HolderWorld, b: Uint8Array): void {
  const body = readFrame(b, BARE_MAX, 'peer')
  const a = readMaintainMessage(body)
  sameSigned(a, body as Record<string, unknown>, 'maintain answer')
  sameBody(a)
  checkSigned(SIG.MAINTAIN, a, peerPublicKey(a.body.sender), `maintain answer from ${a.body.sender}`)
  const r = world.rounds.get(toHex(a.body.round))
  if (r === undefined || !equalBytes(a.body.templateId, r.open.templateId)) throw new BioshardError('ERR_BAD_SIGNATURE', 'the answer is not for this round')
}

/** The maintain targets: four over the captured corpus, one over the hostile world. */
export async function maintainTargets (corpus: Map<string, Uint8Array[]>): Promise<Target[]> {
  const world = capturedWorld(corpus)
  const out: Target[] = []
  if (world !== undefined) {
    const holder = (name: string, kinds: string, seeds: Uint8Array[]): Target => ({
      name,
      fn: `decodeMaintainMessage (protocol/maintain.ts), then the holder's checks before its store (${kinds})`,
      refusals: HOLDER_REFUSALS,
      input: bytesInput(seeds),
      run: (b) => { holderReads(world, b as Uint8Array) }
    })
    out.push(
      holder('maintain-open', 'envelope, coordinatorKey, signature, nonce, checkOpen, each party\'s session', corpus.get('maintain-open') ?? []),
      holder('maintain-step', 'envelope, coordinatorRound; a commit through checkNext at every party', corpus.get('maintain-step') ?? []),
      holder('maintain-part', 'envelope, takePart into the session of the party it is for', corpus.get('maintain-part') ?? []),
      {
        name: 'maintain-answer',
        fn: 'readFrame → readMaintainMessage (protocol/maintain.ts), the answering node\'s signature and round',
        refusals: [...new Set([...FRAME, ...CHECKED])],
        input: bytesInput(corpus.get('maintain-answer') ?? []),
        run: (b) => { readAnswer(world, b as Uint8Array) }
      }
    )
  }
  const hostile = await maintainWorld()
  const pools = poolsOf(hostile)
  out.push({
    name: 'maintain-hostile',
    fn: 'valid-but-hostile maintain messages of every kind, correctly signed, through the holder\'s checks before its store',
    refusals: HOLDER_REFUSALS,
    input: planInput(),
    run: (plan) => { holderReads(hostile, buildPlan(hostile, pools, plan as Plan)) }
  })
  return out
}
