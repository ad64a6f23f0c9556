/**
 * The registry of `bioshard` commands, in the order `--help` lists them.
 *
 * @module
 */
import type { Command } from './io.ts'
import { command as devnet } from './commands/devnet.ts'
import { command as authority } from './commands/authority.ts'
import { command as node } from './commands/node.ts'
import { command as audit } from './commands/audit.ts'
import { enrollCommand, verifyCommand, eraseCommand } from './commands/client-commands.ts'
import { command as embed } from './commands/embed.ts'
import { command as evaluate } from './commands/eval.ts'

export const COMMANDS: readonly Command[] = [devnet, enrollCommand, verifyCommand, eraseCommand, authority, node, audit, embed, evaluate]
