/**
 * Erasure (opt-out): every holder deletes its share and returns a signed
 * receipt; missing holders are retried; the erased manifest (seq + 1) goes to
 * the DHT, where the selector lets it win over every active version.
 * Erasure is complete only with all n receipts.
 *
 * @module
 */
import { BioshardError } from '../errors.ts'
import type { EraseReceipt } from '../protocol/erase.ts'
import { eraseAt } from './holder-requests.ts'
import { erasedManifest } from './manifest-builder.ts'
import type { ClientContext } from './context.ts'
import { logger } from '../net/log.ts'
import { ERASE_RETRIES, ERASE_RETRY_DELAY_MS } from './constants.ts'

const log = logger('client:erase')

export interface EraseResult {
  /** True only when every one of the n holders returned a receipt. */
  complete: boolean
  receipts: EraseReceipt[]
  /** Holders that did not confirm, with the last error code. */
  missing: Array<{ holder: string, code: string }>
}

export interface EraseOptions {
  /** Rounds retried for holders that did not confirm. @default 3 */
  retries?: number
  /** Pause before retry round r is r times this. @default 250 */
  retryDelayMs?: number
}

/**
 * Erase a template at every holder.
 *
 * @throws {BioshardError} ERR_NOT_AUTHORISED without tenant credentials, ERR_NOT_FOUND for an unknown id
 * @example const { complete, missing } = await erase(ctx, templateId)
 */
export async function erase (ctx: ClientContext, templateId: Uint8Array, options: EraseOptions = {}): Promise<EraseResult> {
  const tenant = ctx.tenant
  if (tenant === undefined) throw new BioshardError('ERR_NOT_AUTHORISED', 'this client has no tenant credentials; erase needs them')
  const manifest = await ctx.manifests.get(templateId, { signal: AbortSignal.timeout(ctx.timeouts.dhtMs) })
  // Erase with the last active manifest: holders check the signer against it.
  const receipts = new Map<string, EraseReceipt>()
  const lastCode = new Map<string, string>()
  const retries = options.retries ?? ERASE_RETRIES
  for (let round = 0; round <= retries; round++) {
    const pending = manifest.body.shares.filter((s) => !receipts.has(s.holder))
    if (pending.length === 0) break
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, (options.retryDelayMs ?? ERASE_RETRY_DELAY_MS) * round))
    await Promise.all(pending.map(async (s) => {
      try {
        receipts.set(s.holder, await eraseAt(ctx.host, s.holder, { manifest, signer: tenant.key }, { timeoutMs: ctx.timeouts.requestMs }))
      } catch (e) {
        lastCode.set(s.holder, (e as { code?: string }).code ?? 'ERR_INTERNAL')
      }
    }))
  }
  const missing = manifest.body.shares.filter((s) => !receipts.has(s.holder)).map((s) => ({ holder: s.holder, code: lastCode.get(s.holder) ?? 'ERR_INTERNAL' }))
  if (manifest.body.state !== 'erased') {
    const erased = erasedManifest(manifest, tenant.key, tenant.cert)
    try {
      await ctx.manifests.publish(erased, AbortSignal.timeout(ctx.timeouts.dhtMs))
    } catch (e) {
      ctx.manifests.remember(erased)
      log('could not publish the erased manifest: %s', (e as Error).message)
    }
  }
  return { complete: missing.length === 0, receipts: [...receipts.values()], missing }
}
