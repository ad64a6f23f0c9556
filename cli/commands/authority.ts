/**
 * `bioshard authority init|admit|tenant|revoke`: run a network authority —
 * create its key and network id, admit nodes (node certificates), admit
 * tenants, revoke nodes.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse, required, positive, type Values } from '../args.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'
import { initAuthority, loadAuthority, admitNode, admitTenant, revokeNode } from '../../keys/authority.ts'
import { ensurePrivateDir } from '../../keys/files.ts'
import { decodeCanonical } from '../../crypto/canonical.ts'
import { readNodeCert } from '../../protocol/certs.ts'
import { encodeRevocationEntry, REVOCATIONS_DIR } from '../../node/standing.ts'
import { BioshardError } from '../../errors.ts'
import { toHex } from '../../crypto/bytes.ts'
import { peerPublicKey } from '../../protocol/fields.ts'

const HELP = `Usage:
  bioshard authority init   --dir <dir>
  bioshard authority admit  --dir <dir> --peer <peerId> --site <name> [--days N] [--out <file>]
  bioshard authority tenant --dir <dir> --name <name> --out <dir> [--days N]
  bioshard authority revoke --dir <dir> --peer <peerId> [--cert <file>] [--out <file>]

init    creates the authority key (authority.key, 0600) and a network id
        (authority.json, 0644: public, given to nodes and tenants).
admit   issues a node certificate for a peer at a site; writes it to --out
        (default <dir>/certs/<peerId>.cert) and prints the file's path. Copy
        the file to the node directory as node.cert.
tenant  creates a tenant (relying party) key and certificate in --out
        (tenant.key 0600, tenant.cert, authority.json).
revoke  signs a revocation of a node (its certificate, default
        <dir>/certs/<peerId>.cert, with the authority's revocation) and writes
        it to --out (default <dir>/revocations/<peerId>.rev). Copy the file
        into the revocations/ folder of any running node: the network learns
        it from there, drops the node and refuses it from then on.

Options:
  --days N   validity in days (default 365)
  -h, --help show this help
`

/** `authority revoke`: sign a revocation of a node and write it where an operator can hand it to a node. */
function revoke (dir: string, values: Values, io: CliIo): number {
  const peer = required(values, 'peer')
  try { peerPublicKey(peer) } catch (e) { throw new UsageError(`--peer: ${(e as Error).message}`) }
  const certPath = typeof values.cert === 'string' ? resolve(values.cert) : join(dir, 'certs', `${peer}.cert`)
  if (!existsSync(certPath)) throw new BioshardError('ERR_CONFIG', `no certificate of ${peer} at ${certPath}; give it with --cert`)
  const cert = readNodeCert(decodeCanonical(readFileSync(certPath), 4096, 'node certificate'))
  if (cert.body.peer !== peer) throw new BioshardError('ERR_CONFIG', `${certPath} is the certificate of ${cert.body.peer}, not ${peer}`)
  const entry = revokeNode(loadAuthority(dir), cert)
  let out = join(dir, REVOCATIONS_DIR, `${peer}.rev`)
  if (typeof values.out === 'string') out = resolve(values.out)
  else ensurePrivateDir(join(dir, REVOCATIONS_DIR))
  writeFileSync(out, encodeRevocationEntry(entry), { mode: 0o644 })
  io.stdout(`${out}\n`)
  io.stderr(`revocation of ${peer} written to ${out}; copy it into <node dir>/${REVOCATIONS_DIR}/ of a running node\n`)
  return EXIT.OK
}

export const command: Command = {
  name: 'authority',
  summary: 'create a network authority; admit nodes and tenants; revoke nodes',
  run: async (argv, io) => {
    const { values, positionals } = parse(argv, {
      dir: { type: 'string' },
      peer: { type: 'string' },
      site: { type: 'string' },
      name: { type: 'string' },
      days: { type: 'string' },
      out: { type: 'string' },
      cert: { type: 'string' }
    })
    if (values.help === true) { io.stdout(HELP); return EXIT.OK }
    const dir = resolve(required(values, 'dir'))
    switch (positionals[0]) {
      case 'init': {
        const info = initAuthority(dir)
        // authority.json is public, meant to be copied to nodes and tenants: readable by all, like a certificate.
        chmodSync(join(dir, 'authority.json'), 0o644)
        io.stdout(`authority created in ${dir}\nnetwork    ${info.network}\npublic key ${toHex(info.publicKey)}\n`)
        return EXIT.OK
      }
      case 'admit': {
        const peer = required(values, 'peer')
        // A peer id that is not Ed25519 is a bad command line (exit 2), not a failed operation.
        try { peerPublicKey(peer) } catch (e) { throw new UsageError(`--peer: ${(e as Error).message}`) }
        const site = required(values, 'site')
        const authority = loadAuthority(dir)
        const { bytes } = admitNode(authority, peer, site, { days: positive(values, 'days', 365) })
        const out = typeof values.out === 'string' ? resolve(values.out) : join(dir, 'certs', `${peer}.cert`)
        writeFileSync(out, bytes, { mode: 0o644 })
        io.stdout(`${out}\n`)
        io.stderr(`node certificate for ${peer} at site ${site} written to ${out}\n`)
        return EXIT.OK
      }
      case 'tenant': {
        const name = required(values, 'name')
        const out = resolve(required(values, 'out'))
        const authority = loadAuthority(dir)
        const tenant = admitTenant(authority, name, { days: positive(values, 'days', 365) })
        writeTenantCredentials(out, tenant, authority.info)
        io.stdout(`tenant ${name} created in ${out}\npublic key ${toHex(tenant.key.publicKey)}\n`)
        return EXIT.OK
      }
      case 'revoke': return revoke(dir, values, io)
      default:
        throw new UsageError(positionals[0] === undefined ? 'missing subcommand (init, admit, tenant, revoke)' : `unknown subcommand '${positionals[0]}'`)
    }
  }
}
