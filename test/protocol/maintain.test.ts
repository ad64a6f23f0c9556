/**
 * `/bioshard/maintain/1.0.0` messages (protocol/maintain.ts): every kind
 * round-trips; malformed, mis-kinded and oversized messages are refused with
 * typed errors (ERR_DECODE, ERR_TOO_LARGE) before use.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeMaintainMessage, encodeMaintainMessage, MAX_MAINTAIN_BYTES, ROUND_ID_BYTES, type MaintainBody } from '../../protocol/maintain.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { initAuthority, loadAuthority, admitTenant, authoriseVerifier } from '../../keys/authority.ts'
import { buildManifest } from '../../client/manifest-builder.ts'
import { toWire } from '../../protocol/signed.ts'
import { randomBytes, toHex } from '../../crypto/bytes.ts'
import { codeOf } from '../helpers/assert.ts'

const dir = mkdtempSync(join(tmpdir(), 'bioshard-maintain-'))
initAuthority(join(dir, 'authority'))
const authority = loadAuthority(join(dir, 'authority'))
const tenant = admitTenant(authority, 'acme')
const maintainer = authoriseVerifier(tenant.key, 'maintainer', ['maintain'])
const peers = await Promise.all([1, 2, 3, 4].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
const templateId = randomBytes(32)
const manifest = buildManifest({
  templateId,
  tenant: tenant.key,
  tenantCert: toWire(tenant.cert),
  modality: 'face',
  model: 'm',
  dim: 128,
  t: 2,
  n: 3,
  shares: [1, 2, 3].map((x, i) => ({ x, holder: peers[i], site: `site-${x}`, commitment: randomBytes(32), audit: randomBytes(32) })),
  policy: { measurements: [randomBytes(32)] }
})
const header = { v: 1, round: randomBytes(ROUND_ID_BYTES), templateId, tenant: tenant.key.publicKey, sender: peers[0], nonce: randomBytes(16), time: 0 }
const part = randomBytes(600)

const samples: MaintainBody[] = [
  { ...header, kind: 'open', op: 'refresh', manifest, helpers: [1, 2, 3] },
  {
    ...header, kind: 'open', op: 'repair', manifest, helpers: [1, 2], newX: 9, newHolder: peers[3], newSite: 's9', cert: maintainer.cert
  },
  { ...header, kind: 'join', x: 2 },
  { ...header, kind: 'start' },
  { ...header, kind: 'deal', fromX: 1, toX: 2, part },
  { ...header, kind: 'sum', fromX: 1, part },
  { ...header, kind: 'ready', x: 9, commitment: randomBytes(32), audit: randomBytes(32), sent: 1200 },
  { ...header, kind: 'done', x: 2, sent: 0 },
  { ...header, kind: 'commit', manifest },
  { ...header, kind: 'abort', reason: 'a holder did not deal in time' }
]

const messages = suite('maintain messages')

messages('every kind round-trips with every field checked', () => {
  for (const body of samples) {
    const m = decodeMaintainMessage(encodeMaintainMessage(body, tenant.key))
    assert.is(m.body.kind, body.kind)
    assert.is(toHex(m.body.round), toHex(body.round))
    if (m.body.kind === 'open' && m.body.op === 'repair') {
      assert.is(m.body.newX, 9)
      assert.is(m.body.cert?.body.purposes[0], 'maintain')
    }
    if (m.body.kind === 'commit') assert.is(m.body.manifest.body.seq, 1)
  }
})

/** Re-sign `body` after `edit` changed its wire form (what a hostile peer can send). */
function mangled (body: MaintainBody, edit: (wire: Record<string, unknown>) => void): Uint8Array {
  const wire = decodeMaintainMessage(encodeMaintainMessage(body, tenant.key))
  const b: Record<string, unknown> = { ...(wire.body as unknown as Record<string, unknown>) }
  if ('manifest' in b) b.manifest = encodeAndBack(body)
  if ('cert' in b && b.cert !== undefined) b.cert = toWire(b.cert as Parameters<typeof toWire>[0])
  edit(b)
  return encodeCanonical({ body: b, sig: wire.sig })
}
function encodeAndBack (body: MaintainBody): unknown {
  return 'manifest' in body ? { ...toWire(body.manifest), cert: toWire(body.manifest.cert) } : undefined
}

messages('malformed messages are refused with ERR_DECODE', () => {
  const [refresh, repair, join, start, deal, sum, ready, done, , abort] = samples
  const cases: Array<[string, Uint8Array]> = [
    ['unknown kind', mangled(abort, (b) => { b.kind = 'steal' })],
    ['a field of another kind', mangled(join, (b) => { b.part = part })],
    ['missing field', mangled(deal, (b) => { delete b.toX })],
    ['deal to oneself', mangled(deal, (b) => { b.toX = 1 })],
    ['x out of range', mangled(join, (b) => { b.x = 0 })],
    ['empty part', mangled(sum, (b) => { b.part = new Uint8Array(0) })],
    ['part too long', mangled(sum, (b) => { b.part = randomBytes(17_000) })],
    ['negative traffic', mangled(done, (b) => { b.sent = -1 })],
    ['short round id', mangled(ready, (b) => { b.round = randomBytes(8) })],
    ['audit commitment of the wrong size', mangled(ready, (b) => { b.audit = randomBytes(31) })],
    ['repeated helper', mangled(refresh, (b) => { b.helpers = [1, 1, 2] })],
    ['one helper', mangled(refresh, (b) => { b.helpers = [1] })],
    ['refresh with a new holder', mangled(refresh, (b) => { b.newX = 9 })],
    ['repair without a new holder', mangled(repair, (b) => { delete b.newHolder })],
    ['repair at a helper\'s x', mangled(repair, (b) => { b.newX = 2 })],
    ['start with a stray field', mangled(start, (b) => { b.parties = [] })],
    ['bad sender', mangled(abort, (b) => { b.sender = 'me' })],
    ['long reason', mangled(abort, (b) => { b.reason = 'x'.repeat(201) })],
    ['future version', mangled(abort, (b) => { b.v = 2 })],
    ['not a map', encodeCanonical({ body: [1, 2], sig: randomBytes(64) })],
    ['garbage', randomBytes(300)]
  ]
  for (const [what, bytes] of cases) assert.is(codeOf(() => decodeMaintainMessage(bytes)), 'ERR_DECODE', what)
})

messages('an oversized message is refused before parsing (ERR_TOO_LARGE)', () => {
  assert.is(codeOf(() => decodeMaintainMessage(new Uint8Array(MAX_MAINTAIN_BYTES + 1))), 'ERR_TOO_LARGE')
})

messages.run()
