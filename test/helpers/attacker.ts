/**
 * An attack (attack.ts) in a process of its own, so the attacker's work does
 * not share the event loop it is measured against. Usage:
 * `node test/helpers/attacker.ts`, then the plan as one JSON line on stdin
 * (the attack starts), then end of stdin (it stops). Spawned ahead of its
 * attack, it has loaded its modules by the time it is told to start. It
 * prints its AttackStats as a JSON line whenever they change (the parent can
 * wait for the attack to get going instead of for a fixed time), and a last
 * line once it has stopped.
 */
import { createInterface } from 'node:readline'
import { Attack } from './attack.ts'
import type { AttackPlan } from './attack-identity.ts'

// Progress reports: often against a phase of seconds, rare against the attack's requests.
const PROGRESS_MS = 100

let attack: Attack | undefined
let started: Promise<unknown> = Promise.resolve()
let progress: ReturnType<typeof setInterval> | undefined
let reported = ''
const report = (): void => {
  const now = JSON.stringify(attack?.stats)
  if (attack !== undefined && now !== reported) process.stdout.write(now + '\n')
  reported = now
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (attack !== undefined || line.trim() === '') return
  attack = new Attack(JSON.parse(line) as AttackPlan)
  progress = setInterval(report, PROGRESS_MS)
  started = attack.start().catch((e: Error) => {
    process.stderr.write(`attacker: ${e.message}\n`)
    process.exit(1)
  })
})
lines.on('close', () => {
  clearInterval(progress)
  void started.then(async () => await attack?.stop()).then(() => {
    reported = ''
    report()
    process.exit(0)
  })
})
