/**
 * Valid-but-hostile maintain messages: a message of one kind in one round of
 * the in-memory world (maintain-world.ts), correct but for up to four field
 * edits, each a value from a pool of hostile ones (huge t and n, zero,
 * repeated and out-of-range x, unknown and malformed holders, seq and times
 * at and past the integer limits, parts for another template or round,
 * oversized sub-shares and masked sums, certificates that do not allow
 * `maintain`), then signed by the key the holder expects (or, sometimes,
 * another). An edited manifest is signed again by the tenant, so edits reach
 * the checks behind the signatures instead of stopping at them.
 *
 * A plan is only numbers (indices into the pools), so a finding is written
 * and replayed as JSON; values the canonical encoder refuses (bigints past
 * 2^64, NaN, floats) are encoded with cborg directly.
 *
 * @module
 */
import fc from 'fast-check'
import { encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { sign, type SigningKey } from '../../crypto/sign.ts'
import { SIG } from '../../crypto/tags.ts'
import { equalBytes, toHex } from '../../crypto/bytes.ts'
import { manifestToWire } from '../../protocol/manifest.ts'
import { toWire } from '../../protocol/signed.ts'
import { COORDINATOR_KINDS, ROUND_ID_BYTES, type MaintainKind } from '../../protocol/maintain.ts'
import { MAX_SEQ, MAX_SHARE_BYTES, NONCE_BYTES, TEMPLATE_ID_BYTES } from '../../protocol/constants.ts'
import { WORLD_NOW, reportedBy, type MaintainWorld, type Actor } from './maintain-world.ts'
import type { RoundView } from './maintain-holder.ts'

/** One edit: where (message body, its manifest's body, or one share entry), which field, which pooled value. */
export interface Edit { on: number, key: number, pick: number, at: number }
/** A hostile message: round, kind, signer (0: the one the holder expects) and edits; all indices. */
export interface Plan { round: number, kind: number, signer: number, edits: Edit[] }

const KINDS: readonly MaintainKind[] = ['open', 'start', 'commit', 'abort', 'deal', 'sum', 'join', 'ready', 'done']
const ROUNDS = ['refresh', 'repair', 'limit'] as const
const DELETE = Symbol('delete')
const MAX_SAFE = Number.MAX_SAFE_INTEGER
const U64 = 2n ** 64n - 1n
const INTS: unknown[] = [0, 1, 2, 3, 4, 5, 6, 254, 255, 256, -1, 1.5, 2 ** 32, MAX_SAFE, U64]
const TIMES: unknown[] = [WORLD_NOW, WORLD_NOW - 29_999, WORLD_NOW + 29_999, WORLD_NOW + 30_001, WORLD_NOW - 30_001, WORLD_NOW + 2 ** 40,
  MAX_SAFE, 8_640_000_000_000_001, 2 ** 53, U64, 0, -1, 1.5]
const SEQS: unknown[] = [0, 1, 7, 8, 9, MAX_SEQ - 1, MAX_SEQ, MAX_SEQ + 1, MAX_SAFE - 1, MAX_SAFE, 2 ** 53, 2 ** 53 + 2, U64, -1, 1.5]
const sized = (ns: number[], v = 0x5a): Uint8Array[] => ns.map((n) => new Uint8Array(n).fill(v))
const enc = (v: unknown): Uint8Array => cborEncode(v, rfc8949EncodeOptions)

/** A pooled value, or an edit of the current one. */
type Pooled = unknown
type Change = (current: unknown) => unknown

/** Field pools of the message body, the manifest body and a share entry, for this world. */
export function poolsOf (w: MaintainWorld): Record<'body' | 'manifest' | 'share', Record<string, Pooled[]>> {
  const peers = [w.coordinator.peer, ...w.nodes.map((n) => n.peer), w.stranger.peer, '', 'not-a-peer', '12D3KooW' + '1'.repeat(44)]
  const sites = ['site-1', 'site-4', 'site-5', 'site-6', '', 'x'.repeat(129), 'É', 'a/b']
  const digests = [...sized([0, 31, 33]), reportedBy(1).commitment, reportedBy(5).audit]
  const shareOps: Change[] = [
    (s) => [...(s as unknown[]), (s as unknown[])[0]],
    (s) => (s as unknown[]).slice(0, -1),
    (s) => [...(s as unknown[]), { x: 5, holder: w.nodes[4].peer, site: 'site-5', commitment: reportedBy(5).commitment }],
    (s) => [...(s as unknown[])].reverse(),
    () => [],
    (s) => Array.from({ length: 255 }, (_, i) => ({ ...(s as Array<Record<string, unknown>>)[0], x: i + 1, site: `s-${i}` }))
  ]
  return {
    body: {
      v: [0, 2, U64],
      kind: [...KINDS, 'other', ''],
      round: [w.ids.refresh, w.ids.repair, w.ids.limit, ...sized([ROUND_ID_BYTES], 0xee), ...sized([15, 17, 0])],
      templateId: [w.templateId, ...sized([TEMPLATE_ID_BYTES], 0x44), ...sized([31, 33])],
      tenant: [w.tenant.key.publicKey, w.mallory.key.publicKey, w.maintainer.key.publicKey, ...sized([31])],
      sender: peers,
      nonce: sized([NONCE_BYTES, 15, 17, 0], 2),
      time: TIMES,
      op: ['refresh', 'repair', 'erase', ''],
      helpers: [[], [1], [1, 1], [0, 1], [1, 256], [1, 2, 3, 4, 4], [2, 1], [1, 2, 3, 5], [1, 2, 3], [1, 2, 3, 4], [1, 2], [1, 3], [3, 4], [1, 5],
        Array.from({ length: 255 }, (_, i) => i + 1), Array.from({ length: 300 }, (_, i) => i + 1), [1.5, 2], [-1, 2], [U64, 1]],
      newX: INTS,
      newHolder: peers,
      newSite: sites,
      cert: [...Object.values(w.certs).map((c) => toWire(c)), DELETE],
      fromX: INTS,
      toX: INTS,
      x: INTS,
      part: sized([0, 1, 63, 64, 65, 4096, MAX_SHARE_BYTES, MAX_SHARE_BYTES + 1, 70_000]),
      commitment: digests,
      audit: digests,
      sent: [-1, 0, 2 ** 32, 2 ** 32 + 1, MAX_SAFE, U64, 1.5],
      reason: ['', 'x'.repeat(200), 'x'.repeat(201), 'é'.repeat(200), '\u0000', 'x'.repeat(70_000)],
      manifest: [DELETE, null, {}, 'x'],
      zz: [1]
    },
    manifest: {
      t: INTS,
      n: INTS,
      seq: SEQS,
      created: TIMES,
      state: ['erased', 'x'],
      templateId: sized([TEMPLATE_ID_BYTES], 0x44),
      tenant: [w.mallory.key.publicKey],
      dim: [0, 1, 8192, 8193],
      shares: shareOps,
      // Who signs the manifest: the other tenant (with its own certificate, or the tenant's), or nobody's key at all.
      $signer: ['mallory', 'mallory-own-cert', 'stranger']
    },
    share: { x: INTS, holder: peers, site: sites, commitment: digests, audit: [...digests, DELETE] }
  }
}

/** The correct message of `kind` in round `r`, in wire form (its manifest's body kept apart for edits). */
function baseOf (w: MaintainWorld, r: RoundView, kind: MaintainKind): { body: Record<string, unknown>, manifest?: Record<string, unknown> } {
  const o = r.open
  const header = { v: 1, kind, round: o.round, templateId: o.templateId, tenant: o.tenant, nonce: o.nonce, time: WORLD_NOW }
  const node = (x: number): string => w.nodes[x - 1].peer
  const m = structuredClone(manifestToWire(o.manifest).body) as unknown as Record<string, unknown>
  const repair = o.op === 'repair'
  switch (kind) {
    case 'open': {
      const extra = repair ? { newX: o.newX, newHolder: o.newHolder, newSite: o.newSite, cert: toWire(w.certs.maintain) } : {}
      return { body: { ...header, sender: o.sender, op: o.op, helpers: [...o.helpers], ...extra }, manifest: m }
    }
    case 'start': return { body: { ...header, sender: o.sender } }
    case 'abort': return { body: { ...header, sender: o.sender, reason: 'a party did not deal in time' } }
    case 'commit': return { body: { ...header, sender: o.sender }, manifest: nextOf(w, r, m) }
    case 'deal': return { body: { ...header, sender: node(2), fromX: 2, toX: 1, part: sized([w.shareBytes])[0] } }
    case 'sum': return { body: { ...header, sender: node(1), fromX: 1, part: sized([w.shareBytes])[0] } }
    case 'join': return { body: { ...header, sender: node(1), x: 1 } }
    case 'ready': return { body: { ...header, sender: node(1), x: 1, ...reportedBy(1), sent: 1000 } }
    case 'done': return { body: { ...header, sender: node(1), x: 1, sent: 0 } }
  }
}

/** The manifest an honest coordinator commits: seq + 1 with the reported commitments (repair: x 4 replaced by the new holder at x 5). */
function nextOf (w: MaintainWorld, r: RoundView, m: Record<string, unknown>): Record<string, unknown> {
  const shares = m.shares as Array<Record<string, unknown>>
  const next = r.open.op === 'refresh'
    ? shares.map((e) => ({ ...e, ...reportedBy(e.x as number) }))
    : [...shares.filter((e) => e.x !== 4), { x: 5, holder: w.nodes[4].peer, site: 'site-5', ...reportedBy(5) }]
  return { ...m, seq: (m.seq as number) + 1, shares: next }
}

function setField (target: Record<string, unknown>, key: string, value: unknown): void {
  if (value === DELETE) delete target[key]
  else target[key] = typeof value === 'function' ? (value as Change)(target[key]) : structuredClone(value)
}

/** The key a message of `kind` from `sender` is expected to be signed with in round `r`. */
function expectedSigner (w: MaintainWorld, r: RoundView | undefined, body: Record<string, unknown>): SigningKey {
  const kind = body.kind as MaintainKind
  if (COORDINATOR_KINDS.includes(kind)) {
    const key = r?.coordinator.key
    return key !== undefined && equalBytes(key, w.maintainer.key.publicKey) ? w.maintainer.key : w.tenant.key
  }
  const fromX = Number.isInteger(body.fromX) ? body.fromX as number : 0
  if ((kind === 'deal' || kind === 'sum') && fromX >= 1 && fromX <= w.nodes.length) return w.nodes[fromX - 1].key
  return (w.nodes.find((n) => n.peer === body.sender) ?? w.nodes[0]).key
}

/** The manifest wire: the edited body signed by the tenant (or by the key a `$signer` edit names). */
function signManifestWire (w: MaintainWorld, body: Record<string, unknown>, signer: string | undefined): Record<string, unknown> {
  const by: Actor = signer === undefined ? w.tenant : signer === 'stranger' ? w.stranger : w.mallory
  const cert = signer === 'mallory-own-cert' ? w.malloryCert : w.tenantCert
  return { body, sig: sign(SIG.MANIFEST, enc(body), by.key), cert }
}

/** Build the bytes of a plan. */
export function buildPlan (w: MaintainWorld, pools: ReturnType<typeof poolsOf>, plan: Plan): Uint8Array {
  const r = w.rounds.get(toHex(w.ids[ROUNDS[plan.round % ROUNDS.length]])) as RoundView
  const { body, manifest } = baseOf(w, r, KINDS[plan.kind % KINDS.length])
  let manifestSigner: string | undefined
  let replaced = false
  for (const e of plan.edits) {
    const where = ['body', 'manifest', 'share'][e.on % 3] as 'body' | 'manifest' | 'share'
    const keys = Object.keys(pools[where])
    // Mostly a field the message has; one edit in eight sets any field (an unknown one for this kind, mostly).
    const own = where === 'body' ? keys.filter((k) => k in body) : keys
    const key = e.key % 8 === 7 ? keys[e.key % keys.length] : own[Math.floor(e.key / 8) % own.length]
    const pool = pools[where][key]
    const value = pool[e.pick % pool.length]
    if (where === 'body') {
      setField(body, key, value)
      replaced ||= key === 'manifest'
    } else if (manifest === undefined) continue
    else if (key === '$signer') manifestSigner = value as string
    else if (where === 'manifest') setField(manifest, key, value)
    else {
      const shares = manifest.shares as Array<Record<string, unknown>>
      if (Array.isArray(shares) && shares.length > 0) setField(shares[e.at % shares.length], key, value)
    }
  }
  if (manifest !== undefined && !replaced) body.manifest = signManifestWire(w, manifest, manifestSigner)
  const round = body.round instanceof Uint8Array ? w.rounds.get(toHex(body.round)) : undefined
  const others = [w.tenant.key, w.maintainer.key, w.mallory.key, w.nodes[0].key, w.nodes[4].key, w.stranger.key]
  const signer = plan.signer === 0 ? expectedSigner(w, round ?? r, body) : others[(plan.signer - 1) % others.length]
  return enc({ body, sig: sign(SIG.MAINTAIN, enc(body), signer) })
}

/** Plans: mostly requests, mostly the expected signer, zero to four edits, most on the message body. */
export function planInput (): fc.Arbitrary<Plan> {
  const edit = fc.record({
    on: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
    key: fc.nat(),
    pick: fc.nat(),
    at: fc.nat()
  })
  return fc.record({
    round: fc.nat(),
    // Requests mostly: an answer kind sent as a request is refused at once.
    kind: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 6, max: 8 }) }),
    signer: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 6 }) }),
    edits: fc.array(edit, { maxLength: 4 })
  })
}
