/**
 * Entry of the enclave child process (spawned by `enclave.ts` under Node's
 * permission model; never imported by host code). It generates its keys (the
 * X25519 key holders seal shares to and the Ed25519 key that signs
 * decisions), which never leave it; reports them and its isolation; then
 * answers match requests until the IPC channel closes, when it exits.
 * Nothing is logged.
 *
 * @module
 */
import './harden.ts'
import { wipe } from '../crypto/bytes.ts'
import { OpenedShares } from './opened-shares.ts'
import { ConsumedRequests } from './consumed-requests.ts'
import { Opener, generateSealKeyPair } from '../crypto/seal.ts'
import { generateSigningKey } from '../crypto/sign.ts'
import {
  errorToWire, checkMatchRequest, checkOpenMessage,
  type InitMessage, type MatchMessage, type OpenMessage, type ReadyMessage, type ResultMessage
} from './messages.ts'
import { openAhead, runMatch, type EnclaveKeys, type ImageEmbedder } from './match.ts'
import { selfCheck } from './isolation.ts'

function send (msg: ReadyMessage | ResultMessage): void {
  process.send?.(msg)
}

function readInit (msg: unknown): InitMessage {
  const m = msg as InitMessage
  if (m === null || typeof m !== 'object' || m.type !== 'init') throw new TypeError('first message must be a valid init')
  if (!(m.measurement instanceof Uint8Array) || m.measurement.length !== 32 || typeof m.canary !== 'string') {
    throw new TypeError('first message must be a valid init')
  }
  return m
}

/**
 * Serve the host until the channel closes. Requests are handled concurrently
 * (each owns its buffers). A malformed request gets an error result, never a
 * crash. Every match shares one record of the fetch requests already matched
 * (consumed-requests.ts), so the shares of one fetch are matched once. Shares
 * sent ahead (`open`) are opened on arrival and kept for their session's match
 * (opened-shares.ts); a malformed, stale or already-used one is dropped.
 */
async function main (): Promise<void> {
  if (process.send === undefined) throw new Error('enclave-main must be started with an IPC channel')
  // The host dying closes the channel; never outlive it.
  process.on('disconnect', () => process.exit(0))
  const init = readInit(await new Promise((resolve) => process.once('message', resolve)))

  let embedder: ImageEmbedder | undefined
  if (init.face !== undefined) {
    const { loadFaceProbe } = await import('./face-probe.ts')
    embedder = await loadFaceProbe(init.face)
  }
  const seal = generateSealKeyPair()
  const { key: signer, seed } = generateSigningKey()
  wipe(seed)
  const keys: EnclaveKeys = { seal, opener: new Opener(seal), signer, measurement: init.measurement.slice() }

  const kept = new OpenedShares()
  const consumed = new ConsumedRequests()
  const keepOpened = (msg: unknown): void => {
    let m: OpenMessage
    try { m = checkOpenMessage(msg) } catch { return }
    const share = openAhead(keys, m, m.share, { consumed })
    if (share !== undefined) kept.put(m.session, share)
  }

  process.on('message', (raw: unknown) => {
    const msg = raw as MatchMessage | OpenMessage
    if (msg === null || typeof msg !== 'object') return
    if (msg.type === 'open') { keepOpened(msg); return }
    if (msg.type !== 'match' || !Number.isSafeInteger(msg.id)) return
    const id = msg.id
    // Taken now, before anything can fail: whatever happens to the request, its session is gone.
    const session = (msg.req as { session?: unknown } | null)?.session
    const opened = typeof session === 'number' ? kept.take(session) : undefined
    Promise.resolve()
      .then(async () => await runMatch(keys, checkMatchRequest(msg.req), { consumed, embedder, opened }))
      .then((result) => { send({ type: 'result', id, ok: true, result }) })
      .catch((e: unknown) => { send({ type: 'result', id, ok: false, error: errorToWire(e) }) })
      .finally(() => { if (opened !== undefined) for (const s of opened.values()) wipe(s.bytes) })
  })

  send({
    type: 'ready',
    key: seal.publicKey.slice(),
    signer: signer.publicKey.slice(),
    isolation: selfCheck(init.canary),
    ...(embedder !== undefined ? { faceModel: embedder.modelId } : {})
  })
}

main().catch((e: unknown) => {
  // Only the error's name and message: a stack can hold nothing secret here
  // (no request has been served), but keep the habit.
  process.stderr.write(`enclave failed to start: ${e instanceof Error ? `${e.name}: ${e.message}` : 'unknown error'}\n`)
  process.exit(70)
})
