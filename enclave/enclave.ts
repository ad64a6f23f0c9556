/**
 * Host side of the enclave: starts the isolated child, checks its isolation,
 * and multiplexes match requests to it by id, each with a deadline. The host
 * only forwards sealed shares with the manifest they were sealed under and
 * receives a signed decision, so this module and everything it imports stay
 * clear of the code that opens, combines or decrypts (a test walks the import
 * graph); `launch.ts` says what stands in for Node 24's missing network switch.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { realpathSync } from 'node:fs'
import { BioshardError } from '../errors.ts'
import {
  checkMatchRequest, checkOpenMessage, copyRequest, errorFromWire,
  type EarlyShare, type IsolationReport, type MatchRequest, type MatchResult, type OpenMessage, type OpenTarget, type ReadyMessage, type ResultMessage
} from './messages.ts'
import { checkIsolation } from './isolation.ts'
import { planLaunch, type FaceModelPaths, type LaunchPlan } from './launch.ts'
import { inReadSet, REPO_ROOT } from './read-set.ts'
import { CLOSE_GRACE_MS, MATCH_TIMEOUT_MS, MAX_PENDING, START_TIMEOUT_MS } from './constants.ts'

export type { MatchRequest, MatchResult, MatchProbe, SealedShare, EarlyShare, OpenTarget, IsolationReport } from './messages.ts'
export type { FaceModelPaths } from './launch.ts'

/** Options of {@link Enclave.start}; all optional. */
export interface EnclaveOptions {
  /** enables raw image probes, embedded inside the enclave with these face models */
  faceModel?: FaceModelPaths
  /** deadline of one match, ms @default 10_000 */
  timeoutMs?: number
  /** deadline for a child to start, ms @default 20_000 */
  startTimeoutMs?: number
}

/** What an attestation vouches for: the enclave's keys and measurement. */
export interface EnclaveIdentity {
  /** X25519 key holders seal shares to */
  key: Uint8Array
  /** Ed25519 key that signs decisions */
  signer: Uint8Array
  /** hash of the code the enclave runs */
  measurement: Uint8Array
}

/** Payload of the `ready` event: a child is up with fresh keys. */
export interface EnclaveReadyEvent { generation: number, publicKey: Uint8Array, signer: Uint8Array }
/** Payload of the `exit` event: the child of `generation` died (or was closed). */
export interface EnclaveExitEvent { generation: number, code: number | null, signal: string | null }

interface Live {
  child: ChildProcess
  generation: number
  key: Uint8Array
  signer: Uint8Array
  isolation: IsolationReport
  faceModel?: string
}

interface Pending {
  resolve: (r: MatchResult) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

function enclaveError (message: string, cause?: unknown): BioshardError {
  return new BioshardError('ERR_ENCLAVE', message, cause === undefined ? undefined : { cause })
}

function readReady (msg: unknown): ReadyMessage {
  const m = msg as ReadyMessage
  if (m === null || typeof m !== 'object' || m.type !== 'ready') throw enclaveError('enclave sent something other than ready')
  if (!(m.key instanceof Uint8Array) || m.key.length !== 32 || !(m.signer instanceof Uint8Array) || m.signer.length !== 32) {
    throw enclaveError('enclave sent malformed keys')
  }
  return m
}

function checkResult (r: unknown): MatchResult {
  const m = r as MatchResult
  if (m === null || typeof m !== 'object' || !(m.decision instanceof Uint8Array) || typeof m.accept !== 'boolean' ||
    (m.score !== undefined && typeof m.score !== 'number') || typeof m.threshold !== 'number' || !Array.isArray(m.bad)) {
    throw enclaveError('enclave sent a malformed result')
  }
  return m
}

/**
 * A running enclave. Emits `ready` ({@link EnclaveReadyEvent}) whenever a
 * child comes up — including the first — and `exit` ({@link EnclaveExitEvent})
 * whenever one dies or is closed.
 *
 * The host cannot choose the threshold (the child takes it from the manifest,
 * whose digest every share is sealed under) nor match one fetch's shares twice
 * (the child refuses a used request with ERR_REPLAY).
 *
 * Keys live and die with the child. When it dies (or its channel closes,
 * which the host sees first), requests in flight fail with ERR_ENCLAVE and
 * {@link Enclave.generation} moves on at once: shares
 * sealed to the dead child's key can never be opened, so a later `match` also
 * fails with ERR_ENCLAVE (and restarts the child) rather than blaming every
 * holder for a bad share. The caller re-attests the new keys (`ready()`, then
 * `publicKey`/`signer`, or the `ready` event) and fetches again.
 *
 * @example
 * const enclave = await Enclave.start()
 * const attestation = new ProcessAttestor(verifierKey).attest(enclave.identity)
 * // … fetch shares sealed to enclave.publicKey …
 * const { accept, decision } = await enclave.match({ manifest: encodeManifest(m), nonce, shares, probe: { kind: 'embedding', vector } })
 * await enclave.close()
 */
export class Enclave extends EventEmitter {
  /** hash of the enclave's code, runtime and isolation flags (see measurement.ts), computed before spawning */
  readonly measurement: Uint8Array
  readonly #plan: LaunchPlan
  readonly #timeoutMs: number
  readonly #startTimeoutMs: number
  #live: Live | undefined
  #starting: Promise<Live> | undefined
  #generation = 1
  #nextId = 1
  #nextSession = 1
  #closed = false
  readonly #pending = new Map<number, Pending>()

  private constructor (plan: LaunchPlan, timeoutMs: number, startTimeoutMs: number) {
    super()
    this.#plan = plan
    this.measurement = plan.measurement
    this.#timeoutMs = timeoutMs
    this.#startTimeoutMs = startTimeoutMs
  }

  /**
   * Measure the enclave code, spawn the child and wait until it reports its
   * keys and a clean isolation check.
   *
   * @param options - face models for image probes, timeouts
   * @returns a ready enclave
   * @throws {TypeError|RangeError} naming a malformed option
   * @throws {BioshardError} ERR_ENCLAVE when a file is missing, the child fails to start in time, or its isolation check fails
   * @example const enclave = await Enclave.start({ faceModel: { modelDir: '/opt/models' } })
   */
  static async start (options: EnclaveOptions = {}): Promise<Enclave> {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const timeoutMs = options.timeoutMs ?? MATCH_TIMEOUT_MS
    const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS
    for (const [k, v] of [['timeoutMs', timeoutMs], ['startTimeoutMs', startTimeoutMs]] as const) {
      if (!Number.isInteger(v)) throw new TypeError(`options.${k} must be an integer (ms)`)
      if (v < 1 || v > 600_000) throw new RangeError(`options.${k} must be in [1, 600000] ms, got ${v}`)
    }
    const plan = await planLaunch(options.faceModel)
    const enclave = new Enclave(plan, timeoutMs, startTimeoutMs)
    await enclave.ready()
    return enclave
  }

  /** Increments whenever the keys change (a child died or was replaced); an attestation is valid for one generation. */
  get generation (): number { return this.#generation }

  #current (): Live {
    const live = this.#live
    if (live === undefined || live.generation !== this.#generation) {
      throw enclaveError(this.#closed ? 'enclave is closed' : 'enclave is restarting; await ready() for its new keys')
    }
    return live
  }

  /**
   * X25519 public key generated inside the current child.
   * @throws {BioshardError} ERR_ENCLAVE while no child is live (after a crash, before `ready()`)
   */
  get publicKey (): Uint8Array { return this.#current().key.slice() }

  /**
   * Ed25519 decision key generated inside the current child.
   * @throws {BioshardError} ERR_ENCLAVE while no child is live
   */
  get signer (): Uint8Array { return this.#current().signer.slice() }

  /**
   * `{ key, signer, measurement }`, what an attestor signs.
   * @throws {BioshardError} ERR_ENCLAVE while no child is live
   */
  get identity (): EnclaveIdentity {
    const live = this.#current()
    return { key: live.key.slice(), signer: live.signer.slice(), measurement: this.measurement.slice() }
  }

  /**
   * The current child's isolation self-check (already verified by the host).
   * @throws {BioshardError} ERR_ENCLAVE while no child is live
   */
  get isolation (): IsolationReport { return { ...this.#current().isolation } }

  /** Model id of the in-enclave face embedder, or undefined without image probes. */
  get faceModel (): string | undefined { return this.#plan.faceModelId }

  /** Process id of the current child (for operators and tests), or undefined. */
  get pid (): number | undefined { return this.#live?.child.pid }

  /**
   * Ensure a live child: resolves at once when one is up, otherwise starts
   * one (new keys, `generation` as already advanced by the death).
   *
   * @throws {BioshardError} ERR_ENCLAVE when closed or the child fails to start
   * @example await enclave.ready(); attest(enclave.identity)
   */
  async ready (): Promise<void> {
    if (this.#closed) throw enclaveError('enclave is closed')
    if (this.#live !== undefined && this.#live.generation === this.#generation) return
    this.#starting ??= this.#spawn().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async #spawn (): Promise<Live> {
    const generation = this.#generation
    const canary = realpathSync(process.execPath)
    if (inReadSet(this.#plan.entries, canary)) throw enclaveError('the Node binary lies inside the enclave read set; cannot check isolation')
    const child = spawn(process.execPath, this.#plan.args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      // A clean environment: NODE_OPTIONS and friends could otherwise widen the permissions.
      env: {},
      cwd: REPO_ROOT
    })
    let ready: ReadyMessage
    try {
      ready = await new Promise<ReadyMessage>((resolve, reject) => {
        const timer = setTimeout(() => { reject(enclaveError(`enclave did not start within ${this.#startTimeoutMs} ms`)) }, this.#startTimeoutMs)
        const cleanup = (): void => {
          clearTimeout(timer)
          child.off('message', onMessage)
          child.off('exit', onExit)
          child.off('error', onError)
        }
        const onMessage = (m: unknown): void => {
          cleanup()
          try { resolve(readReady(m)) } catch (e) { reject(e) }
        }
        const onExit = (code: number | null, signal: string | null): void => {
          cleanup()
          reject(enclaveError(`enclave exited during start (code ${code}, signal ${signal})`))
        }
        const onError = (e: Error): void => { cleanup(); reject(enclaveError('enclave could not be spawned', e)) }
        child.on('message', onMessage)
        child.once('exit', onExit)
        child.once('error', onError)
        child.send({ type: 'init', measurement: this.measurement.slice(), canary, ...(this.#plan.face !== undefined ? { face: this.#plan.face } : {}) })
      })
      checkIsolation(ready.isolation, this.#plan.face !== undefined)
      if (this.#plan.face !== undefined && ready.faceModel !== this.#plan.faceModelId) {
        throw enclaveError('enclave loaded a different face model than configured')
      }
      if (this.#closed) throw enclaveError('enclave was closed while starting')
    } catch (e) {
      child.kill('SIGKILL')
      throw e
    }
    const live: Live = {
      child,
      generation,
      key: ready.key.slice(),
      signer: ready.signer.slice(),
      isolation: ready.isolation,
      ...(ready.faceModel !== undefined ? { faceModel: ready.faceModel } : {})
    }
    child.on('message', (m: unknown) => { this.#onResult(live, m) })
    // A closed channel is a dead child to the host (nothing can reach it or come back), seen before its exit is.
    child.once('disconnect', () => { this.#retire(live, 'enclave channel closed') })
    child.once('exit', (code, signal) => { this.#onExit(live, code, signal) })
    child.on('error', () => { child.kill('SIGKILL') })
    this.#live = live
    this.#idle()
    this.emit('ready', { generation, publicKey: live.key.slice(), signer: live.signer.slice() } satisfies EnclaveReadyEvent)
    return live
  }

  // An idle enclave must not keep the host process alive; a pending request does (its timer).
  #idle (): void {
    const live = this.#live
    if (live === undefined) return
    const channel = live.child.channel as { ref?: () => void, unref?: () => void } | null | undefined
    if (this.#pending.size === 0) { live.child.unref(); channel?.unref?.() } else { live.child.ref(); channel?.ref?.() }
  }

  #onResult (live: Live, raw: unknown): void {
    const msg = raw as ResultMessage
    const p = msg !== null && typeof msg === 'object' && msg.type === 'result' ? this.#pending.get(msg.id) : undefined
    if (p === undefined) return // late answer to a request that timed out
    this.#pending.delete(msg.id)
    clearTimeout(p.timer)
    this.#idle()
    if (msg.ok) {
      try { p.resolve(checkResult(msg.result)) } catch (e) { p.reject(e as Error); live.child.kill('SIGKILL') }
    } else {
      p.reject(errorFromWire(msg.error))
    }
  }

  /**
   * The child of `live` can take no more requests: it is no longer the live
   * one, its keys are void (the generation moves on), and every request in
   * flight fails with ERR_ENCLAVE. Once per child, whichever sign comes first.
   */
  #retire (live: Live, why: string): void {
    if (this.#live !== live) return
    this.#live = undefined
    // The dead child's key is gone: every attestation of it is void.
    this.#generation++
    const error = enclaveError(this.#closed ? 'enclave closed' : why)
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer)
      this.#pending.delete(id)
      p.reject(error)
    }
    // A child whose channel closed exits by itself (enclave-main.ts); make sure of it.
    if (!this.#closed) live.child.kill('SIGKILL')
  }

  #onExit (live: Live, code: number | null, signal: string | null): void {
    this.#retire(live, `enclave process exited (code ${code}, signal ${signal})`)
    this.emit('exit', { generation: live.generation, code, signal } satisfies EnclaveExitEvent)
  }

  /**
   * Run one match inside the enclave.
   *
   * @param req - the manifest's canonical bytes, a nonce, at least `t` sealed shares with their requests, the probe
   * @returns the signed decision, accept, threshold (the manifest's), the score only when its policy reveals it, and the x of bad shares
   * @throws {TypeError|RangeError} naming a malformed field of `req`
   * @throws {NotEnoughSharesError} ERR_NOT_ENOUGH_SHARES with `bad` (x that failed to open or failed their commitment)
   *   when fewer than `t` are good: fetch spares and call again
   * @throws {DecryptError} ERR_DECRYPT when the combined envelope does not authenticate
   * @throws {BioshardError} ERR_ENCLAVE when the child died, or has restarted since the shares were sealed (re-attest, fetch again);
   *   ERR_TIMEOUT after `timeoutMs`; ERR_BUSY with too many requests in flight; ERR_REPLAY when a share's fetch request was already matched;
   *   ERR_STALE when it is outside the freshness window; ERR_BAD_REQUEST, ERR_DECODE, ERR_NO_FACE, ERR_LOW_QUALITY from the match itself
   * @example const { accept, decision, bad } = await enclave.match(req)
   */
  async match (req: MatchRequest): Promise<MatchResult> {
    const checked = checkMatchRequest(req)
    if (this.#closed) throw enclaveError('enclave is closed')
    const live = this.#live
    if (live === undefined || live.generation !== this.#generation) {
      // The shares were sealed to a key that died with its child: start the
      // successor now, but do not pretend these shares could open in it.
      this.ready().catch(() => {})
      throw enclaveError(`enclave restarted (generation ${this.#generation}); re-attest its new key and fetch the shares again`)
    }
    if (checked.generation !== undefined && checked.generation !== live.generation) {
      throw enclaveError(`shares were sealed for enclave generation ${checked.generation}, the enclave is at ${live.generation}; re-attest and fetch again`)
    }
    if (this.#pending.size >= MAX_PENDING) throw new BioshardError('ERR_BUSY', `${MAX_PENDING} matches already in flight`)
    const id = this.#nextId++
    const message = { type: 'match' as const, id, req: copyRequest(checked) }
    return await new Promise<MatchResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        this.#idle()
        reject(new BioshardError('ERR_TIMEOUT', `match did not finish within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      this.#idle()
      live.child.send(message, (err) => {
        if (err == null) return
        const p = this.#pending.get(id)
        if (p === undefined) return
        this.#pending.delete(id)
        clearTimeout(p.timer)
        this.#idle()
        p.reject(enclaveError('could not send the request to the enclave', err))
      })
    })
  }

  /**
   * A new session id, for sending a match's shares ahead with {@link preopen}.
   *
   * @example const session = enclave.session()
   */
  session (): number {
    return this.#nextSession++
  }

  /**
   * Send one sealed share ahead of its match, so the enclave opens it while
   * the rest are still being fetched; the match then names the same
   * `session` and still lists every share (a share sent ahead is used only
   * if the match lists the same bytes). Nothing is answered: a share that
   * does not open is named bad by the match, as it would have been. Skipped
   * (false) when the enclave is closed, not running, or has restarted since
   * `generation`, and while a match is in flight: then the enclave has work
   * queued anyway, and the extra message would only cost it time.
   *
   * @param session - from {@link session}
   * @param target - the template the share belongs to and the digest of the manifest it was sealed under
   * @param share - x, sealed bytes, request hash and request time, as the holder answered
   * @param generation - the enclave generation the share was sealed to
   * @returns whether the share was sent
   * @throws {TypeError|RangeError} naming a malformed field
   * @example enclave.preopen(session, { templateId, manifest: digest }, { x, sealed, request, time }, generation)
   */
  preopen (session: number, target: OpenTarget, share: EarlyShare, generation?: number): boolean {
    const checked = checkOpenMessage({ type: 'open', session, templateId: target?.templateId, manifest: target?.manifest, share })
    const live = this.#live
    if (this.#closed || live === undefined || live.generation !== this.#generation || (generation !== undefined && generation !== live.generation)) return false
    if (this.#pending.size > 0) return false
    const message: OpenMessage = {
      type: 'open',
      session,
      templateId: checked.templateId.slice(),
      manifest: checked.manifest.slice(),
      share: { x: share.x, sealed: share.sealed.slice(), request: share.request.slice(), time: share.time }
    }
    // A hint: if it cannot be sent, the match sends the share anyway.
    live.child.send(message, () => {})
    return true
  }

  /**
   * Stop the child; requests in flight fail with ERR_ENCLAVE and later calls
   * too. Idempotent.
   *
   * @example await enclave.close()
   */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#starting?.catch(() => {})
    const live = this.#live
    if (live === undefined) return
    const exited = new Promise<void>((resolve) => {
      if (live.child.exitCode !== null || live.child.signalCode !== null) resolve()
      else live.child.once('exit', () => { resolve() })
    })
    // Closing the channel makes the child exit by itself; SIGKILL if it does not.
    live.child.disconnect()
    const timer = setTimeout(() => { live.child.kill('SIGKILL') }, CLOSE_GRACE_MS)
    await exited
    clearTimeout(timer)
  }
}
