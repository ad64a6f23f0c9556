/**
 * The registry of `bioshard` commands, in the order `--help` lists them.
 *
 * @module
 */
import type { Command } from './io.ts'
import { command as authority } from './commands/authority.ts'
import { command as node } from './commands/node.ts'
import { command as audit } from './commands/audit.ts'

export const COMMANDS: readonly Command[] = [authority, node, audit]
