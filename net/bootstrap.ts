/**
 * Keeps a node joined through its bootstrap peers. A node whose bootstrap
 * peers cannot be reached at start serves on alone and would never learn
 * of the network: instead it says so (a warning, and its state in
 * `/healthz`) and keeps dialling, with exponential backoff, until one
 * answers; later, if the node loses every peer, it dials them again.
 *
 * @module
 */
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from './log.ts'

const log = logger('bootstrap')

/** First retry delay after a round with no bootstrap peer reached: a restart of the peer takes about this long. */
export const BOOTSTRAP_RETRY_MIN_MS = 1_000
/** Longest delay between rounds: a minute keeps an isolated node's dialling cheap and its recovery prompt. */
export const BOOTSTRAP_RETRY_MAX_MS = 60_000
/** Deadline of one bootstrap dial: a TCP connect plus noise and yamux on a WAN link, as at start (net/host.ts). */
const DIAL_TIMEOUT_MS = 5_000

/** What `/healthz` shows of the bootstrap peers. */
export interface BootstrapState {
  /** Bootstrap addresses configured. */
  configured: number
  /** Whether the node has any connected peer (through a bootstrap peer or otherwise). */
  joined: boolean
  /** Failed rounds since the node last had a peer. */
  failedRounds: number
  /** The last dial error, while no peer is connected. */
  lastError?: string
  /** When the next round is due (ms since the epoch), while retrying. */
  nextAttempt?: number
}

/** Options of a {@link BootstrapKeeper}. */
export interface BootstrapKeeperInit {
  /** Called at the first failed round since the node last had a peer, then at failed rounds 2, 4, 8… */
  onUnreachable?: (state: BootstrapState) => void
  /** Called when a peer is reached again after failed rounds. */
  onJoined?: () => void
  /** @default BOOTSTRAP_RETRY_MIN_MS */
  minDelayMs?: number
  /** @default BOOTSTRAP_RETRY_MAX_MS */
  maxDelayMs?: number
}

/**
 * Dials the bootstrap peers whenever the node has no peer, backing off
 * exponentially between failed rounds.
 *
 * @example
 * const keeper = new BootstrapKeeper(host, config.bootstrap, { onUnreachable: (s) => warn(s.lastError) })
 * keeper.start(); … await keeper.stop()
 */
export class BootstrapKeeper {
  private readonly host: Libp2p
  private readonly addrs: readonly string[]
  private readonly init: BootstrapKeeperInit
  private readonly stopping = new AbortController()
  private loop?: Promise<void>
  private failedRounds = 0
  private lastError?: string
  private nextAttempt?: number

  constructor (host: Libp2p, addrs: readonly string[], init: BootstrapKeeperInit = {}) {
    this.host = host
    this.addrs = addrs
    this.init = init
  }

  /** The current state, for health reports. */
  get state (): BootstrapState {
    const joined = this.host.getPeers().length > 0
    return {
      configured: this.addrs.length,
      joined,
      failedRounds: joined ? 0 : this.failedRounds,
      ...(!joined && this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(!joined && this.nextAttempt !== undefined ? { nextAttempt: this.nextAttempt } : {})
    }
  }

  /** Start watching; a first round runs at once when the node has no peer. */
  start (): void {
    if (this.addrs.length === 0 || this.loop !== undefined) return
    this.loop = this.run().catch((e: Error) => { log.error('bootstrap keeper stopped: %s', e.message) })
  }

  /** Stop dialling and wait for a round in progress to end. */
  async stop (): Promise<void> {
    this.stopping.abort()
    await this.loop
  }

  private async run (): Promise<void> {
    const min = this.init.minDelayMs ?? BOOTSTRAP_RETRY_MIN_MS
    const max = this.init.maxDelayMs ?? BOOTSTRAP_RETRY_MAX_MS
    let delay = min
    while (!this.stopping.signal.aborted) {
      if (this.host.getPeers().length > 0) {
        if (this.failedRounds > 0) this.init.onJoined?.()
        this.failedRounds = 0
        this.lastError = undefined
        this.nextAttempt = undefined
        delay = min
        await this.sleep(max)
        continue
      }
      if (await this.round()) continue
      this.failedRounds++
      this.nextAttempt = Date.now() + delay
      // Warn at the first failed round and then at rounds 2, 4, 8…, so an isolated node's log grows ever more slowly.
      if ((this.failedRounds & (this.failedRounds - 1)) === 0) this.init.onUnreachable?.(this.state)
      await this.sleep(delay)
      delay = Math.min(delay * 2, max)
    }
  }

  /** Dial every bootstrap address once; true when one connected. */
  private async round (): Promise<boolean> {
    const results = await Promise.all(this.addrs.map(async (addr) => {
      try {
        const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
        await this.host.dial(multiaddr(addr), { signal })
        return true
      } catch (e) {
        this.lastError = `${addr}: ${(e as Error).message}`
        log('bootstrap %s failed: %s', addr, (e as Error).message)
        return false
      }
    }))
    return results.includes(true)
  }

  private async sleep (ms: number): Promise<void> {
    if (this.stopping.signal.aborted) return
    const signal = this.stopping.signal
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done)
    })
  }
}
