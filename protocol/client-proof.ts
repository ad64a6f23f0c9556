/**
 * A client's proof of certification, carried in its admit request: its
 * certificate (with the issuing tenant's, for a verifier) and a signature by
 * the certified key over `{network, peer, time}`. Nodes serve the DHT and the
 * holder protocols only to admitted nodes and certified clients; this is how a
 * client says it is one. Binding the proof to the connection's authenticated
 * peer id makes a copied proof useless to anyone else, and `time` bounds how
 * long a proof lives if the certified key is later lost.
 *
 * @module
 */
import { asMap, enumField, intField, strField } from '../crypto/canonical.ts'
import { SIG } from '../crypto/tags.ts'
import { BioshardError, DecodeError } from '../errors.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { checkSigned, readSigned, signBody, toWire, type Signed, type SignedWire } from './signed.ts'
import { readTenantCert, readVerifierCert, type TenantCert, type TrustAnchor, type VerifierCert } from './certs.ts'
import { peerField, NETWORK_ID } from './fields.ts'
import { FRESHNESS_WINDOW_MS, WIRE_VERSION } from './constants.ts'

/** The signed part of a proof. */
export interface ClientProofBody { v: number, kind: 'client', network: string, peer: string, time: number }

/** A decoded proof: the certificate(s) and the signed statement. */
export interface ClientProof {
  cert: TenantCert | VerifierCert
  /** The issuing tenant's certificate, when `cert` is a verifier certificate. */
  chain?: TenantCert
  proof: Signed<ClientProofBody>
}

/** What a client proves with: its certified key, the certificate, and (for a verifier key) the tenant certificate. */
export interface ClientCredential { key: SigningKey, cert: SignedWire, chain?: SignedWire }

const MAX_TIME = 8_640_000_000_000_000

function decodeProofBody (value: unknown): ClientProofBody {
  const what = 'client proof'
  const m = asMap(value, what, ['v', 'kind', 'network', 'peer', 'time'])
  return {
    v: intField(m, 'v', what, { min: WIRE_VERSION, max: WIRE_VERSION }),
    kind: enumField(m, 'kind', what, ['client'] as const),
    network: strField(m, 'network', what, { max: 32, pattern: NETWORK_ID }),
    peer: peerField(m, 'peer', what),
    time: intField(m, 'time', what, { min: 0, max: MAX_TIME })
  }
}

/** The kind a signed certificate says it is, read before its body is decoded. */
function kindOf (value: unknown): unknown {
  const body = typeof value === 'object' && value !== null ? (value as { body?: unknown }).body : undefined
  return typeof body === 'object' && body !== null ? (body as { kind?: unknown }).kind : undefined
}

/** Decode the wire form `{cert, chain?, proof}`. @throws {DecodeError} */
export function readClientProof (value: unknown): ClientProof {
  const what = 'client proof'
  const m = asMap(value, what, ['cert', 'proof'], ['chain'])
  const kind = kindOf(m.cert)
  const cert = kind === 'tenant' ? readTenantCert(m.cert) : kind === 'verifier' ? readVerifierCert(m.cert) : undefined
  if (cert === undefined) throw new DecodeError(`${what}: cert must be a tenant or a verifier certificate`)
  if ((cert.body.kind === 'verifier') !== (m.chain !== undefined)) {
    throw new DecodeError(`${what}: a verifier certificate needs its tenant's certificate in chain, a tenant certificate none`)
  }
  return {
    cert,
    ...(m.chain !== undefined ? { chain: readTenantCert(m.chain) } : {}),
    proof: readSigned(m.proof, what, decodeProofBody)
  }
}

/** The wire form of a decoded proof. */
export function clientProofWire (p: ClientProof): unknown {
  return {
    cert: toWire<TenantCert['body'] | VerifierCert['body']>(p.cert),
    ...(p.chain !== undefined ? { chain: toWire(p.chain) } : {}),
    proof: toWire(p.proof)
  }
}

/**
 * Make a proof for `peer` (this client's own peer id) at `time`.
 *
 * @example makeClientProof(credential, anchor.network, host.peerId.toString(), Date.now())
 */
export function makeClientProof (credential: ClientCredential, network: string, peer: string, time: number): unknown {
  const proof = signBody(SIG.CLIENT_PROOF, { v: WIRE_VERSION, kind: 'client', network, peer, time } satisfies ClientProofBody, credential.key)
  return { cert: credential.cert, ...(credential.chain !== undefined ? { chain: credential.chain } : {}), proof }
}

/** Signature checks, possibly remembered (see net/policy/verified-cache.ts). */
export type SignatureCheck = (tag: typeof SIG.VERIFIER_CERT, signed: Signed<unknown>, key: Uint8Array, what: string) => void
/** Tenant-certificate check with a given signature check (see `checkTenantCert` in certs.ts). */
export type TenantCheck = (cert: TenantCert, anchor: TrustAnchor, now: number) => void

/** What {@link checkClientProof} checks a proof against: the trust anchor, the time and the two checks it delegates. */
export interface ClientProofContext {
  anchor: TrustAnchor
  now: number
  checkTenant: TenantCheck
  verify: SignatureCheck
}

/**
 * Check a proof received on a connection from `peer` at `now`: the chain to
 * the anchor's authority, every certificate valid now, the proof signed by
 * the certified key, for this network and this peer, and fresh.
 *
 * @returns until when the client counts as certified (the earliest `na` on its chain)
 * @throws {BioshardError} ERR_NOT_ADMITTED, ERR_NOT_AUTHORISED, ERR_BAD_SIGNATURE, ERR_EXPIRED or ERR_STALE
 */
export function checkClientProof (p: ClientProof, peer: string, ctx: ClientProofContext): number {
  const { anchor, now, checkTenant, verify } = ctx
  let key: Uint8Array
  let until: number
  if (p.cert.body.kind === 'tenant') {
    checkTenant(p.cert as TenantCert, anchor, now)
    key = p.cert.body.key
    until = p.cert.body.na
  } else {
    const cert = p.cert as VerifierCert
    const tenant = p.chain as TenantCert
    checkTenant(tenant, anchor, now)
    if (!equalBytes(cert.body.tenant, tenant.body.key)) {
      throw new BioshardError('ERR_NOT_AUTHORISED', 'verifier certificate is from another tenant than its chain')
    }
    verify(SIG.VERIFIER_CERT, cert, tenant.body.key, 'verifier certificate')
    if (now < cert.body.nb || now > cert.body.na) throw new BioshardError('ERR_EXPIRED', `verifier certificate of ${cert.body.name} is not valid now`)
    key = cert.body.key
    until = Math.min(cert.body.na, tenant.body.na)
  }
  const body = p.proof.body
  if (body.network !== anchor.network) throw new BioshardError('ERR_NOT_ADMITTED', `client proof is for network ${body.network}`)
  if (body.peer !== peer) throw new BioshardError('ERR_NOT_AUTHORISED', 'client proof is for another peer')
  if (Math.abs(now - body.time) > FRESHNESS_WINDOW_MS) throw new BioshardError('ERR_STALE', 'client proof is not fresh')
  // The proof's bytes are new each time: checked directly, never remembered.
  checkSigned(SIG.CLIENT_PROOF, p.proof, key, 'client proof')
  return until
}
