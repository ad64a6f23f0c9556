/**
 * Kill storm (DESIGN invariant 6, issue 17 "Fault injection on real nodes"):
 * one `bioshard node start` process takes stores and erases from a client
 * while it is SIGKILLed at seeded random moments, and restarted on the same
 * directory after each kill. Every acknowledgement is tracked; after each kill
 * the audit chain is verified offline (the node is down, so LevelDB can be
 * opened) and no file under the directory may hold the bytes of an erased
 * share; after each restart every acknowledged share must be served byte for
 * byte and every acknowledged erase must be refused.
 *
 * Run: `npm run kill-storm -- [--kills 100] [--seed N]` (prints progress and
 * a summary; exit 1 when anything acknowledged was lost or undone, or the
 * chain broke). test/node/kill-storm.test.ts runs a seeded slice.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Rng, freshSeed } from '../sim/rng.ts'
import { equalBytes } from '../crypto/bytes.ts'
import { BioshardError } from '../errors.ts'
import { openNodeDb } from '../node/store/db.ts'
import { verifyAuditLog } from '../node/audit/verify.ts'
import { LoneNode, type Held } from '../test/helpers/lone-node.ts'
import { LeakPatterns } from '../test/helpers/leak-scan.ts'

/** What a storm is asked to do. */
export interface KillStormOptions {
  /** SIGKILLs to deliver (one restart after each). */
  kills: number
  /** Seed of the kill moments and of the choice between store and erase. */
  seed: number
  /** Called with one line per kill. */
  onProgress?: (line: string) => void
}

/** What a storm found. `lost`, `undone`, `leaked` and `chainBroken` must all be 0. */
export interface KillStormSummary {
  seed: number
  kills: number
  ackedStores: number
  ackedErases: number
  /** Acknowledged stores (never asked to be erased) not served byte for byte after a restart. */
  lost: number
  /** Acknowledged erases whose share was served again after a restart. */
  undone: number
  /** Acknowledged erases whose share bytes were found in a file under the node directory. */
  leaked: number
  /** Kills after which the audit chain did not verify. */
  chainBroken: number
  /** Reads of the checks the node never answered (a timeout, busy, unreachable), however often tried: neither served nor refused. */
  unanswered: number
  /** Audit records in the chain after the last kill. */
  chainEntries: number
  /** First problems found, for the report. */
  problems: string[]
}

/** Requests the client keeps in flight while waiting for the kill. */
const WORKERS = 3
/** A kill lands this many ms (seeded, uniform) after the first acknowledgement of the round: amid the stores and erases in flight. */
const KILL_AFTER_MS: readonly [number, number] = [0, 400]
/** How long a restart may take to print `ready` on a loaded machine. */
const READY_TIMEOUT_MS = 90_000
/** Chance a worker erases an acknowledged share rather than storing a new one. */
const ERASE_CHANCE = 0.35
/** Deadline of one request: a kill makes every request in flight fail, well within it. */
const REQUEST_TIMEOUT_MS = 5_000
/**
 * Deadline of one read of the checks after a restart: a loaded machine (load average 20 and more) can keep a freshly started
 * node from answering within REQUEST_TIMEOUT_MS, and a slow answer is not a lost share.
 */
const CHECK_TIMEOUT_MS = 30_000
/** Reads of one share tried before a node that gives no answer (a timeout, busy, unreachable) counts as not serving it. */
const CHECK_ATTEMPTS = 3
/** Answers of the node about a share: anything else is no answer, and the read is tried again. */
const ANSWERS: ReadonlySet<string> = new Set(['ERR_NOT_FOUND', 'ERR_NOT_HOLDER', 'ERR_ERASED', 'ERR_NOT_AUTHORISED', 'ERR_DECRYPT', 'ERR_INTERNAL'])
/** Problems kept verbatim in the summary. */
const MAX_PROBLEMS = 10

/** Every template's fate as the client saw it. */
interface Ledger {
  /** Stores acknowledged and never sent an erase. */
  live: Held[]
  /** Erases acknowledged. */
  erased: Held[]
  /** Erases sent but not acknowledged (either outcome is right). */
  unsure: Held[]
  ackedStores: number
}

/** One storm over one node directory. */
class Storm {
  readonly #lone: LoneNode
  /** Kill moments, and the choice between store and erase, from streams of their own. */
  readonly #kills: Rng
  readonly #ops: Rng
  readonly #ledger: Ledger = { live: [], erased: [], unsure: [], ackedStores: 0 }
  readonly summary: KillStormSummary

  constructor (lone: LoneNode, seed: number) {
    this.#lone = lone
    const rng = new Rng(seed)
    this.#kills = rng.fork('kills')
    this.#ops = rng.fork('ops')
    const counts = { lost: 0, undone: 0, leaked: 0, chainBroken: 0, unanswered: 0, chainEntries: 0 }
    this.summary = { seed, kills: 0, ackedStores: 0, ackedErases: 0, ...counts, problems: [] }
  }

  #problem (line: string): void {
    if (this.summary.problems.length < MAX_PROBLEMS) this.summary.problems.push(line)
  }

  /** One store or erase, chosen by the seeded stream; its acknowledgement (or not) goes into the ledger. */
  async #operate (): Promise<void> {
    const l = this.#ledger
    if (l.live.length > 0 && this.#ops.chance(ERASE_CHANCE)) {
      const [s] = l.live.splice(this.#ops.int(0, l.live.length - 1), 1)
      l.unsure.push(s)
      await this.#lone.erase(s, { timeoutMs: REQUEST_TIMEOUT_MS })
      l.unsure.splice(l.unsure.indexOf(s), 1)
      l.erased.push(s)
      return
    }
    const s = await this.#lone.prepare()
    await this.#lone.store(s, { timeoutMs: REQUEST_TIMEOUT_MS })
    l.live.push(s)
    l.ackedStores++
  }

  /** Workers store and erase until the node dies under them; it is killed at a seeded moment. */
  async #workUntilKilled (): Promise<void> {
    const node = this.#lone.node!
    const run = { dead: false }
    let acked: () => void = () => {}
    const firstAck = new Promise<void>((resolve) => { acked = resolve })
    const worker = async (): Promise<void> => {
      while (!run.dead) { await this.#operate(); acked() }
    }
    const workers = Array.from({ length: WORKERS }, async () => { await worker().catch(() => { run.dead = true; acked() }) })
    await firstAck
    await new Promise((resolve) => setTimeout(resolve, this.#kills.int(KILL_AFTER_MS[0], KILL_AFTER_MS[1])))
    node.child.kill('SIGKILL')
    const exit = await node.exited
    run.dead = true
    await Promise.all(workers)
    if (exit.signal !== 'SIGKILL') this.#problem(`kill ${this.summary.kills + 1}: node exited with ${exit.code ?? exit.signal}, not by the kill`)
    this.summary.kills++
  }

  /**
   * The audit chain verified, and the files scanned for erased bytes, offline
   * while the node is down (a running node's compactions delete files under a scan).
   */
  async #checkOffline (): Promise<void> {
    const erased = this.#ledger.erased.flatMap((s) => [s.held.bytes, s.template, s.secret])
    const leak = erased.length > 0 ? new LeakPatterns(erased).findInTree(this.#lone.dir) : undefined
    if (leak !== undefined) {
      this.summary.leaked++
      this.#problem(`kill ${this.summary.kills}: erased bytes (${leak.form}) in ${leak.where} at ${leak.offset}`)
    }
    const db = await openNodeDb(this.#lone.dir, { createIfMissing: false })
    try {
      const v = await verifyAuditLog(db)
      if (v.ok) {
        this.summary.chainEntries = v.count
      } else {
        this.summary.chainBroken++
        this.#problem(`kill ${this.summary.kills}: audit chain broken at ${v.brokenAt}: ${v.reason}`)
      }
    } finally {
      await db.close()
    }
  }

  /** The node's answer about `s`: the share it serves, or its refusal; a read it gives no answer to is tried again (bounded). */
  async #read (s: Held): Promise<Uint8Array | Error> {
    let got: Uint8Array | Error = new Error('not read')
    for (let i = 0; i < CHECK_ATTEMPTS; i++) {
      got = await this.#lone.fetch(s, { timeoutMs: CHECK_TIMEOUT_MS }).catch((e: Error) => e)
      if (!(got instanceof Error) || ANSWERS.has((got as { code?: string }).code ?? '')) return got
    }
    return got
  }

  /** After a restart: every acknowledged store served, every acknowledged erase refused (a node that never answers is neither). */
  async #checkServed (): Promise<void> {
    for (const s of this.#ledger.live) {
      const share = await this.#read(s)
      if (share instanceof Uint8Array && equalBytes(share, s.held.bytes)) continue
      const answered = !(share instanceof Error) || ANSWERS.has((share as { code?: string }).code ?? '')
      if (answered) this.summary.lost++
      else this.summary.unanswered++
      this.#problem(`kill ${this.summary.kills}: acknowledged share not served: ${share instanceof Error ? share.message : 'other bytes'}`)
    }
    for (const s of this.#ledger.erased) {
      const share = await this.#read(s)
      if (share instanceof BioshardError && ANSWERS.has(share.code)) continue
      if (share instanceof Uint8Array) this.summary.undone++
      else this.summary.unanswered++
      this.#problem(`kill ${this.summary.kills}: acknowledged erase ${share instanceof Error ? `not answered: ${share.message}` : 'undone: share served'}`)
    }
  }

  /** Start, then `kills` times: work, kill, verify the chain, restart, check. */
  async run (kills: number, onProgress: (line: string) => void): Promise<KillStormSummary> {
    await this.#lone.start([], { readyTimeoutMs: READY_TIMEOUT_MS })
    for (let i = 0; i < kills; i++) {
      const before = { stores: this.#ledger.ackedStores, erases: this.#ledger.erased.length }
      await this.#workUntilKilled()
      await this.#checkOffline()
      await this.#lone.start([], { readyTimeoutMs: READY_TIMEOUT_MS })
      await this.#checkServed()
      const l = this.#ledger
      this.summary.ackedStores = l.ackedStores
      this.summary.ackedErases = l.erased.length
      onProgress(`kill ${i + 1}/${kills}: +${l.ackedStores - before.stores} stores, +${l.erased.length - before.erases} erases acknowledged ` +
        `(${l.ackedStores} / ${l.erased.length} in all), lost ${this.summary.lost}, undone ${this.summary.undone}, ` +
        `chain ${this.summary.chainBroken === 0 ? 'ok' : 'BROKEN'} (${this.summary.chainEntries} entries)`)
    }
    return this.summary
  }
}

/**
 * Run a kill storm against a fresh node directory (removed afterwards).
 *
 * @param options how many kills, the seed, where progress goes
 * @returns what the storm found (all of `lost`, `undone`, `leaked`, `chainBroken` 0 when the node held)
 * @example const s = await killStorm({ kills: 5, seed: 1 })
 */
export async function killStorm (options: KillStormOptions): Promise<KillStormSummary> {
  const root = mkdtempSync(join(tmpdir(), 'bioshard-kill-storm-'))
  const lone = await LoneNode.create(root)
  try {
    return await new Storm(lone, options.seed).run(options.kills, options.onProgress ?? (() => {}))
  } finally {
    await lone.close()
    rmSync(root, { recursive: true, force: true })
  }
}

/** One line of summary, as printed and as recorded in docs/security.md. */
export function formatSummary (s: KillStormSummary): string {
  return `kills ${s.kills}, acked stores ${s.ackedStores}, acked erases ${s.ackedErases}, lost ${s.lost}, undone ${s.undone}, ` +
    `erased bytes found ${s.leaked}, not answered ${s.unanswered}, ` +
    `chain ${s.chainBroken === 0 ? 'ok' : `broken after ${s.chainBroken} kills`} (${s.chainEntries} entries), seed ${s.seed}`
}

async function main (): Promise<number> {
  const { values } = parseArgs({ options: { kills: { type: 'string', default: '100' }, seed: { type: 'string' } } })
  const kills = Number(values.kills)
  const seed = values.seed !== undefined ? Number(values.seed) : freshSeed()
  if (!Number.isInteger(kills) || kills < 1) throw new RangeError('--kills must be a positive integer')
  process.stdout.write(`kill storm: ${kills} SIGKILLs, seed ${seed}\n`)
  const started = performance.now()
  const s = await killStorm({ kills, seed, onProgress: (line) => { process.stdout.write(`${line}\n`) } })
  const load = loadavg().map((l) => l.toFixed(1)).join(' ')
  process.stdout.write(`summary: ${formatSummary(s)}, ${((performance.now() - started) / 1000).toFixed(0)} s, load average ${load}\n`)
  for (const p of s.problems) process.stdout.write(`  ${p}\n`)
  return s.lost + s.undone + s.leaked + s.chainBroken + s.unanswered === 0 ? 0 : 1
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main()
