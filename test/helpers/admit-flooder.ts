/**
 * An admission flood in a process of its own, so the attacker's work does
 * not share the event loop it is measured against. Usage:
 * `node test/helpers/admit-flooder.ts <file> <connections> <target>...`,
 * where `<file>` holds the messages as a CBOR array of byte strings. It
 * prints its {@link FloodStats} as a JSON line whenever they change (so the
 * parent can wait for what it expects instead of for a fixed time), and a
 * last line when stdin closes and the flood has stopped.
 */
import { readFileSync } from 'node:fs'
import { decodeCanonical } from '../../crypto/canonical.ts'
import { AdmitFlood } from './admit-flood.ts'

const [file, connections, ...targets] = process.argv.slice(2)
const messages = decodeCanonical(readFileSync(file), 64 * 1024 * 1024, 'flood messages') as Uint8Array[]
// Progress reports: often against a flood of seconds, rare against its requests.
const PROGRESS_MS = 100

const flood = new AdmitFlood(targets, messages, Number(connections)).start()
let reported = ''
const progress = setInterval(() => {
  const now = JSON.stringify(flood.stats)
  if (now !== reported) process.stdout.write(now + '\n')
  reported = now
}, PROGRESS_MS)
process.stdin.resume()
process.stdin.on('end', () => {
  clearInterval(progress)
  void flood.stop().then((stats) => {
    process.stdout.write(JSON.stringify(stats) + '\n')
    process.exit(0)
  })
})
