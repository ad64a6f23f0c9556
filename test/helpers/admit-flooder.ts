/**
 * An admission flood in a process of its own, so the attacker's work does
 * not share the event loop it is measured against. Usage:
 * `node test/helpers/admit-flooder.ts <file> <connections> <target>...`,
 * where `<file>` holds the messages as a CBOR array of byte strings; the
 * flood stops when stdin closes and prints its {@link FloodStats} as JSON.
 */
import { readFileSync } from 'node:fs'
import { decodeCanonical } from '../../crypto/canonical.ts'
import { AdmitFlood } from './admit-flood.ts'

const [file, connections, ...targets] = process.argv.slice(2)
const messages = decodeCanonical(readFileSync(file), 64 * 1024 * 1024, 'flood messages') as Uint8Array[]
const flood = new AdmitFlood(targets, messages, Number(connections)).start()
process.stdin.resume()
process.stdin.on('end', () => {
  void flood.stop().then((stats) => {
    process.stdout.write(JSON.stringify(stats) + '\n')
    process.exit(0)
  })
})
