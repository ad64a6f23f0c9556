/**
 * What the refresh storm (bench/refresh-storm.ts) checks, and counts:
 *
 * - after each kill, offline: the killed node's audit chain verifies, and no
 *   file of it holds a share it had replaced or destroyed by its previous
 *   look (it has started since, and compacted what a kill left), in any form
 *   it was seen in (sealed record, wrapped key, plain bytes); at the end, with
 *   every node stopped and idle, no file holds any share it ever replaced;
 * - after the restarts: every holder the newest manifest lists and that took
 *   its commit serves a share under exactly that manifest; every share served
 *   matches the commitment of the manifest it is served under; no node the
 *   manifest does not list serves a share; t shares served under the newest
 *   manifest open the template, and a real verification accepts a fresh probe.
 *
 * A listed holder that did not take the newest commit may still serve its
 * older (consistent) copy: it is counted as behind, not as undone. A read
 * that gets no answer (a timeout, a busy node) is tried again; a holder that
 * never answers is counted apart from one that answers without the share.
 *
 * @module
 */
import { combineShares, shareMatches, type Share } from '../crypto/shares.ts'
import { decryptTemplate, type TemplateContext } from '../crypto/envelope.ts'
import { equalBytes, toHex, wipe } from '../crypto/bytes.ts'
import { encodeManifest, entryFor, type Manifest } from '../protocol/manifest.ts'
import { manifestDigest } from '../protocol/seal-binding.ts'
import { syntheticProbe } from '../sim/synthetic.ts'
import type { Client } from '../client/client.ts'
import type { NodeFleet } from '../test/helpers/node-fleet.ts'
import type { HolderReader, Served } from '../test/helpers/holder-reader.ts'
import type { Exit } from '../test/helpers/node-process.ts'
import { inspectStopped } from '../test/helpers/stopped-node.ts'
import { LeakPatterns } from '../test/helpers/leak-scan.ts'

/** A template the storm watches: its id, the identity it was enrolled from, its encryption context, the probe stream. */
export interface Watched { id: Uint8Array, identity: Float32Array, context: TemplateContext, rand: () => number }

/** Counts of what went wrong (all but `behind` must stay 0), and the first problems, verbatim. */
export interface StormTally {
  /** Checks after which a template did not open from t shares served under its newest manifest. */
  lost: number
  /** A holder that took a commit serving an older manifest, or nothing. */
  undone: number
  /** A share served that does not match the commitment of the manifest it is served under (or under an unknown manifest). */
  inconsistent: number
  /** A node the newest manifest does not list serving a share of the template. */
  extra: number
  /** Replaced or destroyed share bytes found in a file of the node that held them. */
  leaked: number
  /** Kills after which the node's audit chain did not verify. */
  chainBroken: number
  /** Real verifications of a genuine probe that did not accept. */
  rejected: number
  /** Listed holders that took the newest commit and gave no answer at all (a timeout, unreachable) however often asked. */
  unanswered: number
  /** Listed holders that did not take the newest commit, still serving their older copy (expected after a missed commit). */
  behind: number
  problems: string[]
}

/** A fresh, empty tally. */
export function emptyTally (): StormTally {
  return { lost: 0, undone: 0, inconsistent: 0, extra: 0, leaked: 0, chainBroken: 0, rejected: 0, unanswered: 0, behind: 0, problems: [] }
}

/** Problems kept verbatim. */
const MAX_PROBLEMS = 200
/**
 * Refusals that are a holder's answer about the share: it holds none (of that x), or not under that template. Anything
 * else (a timeout, a busy or unreachable node, a rate limit) is no answer, and the read is tried again.
 */
const ANSWERS = new Set(['ERR_NOT_HOLDER', 'ERR_NOT_FOUND', 'ERR_ERASED', 'ERR_NOT_AUTHORISED', 'ERR_EXPIRED', 'ERR_INTERNAL', 'ERR_DECRYPT'])
/** Reads of one share tried before a holder counts as not answering: each has the reader's own deadlines (20 s fetch, 10 s dial). */
const READ_ATTEMPTS = 4
/** Pause between two reads of a holder that did not answer (ms): a loaded machine's restarted node may still be busy. */
const READ_RETRY_MS = 3_000

/** Per template: every manifest seen (by digest), the newest, and who took its commit. */
interface Known { manifests: Map<string, Manifest>, newest: Manifest, acked: Set<string>, xs: Set<number> }

/**
 * Per node: every form of every share it was seen holding, by slot or template, to scan for once it no longer holds them,
 * and what it no longer held at the last look.
 */
interface Seen { sealed: Map<string, Uint8Array[]>, plain: Map<string, Uint8Array[]>, retired: Uint8Array[] }

function add (map: Map<string, Uint8Array[]>, key: string, bytes: Uint8Array): void {
  const list = map.get(key) ?? []
  if (!list.some((b) => equalBytes(b, bytes))) list.push(bytes)
  map.set(key, list)
}

/** Everything in `map` but what `current` says is held now. */
function retired (map: Map<string, Uint8Array[]>, current: (key: string) => Uint8Array[]): Uint8Array[] {
  return [...map].flatMap(([k, list]) => list.filter((b) => !current(k).some((c) => equalBytes(b, c))))
}

/** The checks of one storm. */
export class StormChecks {
  readonly tally: StormTally = emptyTally()
  readonly #fleet: NodeFleet
  readonly #client: Client
  readonly #reader: HolderReader
  readonly #known = new Map<string, Known>()
  readonly #seen: Seen[]

  constructor (init: { fleet: NodeFleet, client: Client, reader: HolderReader }) {
    this.#fleet = init.fleet
    this.#client = init.client
    this.#reader = init.reader
    this.#seen = init.fleet.nodes.map(() => ({ sealed: new Map(), plain: new Map(), retired: [] }))
  }

  #problem (line: string): void {
    if (this.tally.problems.length < MAX_PROBLEMS) this.tally.problems.push(line)
  }

  /** The maintainer saw `m` committed, taken by `acked`. */
  committed (w: Watched, m: Manifest, acked: string[]): void {
    const key = toHex(w.id)
    const k = this.#known.get(key) ?? { manifests: new Map(), newest: m, acked: new Set(), xs: new Set() }
    k.manifests.set(toHex(manifestDigest(encodeManifest(m))), m)
    for (const s of m.body.shares) k.xs.add(s.x)
    if (m.body.seq >= k.newest.body.seq) { k.newest = m; k.acked = new Set(acked) }
    this.#known.set(key, k)
  }

  /** Node `index` was SIGKILLed: check how it ended, verify its chain, scan its files for what it no longer holds. */
  async killed (index: number, exit: Exit | undefined): Promise<void> {
    if (exit !== undefined && exit.signal !== 'SIGKILL') this.#problem(`node ${index + 1} exited with ${exit.code ?? exit.signal}, not by the kill`)
    await this.#look(index, true)
  }

  /**
   * The last look, once every node is stopped with no round under way: every chain, and every share any node ever
   * replaced or destroyed, however recently.
   */
  async stopped (): Promise<void> {
    for (const n of this.#fleet.nodes) await this.#look(n.index, false)
  }

  /**
   * Verify a stopped node's chain and scan its files for what it no longer holds. With `defer`, bytes retired since its
   * previous look are left to its next one: a kill can land between a share's swap and its compaction, which the store
   * finishes when it opens again.
   */
  async #look (index: number, defer: boolean): Promise<void> {
    const dir = this.#fleet.nodes[index].dir
    const stopped = await inspectStopped(dir)
    if (!stopped.chain.ok) {
      this.tally.chainBroken++
      this.#problem(`node ${index + 1}: audit chain broken at ${stopped.chain.brokenAt}: ${stopped.chain.reason}`)
    }
    const seen = this.#seen[index]
    const now = (slot: string): Uint8Array[] => { const s = stopped.sealed.get(slot); return s === undefined ? [] : [s.record, s.wrappedKey] }
    const last = (key: string): Uint8Array[] => seen.plain.get(key)?.slice(-1) ?? []
    const all = [...retired(seen.sealed, now), ...retired(seen.plain, last)]
    for (const [slot, s] of stopped.sealed) { add(seen.sealed, slot, s.record); add(seen.sealed, slot, s.wrappedKey) }
    const gone = defer ? all.filter((b) => seen.retired.some((r) => equalBytes(r, b))) : all
    seen.retired = all
    const leak = gone.length > 0 ? new LeakPatterns(gone).findInTree(dir) : undefined
    if (leak !== undefined) {
      this.tally.leaked++
      this.#problem(`node ${index + 1}: a replaced share's at-rest bytes (${leak.form}) in ${leak.where} at ${leak.offset}`)
    }
  }

  /** Check every watched template across every node (all running). */
  async all (watched: readonly Watched[]): Promise<void> {
    for (const w of watched) await this.#template(w)
  }

  /** Read node `index`'s share of `w` (its x in the newest manifest, else every x ever used). */
  async #read (index: number, w: Watched, xs: number[]): Promise<Served | string> {
    const n = this.#fleet.nodes[index]
    let last = 'ERR_NOT_HOLDER'
    for (const x of xs) {
      const r = await this.#answer(n.addr as string, n.peer, w.id, x)
      if (typeof r !== 'string') return r
      last = r
    }
    return last
  }

  /** One share read until the holder answers (the share, or a refusal about it), a bounded number of times. */
  async #answer (addr: string, peer: string, id: Uint8Array, x: number): Promise<Served | string> {
    let r: Served | string = 'ERR_TIMEOUT'
    for (let i = 0; i < READ_ATTEMPTS; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS))
      r = await this.#reader.read(addr, peer, id, x)
      if (typeof r !== 'string' || ANSWERS.has(r)) return r
    }
    return r
  }

  async #template (w: Watched): Promise<void> {
    const k = this.#known.get(toHex(w.id)) as Known
    const m = k.newest
    const tag = `template ${toHex(w.id).slice(0, 8)} seq ${m.body.seq}`
    const good: Share[] = []
    for (const n of this.#fleet.nodes) {
      const entry = entryFor(m.body, n.peer)
      const r = await this.#read(n.index, w, entry !== undefined ? [entry.x] : [...k.xs])
      if (entry === undefined) {
        if (typeof r !== 'string') { this.tally.extra++; this.#problem(`${tag}: node ${n.index + 1}, not listed, serves share x ${r.share.x}`) }
        continue
      }
      const ok = this.#judge({ tag, w, k, index: n.index }, r)
      if (ok !== undefined) good.push(ok)
    }
    await this.#opens(tag, w, good, m.body.t)
  }

  /** One listed holder's answer, judged; returns its share when it is a good share of the newest manifest. */
  #judge (c: { tag: string, w: Watched, k: Known, index: number }, r: Served | string): Share | undefined {
    const n = this.#fleet.nodes[c.index]
    const acked = c.k.acked.has(n.peer)
    if (typeof r === 'string') {
      if (!acked) this.tally.behind++
      else if (ANSWERS.has(r)) { this.tally.undone++; this.#problem(`${c.tag}: node ${c.index + 1} took the commit but serves nothing (${r})`) } else {
        this.tally.unanswered++
        this.#problem(`${c.tag}: node ${c.index + 1} took the commit but never answered (${r})`)
      }
      return undefined
    }
    add(this.#seen[c.index].plain, toHex(c.w.id), r.share.bytes.slice())
    const under = c.k.manifests.get(toHex(r.manifest))
    const entry = under !== undefined ? entryFor(under.body, n.peer) : undefined
    if (entry === undefined || entry.x !== r.share.x || !shareMatches(c.w.id, r.share, entry.commitment)) {
      this.tally.inconsistent++
      const which = under === undefined ? 'unknown' : `seq ${under.body.seq}`
      this.#problem(`${c.tag}: node ${c.index + 1} serves a share that does not match the manifest it serves (${which})`)
      return undefined
    }
    if (!equalBytes(r.manifest, manifestDigest(encodeManifest(c.k.newest)))) {
      if (!acked) { this.tally.behind++; return undefined }
      this.tally.undone++
      this.#problem(`${c.tag}: node ${c.index + 1} took the commit but serves seq ${under?.body.seq}`)
      return undefined
    }
    return r.share
  }

  /** t good shares (two different sets of t when there are more) open the template, and verify accepts a fresh probe. */
  async #opens (tag: string, w: Watched, good: Share[], t: number): Promise<void> {
    const sets = good.length > t ? [good.slice(0, t), good.slice(-t)] : [good]
    let opened = good.length >= t
    for (const set of opened ? sets : []) {
      try {
        const secret = await combineShares(set)
        const plain = decryptTemplate(secret, w.context)
        wipe(secret)
        opened &&= plain.length > 0
      } catch {
        opened = false
      }
    }
    if (!opened) { this.tally.lost++; this.#problem(`${tag}: ${good.length} good share(s) do not open the template (t ${t})`) }
    try {
      const v = await this.#client.verify({ templateId: w.id, probe: syntheticProbe(w.identity, w.rand), purpose: 'login' })
      if (!v.accept) { this.tally.rejected++; this.#problem(`${tag}: verify rejected a genuine probe`) }
    } catch (e) {
      this.tally.rejected++
      this.#problem(`${tag}: verify failed: ${(e as Error).message}`)
    }
  }
}
