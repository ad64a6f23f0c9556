/**
 * Put every manifest a node holds back into the DHT, in the background.
 * DHT records live in memory at the peers that store them, so a node (or a
 * network) that restarts would otherwise forget them; the holders' durable
 * copies are the source they are restored from. Republishing is housekeeping:
 * it waits for the node to settle, then trickles one manifest at a time so it
 * never competes with requests for the CPU.
 *
 * @module
 */
import type { KadDHT } from '@libp2p/kad-dht'
import { decodeManifest } from '../protocol/manifest.ts'
import { manifestKey } from '../protocol/ownership.ts'
import { logger } from '../net/log.ts'
import type { ShareStore } from './store/share-store.ts'
import { REPUBLISH_DELAY_MS, REPUBLISH_PAUSE_MS, REPUBLISH_TIMEOUT_MS } from './constants.ts'

const log = logger('node:republish')

/** What republishing reads and where it writes. */
export interface RepublishInit {
  store: Pick<ShareStore, 'ids' | 'isPending' | 'getManifest'>
  dht: Pick<KadDHT, 'put'>
  /** Stops republishing (the node is stopping). */
  signal: AbortSignal
}

/** Wait `ms`, or less when `signal` aborts first. */
async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    t.unref()
    signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })
}

/**
 * Republish every confirmed manifest of `store`; never throws. A pending
 * store (its manifest not yet seen published) is skipped: its enrolment may
 * have failed, and must not be published by its holders.
 *
 * @returns how many manifests were put
 * @example const done = republishManifests({ store, dht: host.services.dht, signal: stop.signal })
 */
export async function republishManifests ({ store, dht, signal: stop }: RepublishInit): Promise<number> {
  let count = 0
  await pause(REPUBLISH_DELAY_MS, stop)
  try {
    for await (const id of store.ids()) {
      if (stop.aborted) break
      await pause(REPUBLISH_PAUSE_MS, stop)
      if (await store.isPending(id)) continue
      const manifest = await store.getManifest(id)
      if (manifest === undefined) continue
      const { tenant, templateId } = decodeManifest(manifest).body
      const signal = AbortSignal.any([stop, AbortSignal.timeout(REPUBLISH_TIMEOUT_MS)])
      try {
        for await (const evt of dht.put(manifestKey(tenant, templateId), manifest, { signal })) void evt
        count++
      } catch (e) {
        log('republishing a manifest failed: %s', (e as Error).message)
      }
    }
  } catch (e) {
    log('republish stopped: %s', (e as Error).message)
  }
  log('republished %d manifests', count)
  return count
}
