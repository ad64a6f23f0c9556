/**
 * A node directory's standing files: revocations the operator dropped in
 * `revocations/` (as `bioshard authority revoke` writes them: a node's
 * certificate with the authority's revocation) and the node's own retirement
 * files (`retiring.notice`, signed by the node; `retire.finish`, asking the
 * node to destroy its shares and leave). Files, so the commands work the
 * same on a running node (which looks at them every {@link STANDING_SCAN_MS})
 * and a stopped one (which reads them at start).
 *
 * @module
 */
import { join } from 'node:path'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { decodeCanonical, encodeCanonical, asMap } from '../crypto/canonical.ts'
import { BioshardError } from '../errors.ts'
import { readNodeCert } from '../protocol/certs.ts'
import { readRetirement, readRevocation, signRetirement, type Retirement } from '../protocol/revocation.ts'
import { toWire } from '../protocol/signed.ts'
import type { RosterEntry } from '../protocol/admit.ts'
import type { SigningKey } from '../crypto/sign.ts'
import { ROSTER_ENTRY_BYTES } from '../protocol/constants.ts'

/** How often a running node looks at its standing files: a retirement or revocation takes effect within this long. */
export const STANDING_SCAN_MS = 2_000
/** The folder of revocation files in a node directory. */
export const REVOCATIONS_DIR = 'revocations'
/** The node's own retirement notice. */
export const RETIRING_FILE = 'retiring.notice'
/** Present when the operator asked a retiring node to finish: destroy its shares and exit. */
export const FINISH_FILE = 'retire.finish'
/** Revocation files read per scan at most (a folder is the operator's, but a scan stays bounded). */
const MAX_REVOCATION_FILES = 1024

/** Encode a revocation file: the revoked node's certificate and the revocation. */
export function encodeRevocationEntry (entry: RosterEntry): Uint8Array {
  if (entry.revoked === undefined) throw new BioshardError('ERR_BAD_REQUEST', 'not a revocation entry')
  return encodeCanonical({ cert: toWire(entry.cert), revoked: toWire(entry.revoked) })
}

/** Decode a revocation file. @throws {BioshardError} ERR_DECODE or ERR_TOO_LARGE */
export function decodeRevocationEntry (bytes: Uint8Array): RosterEntry {
  const m = asMap(decodeCanonical(bytes, ROSTER_ENTRY_BYTES, 'revocation file'), 'revocation file', ['cert', 'revoked'])
  return { cert: readNodeCert(m.cert), revoked: readRevocation(m.revoked) }
}

/** The revocation entries in a node directory; unreadable files are reported to `onBad` and skipped. */
export function readRevocationFiles (dir: string, onBad: (file: string, e: Error) => void): RosterEntry[] {
  const folder = join(dir, REVOCATIONS_DIR)
  if (!existsSync(folder)) return []
  const out: RosterEntry[] = []
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.rev')).sort().slice(0, MAX_REVOCATION_FILES)) {
    try {
      out.push(decodeRevocationEntry(readFileSync(join(folder, name))))
    } catch (e) {
      onBad(name, e as Error)
    }
  }
  return out
}

/** Write the node's retirement notice (kept if one is there already) and return it. */
export function writeRetirement (dir: string, key: SigningKey, body: { network: string, peer: string, at: number }): Retirement {
  const known = readRetirementFile(dir)
  if (known !== undefined) return known
  writeFileSync(join(dir, RETIRING_FILE), encodeCanonical(signRetirement(key, body)), { mode: 0o644 })
  return readRetirementFile(dir) as Retirement
}

/** The node's retirement notice, if it has one. @throws {BioshardError} ERR_CONFIG for a corrupt file */
export function readRetirementFile (dir: string): Retirement | undefined {
  const path = join(dir, RETIRING_FILE)
  if (!existsSync(path)) return undefined
  try {
    return readRetirement(decodeCanonical(readFileSync(path), ROSTER_ENTRY_BYTES, 'retirement notice'))
  } catch (e) {
    throw new BioshardError('ERR_CONFIG', `${path} is corrupt: ${(e as Error).message}`, { cause: e })
  }
}

/** Ask a retiring node to finish (it destroys its shares and exits at its next scan, or at start). */
export function requestFinish (dir: string): void {
  writeFileSync(join(dir, FINISH_FILE), '', { mode: 0o600 })
}

/** Whether the operator asked the node to finish retiring. */
export function finishRequested (dir: string): boolean {
  return existsSync(join(dir, FINISH_FILE))
}
