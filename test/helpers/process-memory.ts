/**
 * Test helper for secrets in another process's memory (Linux procfs): read
 * every mapping that can hold heap data through `/proc/<pid>/mem` and look
 * for 64-byte windows of given secrets. Scanning from outside means the
 * scanner's own buffers never count: only what the process itself holds.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs'

/** Bytes of a secret that count as a hit; random data never repeats 64 bytes by chance. */
export const WINDOW = 64

/** Whether this platform lets a test read another process's memory. */
export const CAN_SCAN = process.platform === 'linux' && existsSync('/proc/self/mem')

/** Readable mappings that can hold heap data: anonymous, [heap]/[stack], or writable. */
function regions (pid: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n')) {
    const [range, perms, , , , path = ''] = line.trim().split(/\s+/)
    if (!perms.startsWith('r') || path === '[vvar]' || path === '[vsyscall]' || path === '[vvar_vclock]') continue
    if (path !== '' && !path.startsWith('[') && !perms.includes('w')) continue
    const [a, b] = range.split('-').map((h) => parseInt(h, 16))
    out.push([a, b])
  }
  return out
}

/**
 * Which of `needles` occur anywhere in the memory of process `pid`.
 *
 * @example scanProcess(child.pid, [publicKey, ...windows(share)])
 */
export function scanProcess (pid: number, needles: Uint8Array[]): boolean[] {
  const found = needles.map(() => false)
  const fd = openSync(`/proc/${pid}/mem`, 'r')
  const CHUNK = 8 << 20
  const buf = Buffer.allocUnsafe(CHUNK + WINDOW)
  try {
    for (const [a, b] of regions(pid)) {
      for (let off = a; off < b; off += CHUNK) {
        const len = Math.min(CHUNK + WINDOW - 1, b - off)
        let n: number
        try { n = readSync(fd, buf, 0, len, off) } catch { continue }
        const view = buf.subarray(0, n)
        needles.forEach((needle, i) => { if (!found[i] && view.indexOf(needle) >= 0) found[i] = true })
      }
    }
  } finally {
    closeSync(fd)
  }
  buf.fill(0)
  return found
}

/** 64-byte windows across a buffer: start, middle, end. */
export function windows (b: Uint8Array): Uint8Array[] {
  return [0, Math.floor((b.length - WINDOW) / 2), b.length - WINDOW].map((o) => b.slice(o, o + WINDOW))
}

/**
 * Send `msg` (if any) to a child over IPC and wait for its next message of type `want`.
 *
 * @example const { key } = await ask(child, 'ready')
 */
export async function ask (child: ChildProcess, want: string, msg?: object): Promise<Record<string, unknown>> {
  return await new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => { if (m.type === want) { child.off('message', on); resolve(m) } }
    child.on('message', on)
    if (msg !== undefined) child.send(msg)
  })
}

/**
 * Run an ES module's source in a child Node process with an IPC channel
 * (structured-clone serialisation, so typed arrays arrive as such).
 *
 * @example const child = runScript(`process.send({ type: 'ready' })`)
 */
export function runScript (source: string): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
}
