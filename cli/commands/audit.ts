/**
 * `bioshard audit verify --dir D`: check a stopped node's audit chain
 * offline, for an operator or the regulator they hand it to.
 *
 * Exit codes: 0 when the chain is intact, 1 (EXIT.FAILURE) when it is broken,
 * 2 for a bad command line. The node must be stopped (LevelDB allows one
 * process); a running node is reported as ERR_BUSY.
 *
 * @module
 */
import { EXIT, UsageError, type CliIo, type Command } from '../io.ts'
import { parse, required } from '../args.ts'
import { openNodeDb } from '../../node/store/db.ts'
import { verifyAuditLog } from '../../node/audit/verify.ts'

const HELP = `Usage: bioshard audit verify --dir <node-dir>

Verify the node's hash-chained audit log offline: every record's hash and its
link to the one before. The node must be stopped.

Prints "audit log ok: N entries, head <hex>" and exits 0, or
"audit log broken at entry S: <reason>" and exits 1.
A log cut short at its end still verifies; compare the head with one you
recorded earlier to detect that.

Options:
  --dir <path>  the node directory (holds db/)
  -h, --help    show this help
`

/**
 * The `audit` command group.
 *
 * @example await command.run(['verify', '--dir', '/var/lib/bioshard'], io)
 */
export const command: Command = {
  name: 'audit',
  summary: 'verify a node\'s audit log offline',
  run: async (argv: string[], io: CliIo): Promise<number> => {
    const { values, positionals } = parse(argv, { dir: { type: 'string' } })
    if (values.help === true) {
      io.stdout(HELP)
      return EXIT.OK
    }
    const [sub, ...extra] = positionals
    if (sub === undefined) throw new UsageError('missing subcommand (verify)')
    if (sub !== 'verify') throw new UsageError(`unknown subcommand '${sub}'`)
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)
    const dir = required(values, 'dir')

    const db = await openNodeDb(dir, { createIfMissing: false })
    try {
      const v = await verifyAuditLog(db)
      if (v.ok) {
        io.stdout(`audit log ok: ${v.count} entries, head ${v.head}\n`)
        return EXIT.OK
      }
      io.stdout(`audit log broken at entry ${v.brokenAt}: ${v.reason}\n`)
      return EXIT.FAILURE
    } finally {
      await db.close()
    }
  }
}
