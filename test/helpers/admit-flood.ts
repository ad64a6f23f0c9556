/**
 * An admission flood, as an attacker runs it: several hostile connections to
 * each target node, each from a fresh peer id, sending maximum-size admit
 * messages made of copies of the real roster (real certificates, real
 * address statements, in the current and the former wire form) back to
 * back; a connection that is cut off is replaced by one with a new peer id.
 * The flooding hosts are bare libp2p peers (TCP, noise, yamux), as cheap as
 * an attacker's.
 */
import { spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setPriority } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { request } from '../../net/rpc.ts'
import { encodeCanonical } from '../../crypto/canonical.ts'
import { PROTOCOL, MAX_MESSAGE_BYTES, MAX_RESPONSE_BYTES, MAX_ROSTER_ENTRIES, WIRE_VERSION } from '../../protocol/constants.ts'

/** What the flood did: requests answered, refusal codes seen, connections cut off, peer ids used. */
export interface FloodStats { answered: number, refused: Record<string, number>, cutOff: number, peerIds: number }

/** The largest admit messages that copies of `entries` make, one per wire form. */
export function floodMessages (entries: ReadonlyArray<{ cert: unknown, addrs?: unknown }>): Uint8Array[] {
  const limit = MAX_MESSAGE_BYTES[PROTOCOL.ADMIT]
  const fill = (one: (i: number) => unknown, max: number): Uint8Array => {
    const size = encodeCanonical(one(0)).length
    const n = Math.min(max, Math.floor((limit - 64) / (size + 8)))
    return encodeCanonical({ v: WIRE_VERSION, entries: Array.from({ length: n }, (_, i) => one(i)) })
  }
  const at = (i: number): { cert: unknown, addrs?: unknown } => entries[i % entries.length]
  return [
    // Current form: certificates with their real statements, copied.
    fill((i) => at(i), MAX_ROSTER_ENTRIES),
    // Certificates alone, copied.
    fill((i) => ({ cert: at(i).cert }), MAX_ROSTER_ENTRIES),
    // The former form (`addrs` a list), copied as many times as the size limit allows.
    fill((i) => ({ cert: at(i).cert, addrs: [] }), Infinity)
  ]
}

/** A bare libp2p peer (TCP, noise, yamux) with a fresh peer id. */
export async function bareHost (): Promise<Libp2p> {
  return await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionManager: { dialTimeout: 3_000 } })
}

export class AdmitFlood {
  readonly stats: FloodStats = { answered: 0, refused: {}, cutOff: 0, peerIds: 0 }
  private readonly targets: string[]
  private readonly messages: Uint8Array[]
  private readonly connections: number
  private stopped = false
  private readonly loops: Array<Promise<void>> = []

  /**
   * @param targets multiaddrs of the nodes to flood (with /p2p/<id>)
   * @param messages the admit messages to send in turn (see {@link floodMessages})
   * @param connections hostile connections per target
   */
  constructor (targets: string[], messages: Uint8Array[], connections = 3) {
    this.targets = targets
    this.messages = messages
    this.connections = connections
  }

  start (): this {
    for (const target of this.targets) {
      for (let c = 0; c < this.connections; c++) this.loops.push(this.flood(target, c))
    }
    return this
  }

  async stop (): Promise<FloodStats> {
    this.stopped = true
    await Promise.all(this.loops)
    return this.stats
  }

  private async flood (target: string, offset: number): Promise<void> {
    const addr = multiaddr(target)
    let i = offset
    while (!this.stopped) {
      const host = await bareHost()
      this.stats.peerIds++
      try {
        while (!this.stopped) {
          try {
            const body = this.messages[i++ % this.messages.length]
            await request(host, addr, PROTOCOL.ADMIT, { body, timeoutMs: 3_000, maxResponseBytes: MAX_RESPONSE_BYTES[PROTOCOL.ADMIT] })
            this.stats.answered++
          } catch (e) {
            const code = (e as { code?: string }).code ?? 'error'
            this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1
            if (code === 'ERR_BUSY' || code === 'ERR_TIMEOUT' || host.getConnections().length === 0) break
          }
        }
      } finally {
        await Promise.resolve(host.stop()).catch(() => {})
      }
      this.stats.cutOff++
      // A cut-off attacker comes back at once with a new peer id; the pause only keeps this loop from spinning.
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** How {@link floodFromChild} floods. */
export interface ChildFloodOptions {
  /** Hostile connections per target. */
  connections: number
  /** Where the messages are written for the child to read. */
  dir: string
  /** Run the child at the lowest scheduling priority. @default false */
  nice?: boolean
}

/** The stats `stop` returns when the child exited without reporting (answered -1 marks it). */
const NO_REPORT = '{"answered":-1,"refused":{},"cutOff":0,"peerIds":0}'
/** The progress before the child's first report. */
const NO_PROGRESS = '{"answered":0,"refused":{},"cutOff":0,"peerIds":0}'

/** The last stats line in the child's output, or `fallback` when it reported none. */
function lastStats (out: string, fallback: string): FloodStats {
  const lines = out.split('\n').filter((l) => l.trim() !== '')
  return JSON.parse(lines.at(-1) ?? fallback) as FloodStats
}

/**
 * Run the flood in a child process (see admit-flooder.ts); `progress` gives
 * what it has done so far (answered 0, nothing refused before its first
 * report), `stop` ends it and returns what it did.
 */
export function floodFromChild (
  targets: string[],
  messages: Uint8Array[],
  options: ChildFloodOptions
): { progress: () => FloodStats, stop: () => Promise<FloodStats> } {
  const file = join(options.dir, `flood-${process.pid}-${Date.now()}.cbor`)
  writeFileSync(file, encodeCanonical(messages))
  const flooder = fileURLToPath(new URL('./admit-flooder.ts', import.meta.url))
  const child = spawn(process.execPath, [flooder, file, String(options.connections), ...targets], { stdio: ['pipe', 'pipe', 'inherit'] })
  // An attacker floods from its own machine: on a shared 2-core box, lowest priority keeps its CPU out of what is measured.
  if (options.nice === true && child.pid !== undefined) { try { setPriority(child.pid, 19) } catch {} }
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  return {
    progress: () => lastStats(out, NO_PROGRESS),
    stop: async () => {
      child.stdin.end()
      await exited
      rmSync(file, { force: true })
      return lastStats(out, NO_REPORT)
    }
  }
}
