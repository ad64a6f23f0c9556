/**
 * What a node checks before it joins a maintenance round (`open`): the
 * coordinator is the template's tenant or a key the tenant certified for
 * `maintain`; the manifest is tenant-signed, active and the copy held here
 * (so a round always starts from the current seq); and the node's part
 * fits it: a refreshing holder or a helper holds the share the manifest names
 * (checked against its commitment), the new holder is the one named, at its
 * own site, and holds nothing of the template yet.
 *
 * A holder whose copy is older than the round's manifest, which still lists
 * it with the very share it holds (it missed the commit of a repair of
 * another holder), takes that manifest as its copy first, as reconciliation
 * would from the DHT (node/reconcile.ts): a holder left behind does not block
 * every round until its next reconciliation pass.
 *
 * @module
 */
import { checkManifest, decodeManifest, entryFor, encodeManifest, type Manifest } from '../../protocol/manifest.ts'
import { prefers } from '../../protocol/records.ts'
import { checkVerifierCert } from '../../protocol/certs.ts'
import { MAINTAIN_PURPOSE, type OpenBody } from '../../protocol/maintain.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { refuse } from '../../protocol/errors.ts'
import { equalBytes, wipe } from '../../crypto/bytes.ts'
import { shareMatches } from '../../crypto/shares.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { ManifestCache } from '../handlers/manifest-cache.ts'
import type { SessionInit } from './session.ts'

/** What the open checks read. */
export interface OpenDeps {
  self: string
  site: string
  anchor: TrustAnchor
  store: Pick<ShareStore, 'getShare' | 'getManifest' | 'isErased' | 'putManifest'>
  /** The node's decoded manifests: one whose copy an open replaced is dropped from it. @default none */
  manifests?: Pick<ManifestCache, 'drop'>
}

/**
 * The key the coordinator signs with: the tenant's own, or a certified maintainer's.
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED when the header's tenant is not the manifest's or the certificate does not allow `maintain`
 */
export function coordinatorKey (open: OpenBody, now: number): Uint8Array {
  const tenant = open.manifest.body.tenant
  if (!equalBytes(open.tenant, tenant)) refuse('ERR_NOT_AUTHORISED', 'the round names another tenant than the manifest')
  if (open.cert === undefined) return tenant
  checkVerifierCert(open.cert, tenant, now)
  if (!open.cert.body.purposes.includes(MAINTAIN_PURPOSE)) refuse('ERR_NOT_AUTHORISED', `the coordinator's certificate does not allow '${MAINTAIN_PURPOSE}'`)
  return open.cert.body.key
}

/**
 * The checks of an `open` that read nothing stored here: the round names its
 * manifest's template, the manifest is tenant-signed and active, and the
 * parties fit the operation (a refresh takes every holder; a repair exactly
 * t listed helpers and a new x at a node the manifest does not list).
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_EXPIRED, ERR_ERASED, ERR_BAD_REQUEST
 */
export function checkOpen (anchor: TrustAnchor, open: OpenBody, now: number): void {
  const m = open.manifest
  if (!equalBytes(open.templateId, m.body.templateId)) refuse('ERR_BAD_REQUEST', 'the round names another template than its manifest')
  checkManifest(m, anchor, now)
  if (m.body.state !== 'active') refuse('ERR_ERASED', 'manifest is marked erased')
  const xs = m.body.shares.map((s) => s.x)
  if (open.op === 'refresh') {
    const every = open.helpers.length === xs.length && xs.every((x) => open.helpers.includes(x))
    if (!every) refuse('ERR_BAD_REQUEST', 'a refresh takes every holder of the manifest')
    return
  }
  const listed = open.helpers.length === m.body.t && open.helpers.every((x) => xs.includes(x))
  if (!listed) refuse('ERR_BAD_REQUEST', 'a repair takes exactly t listed holders as helpers')
  if (xs.includes(open.newX as number) || m.body.shares.some((s) => s.holder === open.newHolder)) {
    refuse('ERR_BAD_REQUEST', 'the new share must have a new x at a node the manifest does not list')
  }
}

/**
 * Check an `open` and describe the round this node would join.
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED, ERR_ERASED, ERR_NOT_HOLDER, ERR_CONFLICT, ERR_BAD_REQUEST, ERR_INTERNAL
 */
export async function roundFor (deps: OpenDeps, open: OpenBody, coordinator: SessionInit['coordinator'], now: number): Promise<SessionInit> {
  checkOpen(deps.anchor, open, now)
  const m = open.manifest
  const slot = slotKey(m.body.tenant, m.body.templateId)
  if (await deps.store.isErased(slot)) refuse('ERR_ERASED', 'template was erased here')
  const repair = open.op === 'repair' ? { newX: open.newX as number, newHolder: open.newHolder as string } : {}
  const base: Base = { round: open.round, slot, op: open.op, coordinator, manifest: m, helpers: open.helpers, ...repair }
  if (open.op === 'repair' && open.newHolder === deps.self) return await newHolderRound(deps, open, base)
  return await holderRound(deps, open, base)
}

type Base = Omit<SessionInit, 'role' | 'x' | 'share'>

async function newHolderRound (deps: OpenDeps, open: OpenBody, base: Base): Promise<SessionInit> {
  if (open.newSite !== deps.site) refuse('ERR_NOT_HOLDER', `the new share is placed at site ${String(open.newSite)}, this node is at ${deps.site}`)
  if (await deps.store.getManifest(base.slot) !== undefined) refuse('ERR_CONFLICT', 'this node already holds a share of the template')
  return { ...base, role: 'new', x: open.newX as number }
}

async function holderRound (deps: OpenDeps, open: OpenBody, base: Base): Promise<SessionInit> {
  const m = open.manifest
  const entry = entryFor(m.body, deps.self)
  if (entry === undefined) refuse('ERR_NOT_HOLDER', 'this node is not a holder of that template')
  const stored = await deps.store.getManifest(base.slot)
  if (stored === undefined) refuse('ERR_NOT_HOLDER', 'no share of this template is held here')
  const current = equalBytes(stored, encodeManifest(m))
  if (!current && !prefers(m.body, decodeManifest(stored).body)) refuse('ERR_CONFLICT', 'the round starts from another manifest than the one held here')
  const role = open.op === 'refresh' ? 'holder' : open.helpers.includes(entry.x) ? 'helper' : 'observer'
  if (role === 'observer' && current) return { ...base, role, x: entry.x }
  const held = await deps.store.getShare(base.slot)
  if (held === undefined) refuse('ERR_NOT_HOLDER', 'no share of this template is held here')
  const share = { x: held.x, bytes: held.share }
  if (held.x !== entry.x || !shareMatches(m.body.templateId, share, entry.commitment)) {
    wipe(held.share)
    // Under an older copy, the newer manifest lists another share here (a refresh this node missed): left to a repair.
    if (!current) refuse('ERR_CONFLICT', 'the round\'s newer manifest lists another share at this node')
    refuse('ERR_INTERNAL', 'the share held here does not match its manifest entry')
  }
  if (!current) await adopt(deps, base.slot, { stored, next: m, share: held.share })
  if (role === 'observer') { wipe(held.share); return { ...base, role, x: entry.x } }
  return { ...base, role, x: entry.x, share }
}

/** Take the round's newer manifest, which lists the share held here, as the copy (only over the copy judged). */
async function adopt (deps: OpenDeps, slot: Uint8Array, a: { stored: Uint8Array, next: Manifest, share: Uint8Array }): Promise<void> {
  if (!(await deps.store.putManifest(slot, encodeManifest(a.next), a.stored))) {
    wipe(a.share)
    refuse('ERR_CONFLICT', 'the manifest held here changed meanwhile')
  }
  deps.manifests?.drop(slot)
}
