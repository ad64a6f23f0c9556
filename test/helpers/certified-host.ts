/**
 * Test helper: a started client host that proves a tenant's certificate to
 * every node it connects to, with nothing else of a client (no roster sync,
 * no bootstrap): for tests that dial one node process themselves.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createHost, type Host } from '../../net/host.ts'
import { Admission } from '../../net/admission.ts'
import { Roster } from '../../net/roster.ts'
import { RefusalBudget } from '../../net/policy/refusal-budget.ts'
import type { TrustAnchor } from '../../protocol/certs.ts'
import type { Tenant } from '../../sim/local-network.ts'

/** A started client host of `tenant` under `anchor`, and its admission (stop both with `stop`). */
export async function certifiedHost (anchor: TrustAnchor, tenant: Tenant): Promise<{ host: Host, admission: Admission, stop: () => Promise<void> }> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], anchor, role: 'client' })
  const admission = new Admission({
    libp2p: host,
    roster: new Roster(anchor),
    budget: new RefusalBudget(20, 60_000, 60_000),
    credential: { key: tenant.key, cert: tenant.wire }
  })
  await host.start()
  await admission.start()
  return { host, admission, stop: async () => { await admission.stop(); await host.stop() } }
}
