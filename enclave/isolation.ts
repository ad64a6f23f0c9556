/**
 * The child's isolation self-check and the host's judgement of it. The child
 * asks Node's permission model what it may do, tries to open a file outside
 * its read set (the Node binary, which is never in it), and tries to load a
 * network module (which `harden.ts` refuses); the host refuses to use a child whose report shows any
 * capability it was not meant to have.
 *
 * @module
 */
import { openSync, closeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { BioshardError } from '../errors.ts'
import type { IsolationReport } from './messages.ts'

/** Capabilities queried through `process.permission.has`. */
const SCOPES = { fsWrite: 'fs.write', childProcess: 'child', worker: 'worker', wasi: 'wasi', inspector: 'inspector', addons: 'addon' } as const

/**
 * Child side: what this process may do.
 *
 * @param canary - a path outside the read set that exists
 * @returns the report sent to the host with `ready`
 * @example const isolation = selfCheck(init.canary)
 */
export function selfCheck (canary: string): IsolationReport {
  const perm = (process as { permission?: { has: (scope: string, ref?: string) => boolean } }).permission
  // Without the permission model every answer is "yes".
  const has = (scope: string, ref?: string): boolean => perm === undefined ? true : perm.has(scope, ref)
  let canaryRead: IsolationReport['canaryRead']
  try {
    closeSync(openSync(canary, 'r'))
    canaryRead = 'allowed'
  } catch (e) {
    canaryRead = (e as { code?: string }).code === 'ERR_ACCESS_DENIED' ? 'denied' : 'failed'
  }
  let networkModule: IsolationReport['networkModule'] = 'loaded'
  try {
    createRequire(import.meta.url)('node:net')
  } catch {
    networkModule = 'refused'
  }
  return {
    fsWrite: has(SCOPES.fsWrite),
    childProcess: has(SCOPES.childProcess),
    worker: has(SCOPES.worker),
    wasi: has(SCOPES.wasi),
    inspector: has(SCOPES.inspector),
    addons: has(SCOPES.addons),
    readRoot: has('fs.read', '/'),
    canaryRead,
    networkModule,
    fetch: typeof (globalThis as { fetch?: unknown }).fetch !== 'undefined'
  }
}

/**
 * Host side: accept a report only if the child can write nothing, spawn
 * nothing, read nothing outside its set, and loads addons exactly when
 * image probes were asked for.
 *
 * @param report - from the child's `ready`
 * @param addons - whether `--allow-addons` was given
 * @throws {BioshardError} ERR_ENCLAVE naming the first capability that is wrong
 * @example checkIsolation(ready.isolation, face !== undefined)
 */
export function checkIsolation (report: IsolationReport, addons: boolean): void {
  if (report === null || typeof report !== 'object') throw new BioshardError('ERR_ENCLAVE', 'enclave sent no isolation report')
  for (const k of ['fsWrite', 'childProcess', 'worker', 'wasi', 'inspector', 'readRoot'] as const) {
    if (report[k] !== false) throw new BioshardError('ERR_ENCLAVE', `enclave isolation check failed: ${k} is allowed`)
  }
  if (report.addons !== addons) {
    const word = (allowed: boolean): string => allowed ? 'allowed' : 'denied'
    throw new BioshardError('ERR_ENCLAVE', `enclave isolation check failed: addons ${word(report.addons)}, expected ${word(addons)}`)
  }
  if (report.canaryRead !== 'denied') {
    throw new BioshardError('ERR_ENCLAVE', `enclave isolation check failed: reading outside the read set was ${report.canaryRead}, not denied`)
  }
  if (report.networkModule !== 'refused' || report.fetch !== false) {
    throw new BioshardError('ERR_ENCLAVE', 'enclave isolation check failed: network modules or fetch are available')
  }
}
