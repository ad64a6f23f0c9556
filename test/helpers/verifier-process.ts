/**
 * Test helper: a verifying client in a process of its own, built from the
 * verifier library's parts as createClient composes them (client/join.ts,
 * client/enclave-keeper.ts, client/manifest-store.ts, client/verify.ts), so
 * that a test can read its memory from outside (test/helpers/process-memory.ts)
 * and kill its enclave at an exact moment: the client's enclave handle is
 * wrapped so that, when told to, it SIGKILLs the enclave child right after
 * handing it the match request (the request is in the child's channel; no
 * answer can have come back yet), or SIGKILLs it first and hands it the
 * request in the moment between its channel closing and its exit being
 * seen (the child is found through the `child_process` diagnostics channel).
 * Linux only, as the memory scan is.
 */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { SignedWire } from '../../protocol/signed.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import { ask, runScript } from './process-memory.ts'

const path = (p: string): string => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)))

/** The client process: joins, then verifies on request, killing its enclave mid-match as often as it is told. */
const CLIENT = `
import { joinNetwork } from ${path('../../client/join.ts')}
import { EnclaveKeeper } from ${path('../../client/enclave-keeper.ts')}
import { ManifestStore } from ${path('../../client/manifest-store.ts')}
import { RecordReplicas } from ${path('../../net/record-replicas.ts')}
import { resolveIdentity } from ${path('../../client/identity.ts')}
import { verify } from ${path('../../client/verify.ts')}
import { DEFAULT_TIMEOUTS } from ${path('../../client/constants.ts')}
import { signingKeyFromSeed } from ${path('../../crypto/sign.ts')}
import { subscribe } from 'node:diagnostics_channel'

// Every child process this one starts (the enclave's), to wait for its channel to close.
const children = new Set()
subscribe('child_process', ({ process: child }) => { children.add(child); child.once('exit', () => { children.delete(child) }) })
const childOf = (pid) => [...children].find((c) => c.pid === pid)

const init = await new Promise((resolve) => process.once('message', resolve))
const verifier = { key: signingKeyFromSeed(init.verifier.seed), cert: init.verifier.cert, chain: init.verifier.chain }
init.verifier.seed.fill(0)
const id = resolveIdentity({ verifier })
const joined = await joinNetwork({ bootstrap: init.bootstrap, anchor: init.anchor, proof: id.proof })
const keeper = new EnclaveKeeper(undefined, id.verifier)
let plan = []
const killed = []
const held = []
const ctx = {
  host: joined.host,
  roster: joined.roster,
  anchor: init.anchor,
  verifier: id.verifier,
  manifests: new ManifestStore(RecordReplicas.overRoster(joined.host.services.dht, joined.roster), init.anchor, id.ownTenant),
  enclave: async () => {
    const h = await keeper.handle()
    const match = async (req) => {
      const how = plan.shift()
      const pid = h.enclave.pid
      if (how === 'channel-closed') {
        // Continues right after the child's channel closed, before its exit is seen (a later event).
        const closed = new Promise((resolve) => { childOf(pid).once('disconnect', resolve) })
        killed.push(pid)
        process.kill(pid, 'SIGKILL')
        await closed
        return await h.match(req)
      }
      const matching = h.match(req)
      if (how === 'mid-match') {
        killed.push(pid)
        process.kill(pid, 'SIGKILL')
      }
      return await matching
    }
    return { ...h, match }
  },
  timeouts: DEFAULT_TIMEOUTS
}
process.on('message', async (m) => {
  if (m.type === 'verify') {
    plan = [...m.plan]
    killed.length = 0
    let outcome
    try {
      const r = await verify(ctx, { templateId: m.templateId, probe: { kind: 'embedding', vector: m.probe }, purpose: 'login' })
      outcome = { accept: r.accept }
    } catch (e) {
      outcome = { error: { name: e?.name, code: e?.code, message: e?.message } }
    }
    const handle = await keeper.handle().catch(() => undefined)
    process.send({ type: 'verified', ...outcome, killed: [...killed], pid: handle?.enclave.pid, generation: handle?.generation })
  } else if (m.type === 'hold') {
    held.push(m.value)
    process.send({ type: 'held' })
  } else if (m.type === 'quit') {
    await keeper.close()
    await joined.leave()
    process.exit(0)
  }
})
process.send({ type: 'joined' })
`

/**
 * How the enclave dies around one match: SIGKILLed once the match request is
 * in its channel, or SIGKILLed first and handed the request once its channel
 * has closed and before its exit has been seen.
 */
export type EnclaveKill = 'mid-match' | 'channel-closed'

/** What a verification in the client process came to. */
export interface Verified {
  accept?: boolean
  error?: { name?: string, code?: string, message?: string }
  /** pids of the enclave children killed mid-match during it */
  killed: number[]
  /** pid and generation of the client's enclave afterwards */
  pid?: number
  generation?: number
}

/** The client process and how to drive it. */
export interface VerifierProcess {
  child: ChildProcess
  /** Verify `probe` against `templateId`; the enclave dies as `plan[i]` says around the verification's i-th match. */
  verify: (templateId: Uint8Array, probe: Float32Array, plan: EnclaveKill[]) => Promise<Verified>
  /** Have the process keep `value` (a control for memory scans: bytes it is known to hold). */
  hold: (value: Uint8Array) => Promise<void>
  close: () => Promise<void>
}

/** What the client process joins with: the network and a verifier credential (its key as a seed, sent over IPC once). */
export interface VerifierInit {
  bootstrap: string[]
  anchor: TrustAnchor
  verifier: { seed: Uint8Array, cert: SignedWire, chain: SignedWire }
}

/**
 * Start the client process and wait until it has joined.
 *
 * @example const v = await startVerifierProcess({ bootstrap, anchor, verifier: { seed, cert, chain } })
 */
export async function startVerifierProcess (init: VerifierInit): Promise<VerifierProcess> {
  const child = runScript(CLIENT)
  await ask(child, 'joined', { type: 'init', ...init })
  return {
    child,
    verify: async (templateId, probe, plan) => await ask(child, 'verified', { type: 'verify', templateId, probe, plan }) as unknown as Verified,
    hold: async (value) => { await ask(child, 'held', { type: 'hold', value }) },
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ type: 'quit' })
      await exited
    }
  }
}
