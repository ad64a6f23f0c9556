/**
 * An attack (attack.ts) in a process of its own, so the attacker's work does
 * not share the event loop it is measured against. Usage:
 * `node test/helpers/attacker.ts <plan.json>`. It prints its AttackStats as
 * a JSON line whenever they change (the parent can wait for the attack to
 * get going instead of for a fixed time), and a last line when stdin closes
 * and the attack has stopped.
 */
import { readFileSync } from 'node:fs'
import { Attack } from './attack.ts'
import type { AttackPlan } from './attack-identity.ts'

// Progress reports: often against a phase of seconds, rare against the attack's requests.
const PROGRESS_MS = 100

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8')) as AttackPlan
const attack = new Attack(plan)
let reported = ''
const report = (): void => {
  const now = JSON.stringify(attack.stats)
  if (now !== reported) process.stdout.write(now + '\n')
  reported = now
}
const progress = setInterval(report, PROGRESS_MS)
const started = attack.start().catch((e: Error) => {
  process.stderr.write(`attacker: ${e.message}\n`)
  process.exit(1)
})
process.stdin.resume()
process.stdin.on('end', () => {
  clearInterval(progress)
  void started.then(async () => await attack.stop()).then((stats) => {
    process.stdout.write(JSON.stringify(stats) + '\n')
    process.exit(0)
  })
})
