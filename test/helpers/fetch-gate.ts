/**
 * Test helper: a gate on the fetch requests real nodes of a LocalNetwork
 * receive (installed as its `hooks.around`, so every node runs its real
 * handler table and only the moment a fetch is served is in the test's
 * hands). A rule decides for each arriving fetch whether it is served at
 * once, refused, or held until the test lets it go; the test waits for
 * arrivals instead of sleeping, so an interleaving such as "the holder stops
 * after it received the request and before it answered" is exact.
 */
import { BioshardError } from '../../errors.ts'
import { PROTOCOL } from '../../protocol/constants.ts'
import type { LocalNetwork } from '../../sim/local-network.ts'

/** What happens to one arriving fetch. */
export type Verdict = 'serve' | 'hold' | 'refuse'

/** Decides for the `count`-th fetch (1-based) since the last reset, arriving at node `node`. */
export type GateRule = (node: number, count: number) => Verdict

interface Held { node: number, go: (serve: boolean) => void }

/** Holds, refuses or serves the fetches of one network's nodes, as its rule says. */
export class FetchGate {
  /** Node index of every fetch that arrived since the last reset, in arrival order. */
  readonly arrived: number[] = []
  #rule: GateRule = () => 'serve'
  #held: Held[] = []
  #waiters: Array<() => void> = []

  /** Install the gate on `net` (every fetch of every node passes it from now on). */
  constructor (net: LocalNetwork) {
    net.hooks = {
      ...net.hooks,
      around: async (node, protocol, _ctx, serve) => await (protocol === PROTOCOL.FETCH ? this.#pass(node, serve) : serve())
    }
  }

  /** Start over with `rule`: every held fetch is served (at a running node) and the arrivals are forgotten. */
  reset (rule: GateRule = () => 'serve'): void {
    this.release()
    this.#rule = rule
    this.arrived.length = 0
  }

  /** Nodes holding a fetch now. */
  get holding (): number[] { return this.#held.map((h) => h.node) }

  /**
   * Let held fetches go: served, or (`serve: false`) ended unanswered, as a
   * stopped node's are (its stream is gone, so nothing reaches the caller).
   */
  release (options: { node?: number, serve?: boolean } = {}): void {
    const going = this.#held.filter((h) => options.node === undefined || h.node === options.node)
    this.#held = this.#held.filter((h) => !going.includes(h))
    for (const h of going) h.go(options.serve ?? true)
  }

  /** Resolves once `ready()` holds, checked at every arrival (no polling, no sleep). */
  async until (ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }

  async #pass (node: number, serve: () => Promise<unknown>): Promise<unknown> {
    this.arrived.push(node)
    const verdict = this.#rule(node, this.arrived.length)
    const waiters = this.#waiters
    this.#waiters = []
    if (verdict === 'refuse') {
      for (const w of waiters) w()
      throw new BioshardError('ERR_BUSY', 'refused by the test')
    }
    if (verdict === 'serve') {
      for (const w of waiters) w()
      return await serve()
    }
    const go = new Promise<boolean>((resolve) => { this.#held.push({ node, go: resolve }) })
    for (const w of waiters) w()
    if (!await go) throw new BioshardError('ERR_ABORTED', 'dropped by the test')
    return await serve()
  }
}
