/**
 * Test helper: find a run of consecutive free TCP ports on 127.0.0.1, for
 * documented commands and generated configs that name fixed ports (site k
 * on base + k - 1). Each port is bound and released to check it is free.
 */
import { createServer } from 'node:net'

async function free (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => { resolve(false) })
    s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
  })
}

/** The first port of `count` consecutive free ports, searched from a random start in [20000, 60000). */
export async function freePortRun (count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000)
    let ok = true
    for (let i = 0; i < count && ok; i++) ok = await free(base + i)
    if (ok) return base
  }
  throw new Error(`no run of ${count} free ports found`)
}
