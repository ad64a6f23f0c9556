/**
 * A small maintenance world held in memory for the hostile maintain target:
 * an authority, a tenant and another tenant, maintainer certificates (for
 * `maintain`, for `login` only, from the other tenant, expired), a
 * coordinating host, six nodes at six sites, a stranger, and one template
 * (t = 2, n = 4) in three joined rounds: a refresh by the tenant, a repair by
 * a certified maintainer, and a refresh of a copy whose seq is already
 * MAX_SEQ. Every key comes from a fixed seed, so a hostile message built
 * here is the same bytes on every run and a finding replays from its plan.
 *
 * @module
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signingKeyFromSeed, type SigningKey } from '../../crypto/sign.ts'
import { issueTenantCert, issueVerifierCert, readVerifierCert, type VerifierCert } from '../../protocol/certs.ts'
import { ROUND_ID_BYTES, type OpenBody } from '../../protocol/maintain.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { SignedWire } from '../../protocol/signed.ts'
import { MAX_SEQ, NONCE_BYTES, TEMPLATE_ID_BYTES, WIRE_VERSION } from '../../protocol/constants.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import type { HolderWorld, RoundView } from './maintain-holder.ts'

/** The world's clock (a fixed instant, so certificates and freshness judge every run alike). */
export const WORLD_NOW = 1_750_000_000_000
/** Length of the world's shares: any length works, the checks never read a share's value. */
const SHARE_BYTES = 64
const YEAR_MS = 365 * 24 * 3600 * 1000

/** A signing party: its key and, for hosts, its libp2p peer id (from the same Ed25519 seed). */
export interface Actor { key: SigningKey, peer: string }

/** The world and the keys that sign in it. */
export interface MaintainWorld extends HolderWorld {
  tenant: Actor
  mallory: Actor
  maintainer: Actor
  /** The maintainer's certificates: for `maintain`, for `login` only, from the other tenant, expired. */
  certs: Record<'maintain' | 'login' | 'mallory' | 'expired', VerifierCert>
  /** The tenant certificates as manifests embed them. */
  tenantCert: SignedWire
  malloryCert: SignedWire
  coordinator: Actor
  /** Six nodes: the template's holders are the first four (x = 1…4), the repair's new holder the fifth. */
  nodes: Actor[]
  stranger: Actor
  templateId: Uint8Array
  /** Round ids by name. */
  ids: Record<'refresh' | 'repair' | 'limit', Uint8Array>
}

const seed = (i: number): Uint8Array => new Uint8Array(32).fill(i)
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v)

async function actor (i: number): Promise<Actor> {
  const peer = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed(i))).toString()
  return { key: signingKeyFromSeed(seed(i)), peer }
}

function manifestAt (w: Pick<MaintainWorld, 'tenant' | 'tenantCert' | 'nodes' | 'templateId'>, seq: number): Manifest {
  return buildManifest({
    templateId: w.templateId,
    tenant: w.tenant.key,
    tenantCert: w.tenantCert,
    modality: 'face',
    model: 'fuzz-model',
    dim: 128,
    t: 2,
    n: 4,
    shares: [1, 2, 3, 4].map((x) => ({ x, holder: w.nodes[x - 1].peer, site: `site-${x}`, commitment: fill(32, 0x10 + x), audit: fill(32, 0x20 + x) })),
    policy: { measurements: [fill(32, 0x55)] },
    created: WORLD_NOW - 60_000,
    seq
  })
}

/** The commitments each party of a world round reported in `ready`. */
export const reportedBy = (x: number): { commitment: Uint8Array, audit: Uint8Array } => ({ commitment: fill(32, 0x60 + x), audit: fill(32, 0x70 + x) })

function roundOf (w: MaintainWorld, id: Uint8Array, open: Omit<OpenBody, 'v' | 'kind' | 'round' | 'templateId' | 'tenant' | 'nonce' | 'time'>): RoundView {
  const header = { v: WIRE_VERSION, kind: 'open', round: id, templateId: w.templateId, tenant: w.tenant.key.publicKey, nonce: fill(NONCE_BYTES, 1) } as const
  const body: OpenBody = { ...header, time: WORLD_NOW, ...open }
  const key = body.cert?.body.key ?? w.tenant.key.publicKey
  const reported = new Map(open.op === 'refresh'
    ? w.nodes.slice(0, 4).map((n, i) => [n.peer, reportedBy(i + 1)] as const)
    : [[open.newHolder as string, reportedBy(open.newX as number)] as const])
  return { open: body, coordinator: { peer: open.sender, key }, now: WORLD_NOW, reported }
}

/** Build the world (a few key derivations; done once per process). */
export async function maintainWorld (): Promise<MaintainWorld> {
  const authority = signingKeyFromSeed(seed(1))
  const network = 'bsn-00000000000f0220'
  const [tenant, mallory, maintainer, coordinator, stranger] = await Promise.all([2, 3, 4, 5, 20].map(actor))
  const nodes = await Promise.all([10, 11, 12, 13, 14, 15].map(actor))
  const tcert = (a: Actor, name: string): SignedWire => issueTenantCert({ network, key: a.key.publicKey, name, nb: 0, na: WORLD_NOW + YEAR_MS }, authority)
  const vcert = (by: Actor, purposes: string[], na = WORLD_NOW + YEAR_MS): VerifierCert =>
    readVerifierCert(issueVerifierCert({ key: maintainer.key.publicKey, name: 'fuzz-maintainer', purposes, nb: 0, na }, by.key))
  const w: MaintainWorld = {
    anchor: { network, authorities: [authority.publicKey] },
    rounds: new Map(),
    now: WORLD_NOW,
    shareBytes: SHARE_BYTES,
    tenant,
    mallory,
    maintainer,
    certs: {
      maintain: vcert(tenant, ['maintain']),
      login: vcert(tenant, ['login']),
      mallory: vcert(mallory, ['maintain']),
      expired: vcert(tenant, ['maintain'], WORLD_NOW - 1)
    },
    tenantCert: tcert(tenant, 'fuzz-tenant'),
    malloryCert: tcert(mallory, 'fuzz-mallory'),
    coordinator,
    nodes,
    stranger,
    templateId: fill(TEMPLATE_ID_BYTES, 0x33),
    ids: { refresh: fill(ROUND_ID_BYTES, 0xa1), repair: fill(ROUND_ID_BYTES, 0xa2), limit: fill(ROUND_ID_BYTES, 0xa3) }
  }
  const current = manifestAt(w, 7)
  const sender = coordinator.peer
  w.rounds.set('a1'.repeat(ROUND_ID_BYTES), roundOf(w, w.ids.refresh, { op: 'refresh', manifest: current, helpers: [1, 2, 3, 4], sender }))
  w.rounds.set('a2'.repeat(ROUND_ID_BYTES), roundOf(w, w.ids.repair, {
    op: 'repair', manifest: current, helpers: [1, 2], newX: 5, newHolder: nodes[4].peer, newSite: 'site-5', cert: w.certs.maintain, sender
  }))
  w.rounds.set('a3'.repeat(ROUND_ID_BYTES), roundOf(w, w.ids.limit, { op: 'refresh', manifest: manifestAt(w, MAX_SEQ), helpers: [1, 2, 3, 4], sender }))
  return w
}
