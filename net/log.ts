/**
 * Scoped debug loggers (`bioshard:<component>`), enabled with
 * `DEBUG=bioshard:*` like libp2p's own. Log lines carry ids, codes and
 * timings only: never template bytes, shares or keys.
 *
 * @module
 */
import { logger as libp2pLogger } from '@libp2p/logger'

/** A debug logger for one component, with libp2p's `%p`/`%a`/`%e` formatters. */
export function logger (component: string): ReturnType<typeof libp2pLogger> {
  return libp2pLogger(`bioshard:${component}`)
}
