/**
 * A worker thread that cuts enrolment shares (client/cut-shares.ts) for the
 * simulator. Every node, the tenant's hosts and the measures share the main
 * event loop; sealing, splitting and committing to shares is pure CPU, so on
 * a second core it runs beside the network instead of in its way. Nothing
 * that decides a count runs here: which template goes where is still a
 * function of the seed, fixed on the main thread.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { BioshardError } from '../errors.ts'
import type { CutJob, CutShares, ShareCutter } from '../client/cut-shares.ts'
import type { CutAnswer, CutRequest } from './share-worker.ts'

/** The worker's entry, beside this file (.ts when run from source, .js when built). */
const ENTRY = fileURLToPath(new URL(`./share-worker${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`, import.meta.url))

interface Pending { resolve: (c: CutShares) => void, reject: (e: Error) => void }

/** One share-cutting worker thread; {@link ShareThread.cut} is a {@link ShareCutter}. */
export class ShareThread {
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  #next = 0
  #failed: Error | undefined

  constructor () {
    this.#worker = new Worker(ENTRY)
    this.#worker.on('message', (a: CutAnswer) => { this.#settle(a) })
    this.#worker.on('error', (e) => { this.#fail(e) })
    this.#worker.on('exit', (code) => { this.#fail(new BioshardError('ERR_INTERNAL', `the share thread exited (code ${code})`)) })
  }

  /** Cut shares on the worker; rejects as the in-thread cut would, or when the worker is gone. */
  readonly cut: ShareCutter = async (secret: Uint8Array, job: CutJob): Promise<CutShares> => {
    if (this.#failed !== undefined) throw this.#failed
    const id = this.#next++
    const req: CutRequest = { id, secret, job }
    return await new Promise<CutShares>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage(req)
    })
  }

  /** Stop the worker; cuts still pending reject. */
  async close (): Promise<void> {
    this.#worker.removeAllListeners('exit')
    await this.#worker.terminate()
    this.#fail(new BioshardError('ERR_INTERNAL', 'the share thread was closed'))
  }

  #settle (a: CutAnswer): void {
    const p = this.#pending.get(a.id)
    if (p === undefined) return
    this.#pending.delete(a.id)
    if ('error' in a) p.reject(new BioshardError('ERR_INTERNAL', `cutting shares failed: ${a.error}`))
    else p.resolve({ shares: a.shares, commitments: a.commitments, audits: a.audits })
  }

  #fail (e: Error): void {
    this.#failed ??= e
    for (const p of this.#pending.values()) p.reject(e)
    this.#pending.clear()
  }
}
