/**
 * `bioshard authority init|admit|tenant`: run a network authority — create
 * its key and network id, admit nodes (node certificates), admit tenants.
 *
 * @module
 */
import { join, resolve } from 'node:path'
import { chmodSync, writeFileSync } from 'node:fs'
import { EXIT, UsageError, type Command } from '../io.ts'
import { parse, required, positive } from '../args.ts'
import { writeTenantCredentials } from '../../client/credentials.ts'
import { initAuthority, loadAuthority, admitNode, admitTenant } from '../../keys/authority.ts'
import { toHex } from '../../crypto/bytes.ts'
import { peerPublicKey } from '../../protocol/fields.ts'

const HELP = `Usage:
  bioshard authority init   --dir <dir>
  bioshard authority admit  --dir <dir> --peer <peerId> --site <name> [--days N] [--out <file>]
  bioshard authority tenant --dir <dir> --name <name> --out <dir> [--days N]

init    creates the authority key (authority.key, 0600) and a network id
        (authority.json, 0644: public, given to nodes and tenants).
admit   issues a node certificate for a peer at a site; writes it to --out
        (default <dir>/certs/<peerId>.cert) and prints the file's path. Copy
        the file to the node directory as node.cert.
tenant  creates a tenant (relying party) key and certificate in --out
        (tenant.key 0600, tenant.cert, authority.json).

Options:
  --days N   validity in days (default 365)
  -h, --help show this help
`

export const command: Command = {
  name: 'authority',
  summary: 'create a network authority; admit nodes and tenants',
  run: async (argv, io) => {
    const { values, positionals } = parse(argv, {
      dir: { type: 'string' },
      peer: { type: 'string' },
      site: { type: 'string' },
      name: { type: 'string' },
      days: { type: 'string' },
      out: { type: 'string' }
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
      default:
        throw new UsageError(positionals[0] === undefined ? 'missing subcommand (init, admit, tenant)' : `unknown subcommand '${positionals[0]}'`)
    }
  }
}
