/**
 * Entry of the simulator's share-cutting thread (started by
 * sim/share-thread.ts): receives a template and a job, answers with the
 * shares and their commitments (client/cut-shares.ts). The template and this
 * thread's copies of the shares are wiped once the answer is posted (posting
 * copies them).
 *
 * @module
 */
import { parentPort } from 'node:worker_threads'
import { wipe } from '../crypto/bytes.ts'
import { cutShares, type CutJob } from '../client/cut-shares.ts'

/** One request from the main thread. */
export interface CutRequest { id: number, secret: Uint8Array, job: CutJob }
/** One answer: the cut, or the error's message. */
export type CutAnswer =
  | { id: number, shares: Array<{ x: number, bytes: Uint8Array }>, commitments: Uint8Array[], audits: Uint8Array[] }
  | { id: number, error: string }

async function answer (req: CutRequest): Promise<CutAnswer> {
  try {
    const cut = await cutShares(req.secret, req.job)
    return { id: req.id, ...cut }
  } catch (e) {
    return { id: req.id, error: (e as Error).message }
  } finally {
    wipe(req.secret)
  }
}

parentPort?.on('message', (req: CutRequest) => {
  void answer(req).then((a) => {
    parentPort?.postMessage(a)
    if ('shares' in a) for (const s of a.shares) wipe(s.bytes)
  })
})
