/**
 * One node host thread seen from the main thread: requests with a deadline
 * each, link changes posted in order, and death turned into a typed error.
 * A thread that exits or throws fails every request waiting on it and every
 * later one with a {@link HostThreadError} naming the thread and the run's
 * seed; a request past its deadline fails the same way, so nothing waits on
 * a thread for ever.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { BioshardError } from '../errors.ts'
import type { LinkChange } from './link-state.ts'
import type { HostAnswer, HostInit, HostMessage, HostRequest } from './host-protocol.ts'

/** The host's entry, beside this file (.ts when run from source, .js when built). */
const ENTRY = fileURLToPath(new URL(`./node-host${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`, import.meta.url))

/** A node host thread died or stopped answering; the run cannot go on. */
export class HostThreadError extends BioshardError {
  /** The thread's number (0-based). */
  readonly thread: number
  /** The run's seed, to replay it. */
  readonly seed: number
  constructor (o: { thread: number, seed: number, what: string, timeout?: boolean }) {
    super(o.timeout === true ? 'ERR_TIMEOUT' : 'ERR_INTERNAL', `node host thread ${o.thread} ${o.what} (seed ${o.seed})`)
    this.name = 'HostThreadError'
    this.thread = o.thread
    this.seed = o.seed
  }
}

interface Pending { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

/** One node host thread (see the module doc). */
export class HostThread {
  readonly thread: number
  readonly #seed: number
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  readonly #onDeath: (e: HostThreadError) => void
  #next = 0
  #dead: HostThreadError | undefined
  #closing = false
  #exited = false

  /** Start thread `init.thread` of a run with `seed`; `onDeath` is told once if it dies before {@link HostThread.close}. */
  constructor (init: HostInit, seed: number, onDeath: (e: HostThreadError) => void) {
    this.thread = init.thread
    this.#seed = seed
    this.#onDeath = onDeath
    this.#worker = new Worker(ENTRY, { workerData: init })
    this.#worker.on('message', (a: HostAnswer) => { this.#settle(a) })
    this.#worker.on('error', (e) => { this.#die(`failed: ${e.message}`) })
    this.#worker.on('exit', (code) => {
      this.#exited = true
      this.#die(`exited (code ${code})`)
    })
  }

  /** Is the thread still running (not yet exited)? */
  get running (): boolean { return !this.#exited }

  /**
   * Ask the host; rejects with the host's error (a BioshardError when it had a code), or a
   * {@link HostThreadError} when the thread is dead or does not answer within `deadlineMs`.
   */
  async request<T> (request: HostRequest, deadlineMs: number): Promise<T> {
    if (this.#dead !== undefined) throw this.#dead
    const id = this.#next++
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new HostThreadError({ thread: this.thread, seed: this.#seed, what: `did not answer '${request.op}' within ${deadlineMs} ms`, timeout: true }))
      }, deadlineMs)
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.#post({ id, request })
    })
  }

  /** Post a link message (no answer; applied before any later request). */
  post (m: { links: { seed: number, peers: string[] } } | { change: LinkChange }): void {
    if (this.#dead === undefined) this.#post(m)
  }

  /** Stop the thread (its nodes first, within `deadlineMs`); waiting requests reject. */
  async close (deadlineMs: number): Promise<void> {
    if (this.#dead === undefined) await this.request({ op: 'stop-all' }, deadlineMs).catch(() => undefined)
    this.#closing = true
    await this.#worker.terminate()
    this.#die('was stopped')
  }

  /** Terminate the thread at once, as a crash of it would (its nodes are not stopped). */
  async kill (): Promise<void> { await this.#worker.terminate() }

  #post (m: HostMessage): void { this.#worker.postMessage(m) }

  #settle (a: HostAnswer): void {
    const p = this.#pending.get(a.id)
    if (p === undefined) return
    this.#pending.delete(a.id)
    clearTimeout(p.timer)
    if (a.ok) p.resolve(a.value)
    else p.reject(a.code !== undefined ? new BioshardError(a.code as BioshardError['code'], a.message) : new Error(a.message))
  }

  #die (what: string): void {
    if (this.#dead !== undefined) return
    this.#dead = new HostThreadError({ thread: this.thread, seed: this.#seed, what })
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer)
      p.reject(this.#dead)
    }
    this.#pending.clear()
    if (!this.#closing) this.#onDeath(this.#dead)
  }
}
