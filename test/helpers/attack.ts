/**
 * Sustained abuse of real nodes by admitted peers, as the `under-attack`
 * benchmark runs it: against each target node, an identity (a fresh peer id
 * proving the attacker tenant's certificate) commits one kind of abuse as
 * fast as it can until the node cuts it off, then the attacker comes back
 * with a new peer id. A certified client's peer id costs nothing to make, so
 * a cut-off costs the attacker one admission exchange. The moves themselves
 * are abuse.ts's. {@link spawnAttacker} runs the attack in a process of its
 * own (attacker.ts), as an attacker runs it from its own machine.
 */
import { spawn } from 'node:child_process'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Stream } from '@libp2p/interface'
import { FRESHNESS_WINDOW_MS, PROTOCOL } from '../../protocol/constants.ts'
import { prepareFetch } from '../../client/holder-requests.ts'
import { answerOf, sendFetchBytes, slowSender, UNANSWERED } from './abuse.ts'
import { AttackIdentity, prepareAttacker, type AttackPlan, type AttackTarget, type AttackerParty } from './attack-identity.ts'

export type { AttackPlan, AttackTarget, AttackKind } from './attack-identity.ts'

/** What the attack got: requests served, refusals by code, streams the nodes let open, identities cut off and used. */
export interface AttackStats { served: number, refused: Record<string, number>, opened: number, cutOff: number, peerIds: number }

/** Requests a replaying or skewed identity keeps in flight: enough to keep a node's fetch handler busy, under its stream limit. */
const REQUESTS_IN_FLIGHT = 8
/** How far beyond the freshness window a skewed request is dated (ms), either way: far enough that it never drifts back in. */
const SKEW_BEYOND_MS = 10 * 60_000
/** Stream opens a flooding identity keeps in flight at once; each is replaced as soon as it settles. */
const OPENS_IN_FLIGHT = 32
/** Slow senders per identity, and the pause between two of a sender's bytes (ms). */
const SLOW_SENDERS = 128
const SLOW_BYTE_MS = 500
/** Deadline of one attack request (ms): a node that does not answer within it has cut the sender off. */
const ATTACK_REQUEST_MS = 5_000
/** Pause before an identity is replaced: only keeps a refused dial from spinning. */
const COMEBACK_MS = 20
/** Connections a flooding identity opens to its target: a peer may hold several (a node bounds its streams over all of them). */
const FLOOD_CONNECTIONS = 4
/** The holder protocols a stream flood cycles over: each has a stream bound of its own. */
const FLOOD_PROTOCOLS = [PROTOCOL.FETCH, PROTOCOL.STORE, PROTOCOL.ERASE, PROTOCOL.AUDIT, PROTOCOL.MAINTAIN] as const
/** Outcomes that mean the node has cut the identity off. */
const CUT_OFF = new Set(['ERR_BUSY', 'ERR_TIMEOUT', 'ERR_NOT_ADMITTED'])

/** A running attack of one kind on every target, with its running {@link AttackStats}. */
export class Attack {
  readonly stats: AttackStats = { served: 0, refused: {}, opened: 0, cutOff: 0, peerIds: 0 }
  private readonly plan: AttackPlan
  private stopped = false
  private readonly loops: Array<Promise<void>> = []
  private party?: AttackerParty

  constructor (plan: AttackPlan) {
    this.plan = plan
  }

  /** Prepare the attacker (its verifier, enclave and template, when the kind needs one), then attack every target. */
  async start (): Promise<this> {
    const party = await prepareAttacker(this.plan)
    this.party = party
    for (const target of this.plan.targets) this.loops.push(this.attackTarget(party, target))
    return this
  }

  /** Stop every identity and wait for them to finish. */
  async stop (): Promise<AttackStats> {
    this.stopped = true
    await Promise.all(this.loops)
    return this.stats
  }

  /** Count one outcome; none once the attack is stopping (what ends then is the attacker's own doing). */
  private count (outcome: string): void {
    if (this.stopped) return
    if (outcome === 'ok') this.stats.served++
    else this.stats.refused[outcome] = (this.stats.refused[outcome] ?? 0) + 1
  }

  /** Identity after identity against one target, until stopped. */
  private async attackTarget (party: AttackerParty, target: AttackTarget): Promise<void> {
    while (!this.stopped) {
      const id = await AttackIdentity.connect(party, target).catch(() => undefined)
      if (id !== undefined) {
        this.stats.peerIds++
        try { await this.abuse(id) } catch {} finally { await id.close() }
      }
      this.stats.cutOff++
      await new Promise((resolve) => setTimeout(resolve, COMEBACK_MS))
    }
  }

  /** Whether `id` is still worth using: not stopped, still connected, its last outcome not a cut-off. */
  private going (id: AttackIdentity, last = 'ok'): boolean {
    return !this.stopped && id.connected() && !CUT_OFF.has(last)
  }

  private async abuse (id: AttackIdentity): Promise<void> {
    switch (this.plan.kind) {
      case 'replay': await this.replay(id); break
      case 'skew': await this.skew(id); break
      case 'streams': await this.floodStreams(id); break
      case 'slow': await this.slowSenders(id)
    }
  }

  /** One signed fetch request, sent once and then again and again. */
  private async replay (id: AttackIdentity): Promise<void> {
    const bytes = prepareFetch(id.host, this.fetchOrder()).bytes
    let last = 'ok'
    const send = async (): Promise<void> => {
      last = await sendFetchBytes(id.host, id.peer, bytes, ATTACK_REQUEST_MS)
      this.count(last)
    }
    await send()
    await this.inFlight(REQUESTS_IN_FLIGHT, () => this.going(id, last), send)
  }

  /** Fresh, validly signed fetch requests dated beyond the freshness window, alternately in the past and the future. */
  private async skew (id: AttackIdentity): Promise<void> {
    let last = 'ok'
    let i = 0
    await this.inFlight(REQUESTS_IN_FLIGHT, () => this.going(id, last), async () => {
      const off = (i++ % 2 === 0 ? 1 : -1) * (FRESHNESS_WINDOW_MS + SKEW_BEYOND_MS)
      const bytes = prepareFetch(id.host, this.fetchOrder(), { now: Date.now() + off }).bytes
      last = await sendFetchBytes(id.host, id.peer, bytes, ATTACK_REQUEST_MS)
      this.count(last)
    })
  }

  /**
   * Streams opened as fast as the node lets them, on every holder protocol
   * and over several connections, each left silent until the node ends it.
   */
  private async floodStreams (id: AttackIdentity): Promise<void> {
    await id.connections(FLOOD_CONNECTIONS)
    const answers: Array<Promise<void>> = []
    let i = 0
    await this.inFlight(OPENS_IN_FLIGHT, () => this.going(id), async () => {
      const n = i++
      const protocol = FLOOD_PROTOCOLS[n % FLOOD_PROTOCOLS.length]
      const open = id.host.getConnections(id.peer)
      if (open.length === 0) return
      const connection = open[Math.floor(n / FLOOD_PROTOCOLS.length) % open.length]
      const stream = await connection.newStream(protocol, { signal: AbortSignal.timeout(ATTACK_REQUEST_MS) }).catch(() => undefined)
      if (stream === undefined) { this.count(UNANSWERED); return }
      this.stats.opened++
      answers.push(this.answerTo(stream))
    })
    await Promise.all(answers)
  }

  /** Count what the node answers on a silent stream (its read deadline's refusal), or that it reset it. */
  private async answerTo (stream: Stream): Promise<void> {
    const stop = setInterval(() => { if (this.stopped) stream.abort(new Error('attack stopped')) }, 100)
    this.count(await answerOf(stream))
    clearInterval(stop)
  }

  /** {@link SLOW_SENDERS} streams at once, each trickling a request a byte at a time; each one the node ends is replaced. */
  private async slowSenders (id: AttackIdentity): Promise<void> {
    let i = 0
    await this.inFlight(SLOW_SENDERS, () => this.going(id), async () => {
      const protocol = FLOOD_PROTOCOLS[i++ % FLOOD_PROTOCOLS.length]
      const sender = await slowSender(id.host, id.peer, protocol, SLOW_BYTE_MS).catch(() => undefined)
      if (sender === undefined) { this.count(UNANSWERED); return }
      this.stats.opened++
      const stop = setInterval(() => { if (this.stopped) void sender.stop() }, 100)
      this.count(await sender.ended)
      clearInterval(stop)
      await sender.stop()
    })
  }

  /**
   * Run `op` with `width` in flight at once while `going()` holds. Each
   * worker yields to the event loop between two ops: an op that fails at once
   * (a stream on a connection the node has just cut) settles in microtasks,
   * and without the yield the close that ends `going()` would never be read.
   */
  private async inFlight (width: number, going: () => boolean, op: () => Promise<void>): Promise<void> {
    await Promise.all(Array.from({ length: width }, async () => {
      while (going()) {
        await op()
        await new Promise((resolve) => setImmediate(resolve))
      }
    }))
  }

  private fetchOrder (): Parameters<typeof prepareFetch>[1] {
    const party = this.party
    if (party?.held === undefined) throw new Error(`a ${this.plan.kind} attack needs the attacker's template`)
    return { templateId: party.held.templateId, xs: party.held.xs, purpose: party.purpose, creds: party.creds }
  }
}

/** How {@link spawnAttacker} runs the attacker. */
export interface AttackerOptions {
  /** Run the child at the lowest scheduling priority. @default false */
  nice?: boolean
}

/** An attacker process: spawned ahead (its modules load while nothing is measured), told its plan when the attack starts. */
export interface AttackerProcess {
  /** Start the attack: the plan goes to the child on stdin (the attacker tenant's key never touches the disk). */
  start: (plan: AttackPlan) => void
  /** What it has got so far (nothing before its first report). */
  progress: () => AttackStats
  /** Whether its process is still running. */
  running: () => boolean
  /** Freeze the attacker (SIGSTOP): no traffic, its connections and streams left as they are. */
  pause: () => void
  /** Let a paused attacker go on (SIGCONT). */
  resume: () => void
  /** End it (idempotent); resolves with its final stats. */
  stop: () => Promise<AttackStats>
}

/** How long a stopping attacker may take to close its identities (ms): a few of their requests' deadlines. */
const STOP_GRACE_MS = 30_000

const COMPILE_CACHE = fileURLToPath(new URL('../../node_modules/.cache/bioshard', import.meta.url))

const NO_STATS = '{"served":0,"refused":{},"opened":0,"cutOff":0,"peerIds":0}'

function lastStats (out: string): AttackStats {
  const lines = out.split('\n').filter((l) => l.trim() !== '')
  return JSON.parse(lines.at(-1) ?? NO_STATS) as AttackStats
}

/**
 * Spawn an attacker process (attacker.ts), idle until {@link AttackerProcess.start}.
 *
 * @example const attacker = spawnAttacker({ nice: true }); attacker.start(plan); …; const stats = await attacker.stop()
 */
export function spawnAttacker (options: AttackerOptions = {}): AttackerProcess {
  const entry = fileURLToPath(new URL('./attacker.ts', import.meta.url))
  // The compile cache the CLI keeps (bin/bioshard.js): the attacker loads most of the same modules.
  const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE }
  const child = spawn(process.execPath, [entry], { stdio: ['pipe', 'pipe', 'inherit'], env })
  // An attacker works from its own machine: on a shared 2-core box, lowest priority keeps its CPU out of what is measured.
  if (options.nice === true && child.pid !== undefined) { try { setPriority(child.pid, 19) } catch {} }
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  let running = true
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running = false; resolve() }))
  return {
    start: (plan) => { child.stdin.write(JSON.stringify(plan) + '\n') },
    progress: () => lastStats(out),
    running: () => running,
    pause: () => { if (running) child.kill('SIGSTOP') },
    resume: () => { if (running) child.kill('SIGCONT') },
    stop: async () => {
      if (running) child.kill('SIGCONT')
      child.stdin.end()
      // An attacker that does not wind down in time is killed: the run must not wait on it.
      const kill = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE_MS)
      await exited
      clearTimeout(kill)
      return lastStats(out)
    }
  }
}
