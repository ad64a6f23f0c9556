/**
 * bioshard — the verifier library applications import: enrol biometric templates as threshold
 * shares across independent sites, verify probes inside an isolated enclave that returns a signed
 * decision, and erase templates everywhere. Importing this module has no side effects.
 *
 * @example
 * const { authority, tenant } = loadTenantCredentials('./tenant')
 * const client = await createClient({ bootstrap, authority, credentials: { tenant } })
 * const { templateId } = await client.enroll({ template: embedding, modality: 'face', model })
 * const { accept, decision } = await client.verify({ templateId, probe, purpose: 'login' })
 * @module
 */
export { createClient } from './client/client.ts'
export type { Client, ClientOptions, EnrollOptions, VerifyOptions } from './client/client.ts'
export type { EnrollResult } from './client/enroll.ts'
export { EnrollError, QuorumError } from './client/errors.ts'
export type { Refusal, BadShare, EnrollStage } from './client/errors.ts'
export type { VerifyResult } from './client/verify.ts'
export type { EraseResult, EraseOptions } from './client/erase.ts'
export type { Credential, ClientTimeouts, LivenessDetector } from './client/context.ts'
export { Session } from './client/session.ts'
export type { SessionOptions } from './client/session.ts'
export type { StateChange, SessionState, SessionPolicy } from './matcher/session.ts'
export { loadTenantCredentials } from './client/credentials.ts'
export { BioshardError, hasCode } from './errors.ts'
export type { ErrorCode } from './errors.ts'
export { RemoteError } from './protocol/errors.ts'
export type { Manifest, Policy, Consent } from './protocol/manifest.ts'
