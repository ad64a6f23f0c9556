/**
 * Fuzz targets for everything that reads bytes from a peer or the DHT: the
 * canonical CBOR decoder and head walker, response frames, the store, fetch,
 * erase and admit messages both ways (admit with roster digests, and entries
 * carrying revocations and retirement notices), manifests and manifest records,
 * certificates, attestations, client proofs, address statements, decisions
 * and peer ids. Where a structure decodes, the validator behind it (the
 * certificate chain, the signature, the record's ownership) runs too, and an
 * accepted input must re-encode to exactly its own bytes.
 *
 * @module
 */
import fc from 'fast-check'
import { encode as cborEncode, rfc8949EncodeOptions } from 'cborg'
import { decodeCanonical, encodeCanonical } from '../../crypto/canonical.ts'
import { decodeStrict } from '../../crypto/canonical-decode.ts'
import { equalBytes } from '../../crypto/bytes.ts'
import { skipItem } from '../../protocol/cbor-heads.ts'
import { readFrame } from '../../protocol/frame.ts'
import { WIRE_CODES } from '../../protocol/errors.ts'
import { decodeStoreRequest, readStoreReceipt } from '../../protocol/store.ts'
import { decodeFetchRequest, readFetchResponse } from '../../protocol/fetch.ts'
import { decodeEraseRequest, readEraseReceipt } from '../../protocol/erase.ts'
import { decodeAdmitMessage, readAdmitMessage, admitMessageWire, ROSTER_BUCKETS, ROSTER_DIGEST_BYTES } from '../../protocol/admit.ts'
import { checkRevocation, checkRetirement } from '../../protocol/revocation.ts'
import { differingBuckets } from '../../net/roster.ts'
import { decodeManifest, encodeManifest, checkManifest, readManifest } from '../../protocol/manifest.ts'
import { validateManifestRecord, selectManifestRecord } from '../../protocol/records.ts'
import { parseManifestKey } from '../../protocol/ownership.ts'
import { readNodeCert, readTenantCert, readVerifierCert, checkNodeCert, checkTenantCert, checkVerifierCert, type TrustAnchor } from '../../protocol/certs.ts'
import { readAttestation, processAttestation } from '../../protocol/attestation.ts'
import { readClientProof, checkClientProof, clientProofWire } from '../../protocol/client-proof.ts'
import { readNodeAddresses, checkNodeAddresses } from '../../protocol/node-addresses.ts'
import { decodeDecision } from '../../protocol/decision.ts'
import { peerPublicKey } from '../../protocol/fields.ts'
import { checkSigned, type Signed } from '../../protocol/signed.ts'
import { MAX_MANIFEST_BYTES } from '../../protocol/constants.ts'
import { byteMutations, treeMutations, hostileBytes } from './mutate.ts'
import { consistent, type Target } from './target.ts'

/** Refusals of a bare decoder: malformed or over its limit. */
export const SIZE = ['ERR_DECODE', 'ERR_TOO_LARGE'] as const
/** Refusals of a decoder followed by its validator (signature, admission, authority, dates). */
export const CHECKED = [...SIZE, 'ERR_BAD_SIGNATURE', 'ERR_NOT_ADMITTED', 'ERR_NOT_AUTHORISED', 'ERR_EXPIRED'] as const
/** Refusals of a response frame: a peer's typed refusal code, or a malformed frame. */
export const FRAME = [...new Set([...WIRE_CODES, 'ERR_BAD_REQUEST'])]
/** Certificates and proofs travel inside messages; a standalone one is bounded like a manifest. */
export const EMBEDDED_MAX = MAX_MANIFEST_BYTES
/** A limit for the bare decoders, above every message limit so the decoder (not the size check) meets the input. */
export const BARE_MAX = 1 << 20

/** Mutated seeds (byte-level and CBOR-aware) and hand-built hostile bytes. */
export function bytesInput (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 5, arbitrary: byteMutations(seeds) },
    { weight: 4, arbitrary: treeMutations(seeds) },
    { weight: 1, arbitrary: hostileBytes }
  )
}

/** The raw decoded map of a canonical input (for comparing with what a decoder kept). */
export const raw = (b: Uint8Array): Record<string, unknown> => decodeStrict(b, false) as Record<string, unknown>
const enc = (v: unknown): Uint8Array => cborEncode(v, rfc8949EncodeOptions)

/** An accepted signed object: its body bytes are exactly the body's canonical encoding inside `wire`. */
export function sameSigned (s: Signed<unknown>, wire: Record<string, unknown>, what: string): void {
  consistent(equalBytes(s.bytes, enc(wire.body)), `${what}: signed bytes differ from the body's encoding`)
  consistent(equalBytes(s.sig, wire.sig as Uint8Array), `${what}: signature differs`)
}

/** Seeds by corpus kind, and what the validators need from them. */
export interface WireSeeds {
  corpus: Map<string, Uint8Array[]>
  anchor: TrustAnchor
  now: number
}

/** The wire targets over the captured corpus. */
export function wireTargets ({ corpus, anchor, now }: WireSeeds): Target[] {
  const seeds = (...kinds: string[]): Uint8Array[] => kinds.flatMap((k) => corpus.get(k) ?? [])
  const all = [...corpus.values()].flat()
  const key = seeds('manifest-key')[0]
  const zeroDigest = new Uint8Array(ROSTER_DIGEST_BYTES)
  const response = (b: unknown): unknown => readFrame(b as Uint8Array, BARE_MAX, 'peer')
  const embedded = (b: unknown, what: string): unknown => decodeCanonical(b as Uint8Array, EMBEDDED_MAX, what)
  const t = (target: Omit<Target, 'input'> & { seeds: Uint8Array[] }): Target => {
    const { seeds: s, ...rest } = target
    return { ...rest, input: bytesInput(s) }
  }
  return [
    t({
      name: 'canonical',
      fn: 'decodeCanonical (crypto/canonical.ts → decodeStrict)',
      refusals: SIZE,
      seeds: all,
      run: (b) => {
        const v = decodeCanonical(b as Uint8Array, BARE_MAX)
        consistent(equalBytes(encodeCanonical(v), b as Uint8Array), 'accepted bytes do not re-encode to themselves')
      }
    }),
    t({
      name: 'cbor-heads',
      fn: 'skipItem (protocol/cbor-heads.ts)',
      refusals: SIZE,
      seeds: all,
      run: (b) => {
        const end = skipItem(b as Uint8Array, 0, 'item', { items: 10_000, perContainer: 512 })
        consistent(end > 0 && end <= (b as Uint8Array).length, 'walk ends outside the input')
      }
    }),
    t({
      name: 'frame', fn: 'readFrame (protocol/frame.ts)', refusals: FRAME, seeds: seeds('store-response', 'fetch-response', 'erase-response'), run: response
    }),
    t({
      name: 'store-request',
      fn: 'decodeStoreRequest (protocol/store.ts)',
      refusals: SIZE,
      seeds: seeds('store-request'),
      run: (b) => {
        const r = decodeStoreRequest(b as Uint8Array)
        const w = raw(b as Uint8Array)
        sameSigned(r, w, 'store request')
        consistent(equalBytes(encodeManifest(r.body.manifest), enc((w.body as Record<string, unknown>).manifest)), 'manifest re-encodes differently')
      }
    }),
    t({
      name: 'store-receipt',
      fn: 'readFrame → readStoreReceipt (protocol/store.ts)',
      refusals: FRAME,
      seeds: seeds('store-response'),
      run: (b) => { const body = response(b); sameSigned(readStoreReceipt(body), body as Record<string, unknown>, 'store receipt') }
    }),
    t({
      name: 'fetch-request',
      fn: 'decodeFetchRequest (protocol/fetch.ts), then the verifier certificate and attestation signatures',
      refusals: CHECKED,
      seeds: seeds('fetch-request'),
      run: (b) => {
        const r = decodeFetchRequest(b as Uint8Array)
        sameSigned(r, raw(b as Uint8Array), 'fetch request')
        checkVerifierCert(r.body.cert, r.body.cert.body.tenant, now)
        processAttestation.verify(r.body.enclave, r.body.enclave.body.verifier)
      }
    }),
    t({
      name: 'fetch-response',
      fn: 'readFrame → readFetchResponse (protocol/fetch.ts)',
      refusals: FRAME,
      seeds: seeds('fetch-response'),
      run: (b) => { const body = response(b); sameSigned(readFetchResponse(body), body as Record<string, unknown>, 'fetch response') }
    }),
    t({
      name: 'erase-request',
      fn: 'decodeEraseRequest (protocol/erase.ts), then checkManifest',
      refusals: CHECKED,
      seeds: seeds('erase-request'),
      run: (b) => {
        const r = decodeEraseRequest(b as Uint8Array)
        sameSigned(r, raw(b as Uint8Array), 'erase request')
        checkManifest(r.body.manifest, anchor, now, { ignoreExpiry: true })
      }
    }),
    t({
      name: 'erase-receipt',
      fn: 'readFrame → readEraseReceipt (protocol/erase.ts)',
      refusals: FRAME,
      seeds: seeds('erase-response'),
      run: (b) => { const body = response(b); sameSigned(readEraseReceipt(body), body as Record<string, unknown>, 'erase receipt') }
    }),
    t({
      name: 'admit-request',
      fn: 'decodeAdmitMessage (protocol/admit.ts, bounded head walk first), differingBuckets on its digest (net/roster.ts)',
      refusals: SIZE,
      seeds: seeds('admit-request'),
      run: async (b) => {
        const m = await decodeAdmitMessage(b as Uint8Array)
        const wire = admitMessageWire(m.entries, m.client === undefined ? undefined : clientProofWire(m.client), m.digest)
        consistent(equalBytes(encodeCanonical(wire), b as Uint8Array), 'admit message re-encodes differently')
        if (m.digest !== undefined) consistent(differingBuckets(zeroDigest, m.digest).every((i) => i >= 0 && i < ROSTER_BUCKETS), 'bucket out of range')
      }
    }),
    t({
      name: 'admit-response',
      fn: 'readFrame → readAdmitMessage (protocol/admit.ts), then checkNodeCert, checkRevocation, checkRetirement per entry',
      refusals: [...new Set([...FRAME, ...CHECKED])],
      seeds: seeds('admit-response'),
      run: (b) => {
        const m = readAdmitMessage(response(b))
        for (const e of m.entries) {
          checkNodeCert(e.cert, anchor, now)
          if (e.revoked !== undefined) checkRevocation(e.revoked, e.cert.body.peer, anchor, checkSigned)
          if (e.retiring !== undefined) checkRetirement(e.retiring, e.cert.body.peer, anchor.network, checkSigned)
        }
      }
    }),
    t({
      name: 'manifest',
      fn: 'decodeManifest, checkManifest (protocol/manifest.ts)',
      refusals: CHECKED,
      // The audited template's manifest too: its shares carry audit commitments.
      seeds: seeds('manifest', 'audit-manifest'),
      run: (b) => {
        const m = decodeManifest(b as Uint8Array)
        consistent(equalBytes(encodeManifest(m), b as Uint8Array), 'manifest re-encodes differently')
        checkManifest(m, anchor, now)
      }
    }),
    t({
      name: 'manifest-record',
      fn: 'validateManifestRecord, selectManifestRecord (protocol/records.ts)',
      refusals: CHECKED,
      seeds: seeds('manifest'),
      run: (b) => {
        const i = selectManifestRecord([seeds('manifest')[0], b as Uint8Array])
        consistent(i === 0 || i === 1, 'selector chose outside the list')
        validateManifestRecord(key, b as Uint8Array, anchor, { now })
      }
    }),
    t({
      name: 'manifest-key',
      fn: 'parseManifestKey (protocol/ownership.ts)',
      refusals: SIZE,
      seeds: seeds('manifest-key'),
      run: (b) => parseManifestKey(b as Uint8Array)
    }),
    t({
      name: 'node-cert',
      fn: 'readNodeCert, checkNodeCert (protocol/certs.ts)',
      refusals: CHECKED,
      seeds: seeds('node-cert'),
      run: (b) => {
        const c = readNodeCert(embedded(b, 'node certificate'))
        sameSigned(c, raw(b as Uint8Array), 'node cert')
        checkNodeCert(c, anchor, now)
      }
    }),
    t({
      name: 'tenant-cert',
      fn: 'readTenantCert, checkTenantCert (protocol/certs.ts)',
      refusals: CHECKED,
      seeds: seeds('tenant-cert'),
      run: (b) => {
        const c = readTenantCert(embedded(b, 'tenant certificate'))
        sameSigned(c, raw(b as Uint8Array), 'tenant cert')
        checkTenantCert(c, anchor, now)
      }
    }),
    t({
      name: 'verifier-cert',
      fn: 'readVerifierCert, checkVerifierCert (protocol/certs.ts)',
      refusals: CHECKED,
      seeds: seeds('verifier-cert'),
      run: (b) => { const c = readVerifierCert(embedded(b, 'verifier certificate')); checkVerifierCert(c, c.body.tenant, now) }
    }),
    t({
      name: 'attestation',
      fn: 'readAttestation, processAttestation.verify (protocol/attestation.ts)',
      refusals: CHECKED,
      seeds: seeds('attestation'),
      run: (b) => { const a = readAttestation(embedded(b, 'attestation')); processAttestation.verify(a, a.body.verifier) }
    }),
    t({
      name: 'client-proof',
      fn: 'readClientProof, checkClientProof (protocol/client-proof.ts)',
      refusals: [...CHECKED, 'ERR_STALE'],
      seeds: seeds('client-proof'),
      run: (b) => {
        const p = readClientProof(embedded(b, 'client proof'))
        checkClientProof(p, p.proof.body.peer, { anchor, now, checkTenant: checkTenantCert, verify: checkSigned })
      }
    }),
    t({
      name: 'node-addresses',
      fn: 'readNodeAddresses, checkNodeAddresses (protocol/node-addresses.ts)',
      refusals: [...CHECKED, 'ERR_BAD_REQUEST'],
      seeds: seeds('node-addresses'),
      run: (b) => { const s = readNodeAddresses(embedded(b, 'address statement')); checkNodeAddresses(s, s.body.peer, s.body.network, checkSigned) }
    }),
    t({
      name: 'decision',
      fn: 'decodeDecision (protocol/decision.ts)',
      refusals: SIZE,
      seeds: seeds('decision'),
      run: (b) => { const d = decodeDecision(b as Uint8Array); sameSigned(d, raw(b as Uint8Array), 'decision') }
    }),
    {
      name: 'peer-id',
      fn: 'peerPublicKey (protocol/fields.ts)',
      refusals: ['ERR_DECODE'],
      input: fc.oneof(
        fc.tuple(fc.constantFrom(...seeds('node-cert').map((c) => readManifestPeer(c))), fc.nat(), fc.string({ maxLength: 3 }))
          .map(([p, at, s]) => p.slice(0, at % (p.length + 1)) + s + p.slice((at % (p.length + 1)) + s.length)),
        fc.string({ maxLength: 200 })
      ),
      run: (s) => peerPublicKey(s as string)
    }
  ]
}

/** The peer id inside a captured node certificate. */
function readManifestPeer (cert: Uint8Array): string {
  return readNodeCert(decodeCanonical(cert, EMBEDDED_MAX)).body.peer
}

/** The trust anchor of the captured network, read from its manifest's tenant certificate. */
export function corpusAnchor (corpus: Map<string, Uint8Array[]>): { anchor: TrustAnchor, now: number } {
  const m = readManifest(decodeCanonical((corpus.get('manifest') as Uint8Array[])[0], MAX_MANIFEST_BYTES))
  // Judged at the capture's time, so the captured certificates are valid and the validators run past their dates.
  return { anchor: { network: m.cert.body.network, authorities: [m.cert.body.issuer] }, now: m.body.created + 1000 }
}
