/**
 * The registry of `bioshard` commands, in the order `--help` lists them.
 *
 * @module
 */
import type { Command } from './io.ts'

export const COMMANDS: readonly Command[] = []
