/**
 * The registry of `bioshard` commands, in the order `--help` lists them.
 * Each command's module is imported only when that command runs, so a site
 * node (`bioshard node start`) never loads what other commands need (the
 * face pipeline's ONNX Runtime and image decoder, the simulator). A test
 * checks that each name and summary here matches its module's own.
 *
 * @module
 */
import type { Command } from './io.ts'

/** A command whose module is imported when it first runs. */
export interface LazyCommand extends Command {
  /** Import the command's module. */
  load: () => Promise<Command>
}

function lazy (name: string, summary: string, load: () => Promise<Command>): LazyCommand {
  return { name, summary, load, run: async (argv, io) => await (await load()).run(argv, io) }
}

export const COMMANDS: readonly LazyCommand[] = [
  lazy('devnet', 'run a local network and show the whole flow (npm start)', async () => (await import('./commands/devnet.ts')).command),
  lazy('enroll', 'enrol a template on a running network (JSON out)', async () => (await import('./commands/client-commands.ts')).enrollCommand),
  lazy('verify', 'verify a probe against an enrolled template (JSON out)', async () => (await import('./commands/client-commands.ts')).verifyCommand),
  lazy('erase', 'erase a template at every holder (JSON out)', async () => (await import('./commands/client-commands.ts')).eraseCommand),
  lazy('maintain', 'audit, repair and refresh a tenant\'s templates, once or on a schedule', async () => (await import('./commands/maintain.ts')).command),
  lazy('authority', 'create a network authority; admit nodes and tenants; revoke nodes', async () => (await import('./commands/authority.ts')).command),
  lazy('node', 'set up (init), run (start) and retire a site node', async () => (await import('./commands/node.ts')).command),
  lazy('network', 'write an authority, N site directories and their systemd units; add a site', async () => (await import('./commands/network.ts')).command),
  lazy('audit', 'verify a node\'s audit log offline', async () => (await import('./commands/audit.ts')).command),
  lazy('embed', 'print the face embedding of a photo as JSON', async () => (await import('./commands/embed.ts')).command),
  lazy('eval', 'measure face matching accuracy on a labelled photo set (HTML + JSON report)', async () => (await import('./commands/eval.ts')).command),
  lazy('sim', 'run a seeded scenario on a network of real nodes (JSON + HTML report)', async () => (await import('./commands/sim.ts')).command)
]
