/**
 * What a node checks before it joins a maintenance round (`open`): the
 * coordinator is the template's tenant or a key the tenant certified for
 * `maintain`; the manifest is tenant-signed, active and exactly the copy held
 * here (so a round always starts from the current seq); and the node's part
 * fits it: a refreshing holder or a helper holds the share the manifest names
 * (checked against its commitment), the new holder is the one named, at its
 * own site, and holds nothing of the template yet.
 *
 * @module
 */
import { checkManifest, entryFor, encodeManifest } from '../../protocol/manifest.ts'
import { checkVerifierCert } from '../../protocol/certs.ts'
import { MAINTAIN_PURPOSE, type OpenBody } from '../../protocol/maintain.ts'
import { slotKey } from '../../protocol/ownership.ts'
import { refuse } from '../../protocol/errors.ts'
import { equalBytes, wipe } from '../../crypto/bytes.ts'
import { shareMatches } from '../../crypto/shares.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { ShareStore } from '../store/share-store.ts'
import type { SessionInit } from './session.ts'

/** What the open checks read. */
export interface OpenDeps {
  self: string
  site: string
  anchor: TrustAnchor
  store: Pick<ShareStore, 'getShare' | 'getManifest' | 'isErased'>
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
  if (!equalBytes(stored, encodeManifest(m))) refuse('ERR_CONFLICT', 'the round starts from another manifest than the one held here')
  const role = open.op === 'refresh' ? 'holder' : open.helpers.includes(entry.x) ? 'helper' : 'observer'
  if (role === 'observer') return { ...base, role, x: entry.x }
  const held = await deps.store.getShare(base.slot)
  if (held === undefined) refuse('ERR_NOT_HOLDER', 'no share of this template is held here')
  const share = { x: held.x, bytes: held.share }
  if (held.x !== entry.x || !shareMatches(m.body.templateId, share, entry.commitment)) {
    wipe(held.share)
    refuse('ERR_INTERNAL', 'the share held here does not match its manifest entry')
  }
  return { ...base, role, x: entry.x, share }
}
