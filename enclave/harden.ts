/**
 * First module the enclave child evaluates (imported before anything else by
 * `enclave-main.ts`). Node 24's permission model cannot deny the network, so
 * this deletes the globals `fetch`, `WebSocket` and `EventSource` and refuses
 * the network modules, for `import`, `require` and `process.getBuiltinModule`
 * alike. It makes an accidental network use fail loudly; it is not a barrier
 * against code already running in the child (native addons, in particular,
 * are outside every JavaScript-level check).
 *
 * @module
 */
import { registerHooks } from 'node:module'

/**
 * Built-in modules the enclave child refuses to load: the network modules and
 * `inspector`, `cluster` and `sqlite`, refused by a module resolve hook and by
 * `process.getBuiltinModule`, which bypasses resolution.
 */
export const REFUSED_BUILTINS: readonly string[] = [
  'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'inspector', 'inspector/promises', 'cluster', 'sqlite'
]

const refused = new Set(REFUSED_BUILTINS)

function isRefused (id: string): boolean {
  return refused.has(id.startsWith('node:') ? id.slice(5) : id)
}

function refusal (id: string): Error {
  return Object.assign(new Error(`the enclave does not load ${id}`), { code: 'ERR_ACCESS_DENIED' })
}

for (const name of ['fetch', 'WebSocket', 'EventSource']) {
  Reflect.deleteProperty(globalThis, name)
}

registerHooks({
  resolve (specifier, context, nextResolve) {
    if (isRefused(specifier)) throw refusal(specifier)
    return nextResolve(specifier, context)
  }
})

const getBuiltinModule = process.getBuiltinModule.bind(process)
process.getBuiltinModule = ((id: string) => {
  if (typeof id === 'string' && isRefused(id)) throw refusal(id)
  return getBuiltinModule(id)
}) as typeof process.getBuiltinModule
