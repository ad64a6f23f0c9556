/**
 * CPU per enrolment, in one process: a `LocalNetwork` of N TCP nodes, one
 * verifier-library client enrolling synthetic templates (t=3 of n=5) with K
 * in flight. The CPU is the whole process's (`process.cpuUsage`, every
 * node, the client and the share cutting), divided by the enrolments; it
 * moves much less with machine load than the rate does. One enrolment runs
 * first, so the client's first lookups and dials are left out.
 *
 * Run: `node bench/enrol-cpu.ts [nodes=40] [enrolments=150] [inflight=4]`; prints one JSON line.
 *
 * @module
 */
import { LocalNetwork } from '../sim/local-network.ts'
import { createClient } from '../index.ts'
import { syntheticIdentity, prng } from '../sim/synthetic.ts'

const nodes = Number(process.argv[2] ?? 40)
const count = Number(process.argv[3] ?? 150)
const inflight = Number(process.argv[4] ?? 4)
const MODEL = 'synthetic-128'

function progress (msg: string): void {
  process.stderr.write(`[enrol-cpu ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

progress(`starting ${nodes} nodes`)
const net = await LocalNetwork.start({ nodes, transport: 'tcp' })
await net.converged()
const tenant = net.tenant('bench')
const client = await createClient({ bootstrap: net.bootstrap, authority: net.info, credentials: { tenant: { key: tenant.key, cert: tenant.wire } } })
const rand = prng(15)
const enrolOne = async (): Promise<unknown> => await client.enroll({ template: syntheticIdentity(128, rand), modality: 'face', model: MODEL, t: 3, n: 5 })
await enrolOne()
progress(`enrolling ${count}, ${inflight} in flight`)
const c0 = process.cpuUsage()
const t0 = performance.now()
let next = 0
let done = 0
let failed = 0
await Promise.all(Array.from({ length: inflight }, async () => {
  while (next < count) {
    next++
    try { await enrolOne(); done++ } catch (e) { failed++; progress(`enrolment failed: ${(e as Error).message}`) }
    if ((done + failed) % 50 === 0) progress(`${done + failed}/${count}`)
  }
}))
const wallMs = performance.now() - t0
const cpu = process.cpuUsage(c0)
console.log(JSON.stringify({
  nodes,
  enrolments: done,
  failed,
  inflight,
  perS: Math.round(done / wallMs * 1e5) / 100,
  cpuMsPerEnrolment: Math.round((cpu.user + cpu.system) / 1000 / Math.max(1, done) * 10) / 10
}))
await client.close()
await net.stop()
process.exit(0)
