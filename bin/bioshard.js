#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping (Node >= 22.18). This
// shim only loads it, so `npx bioshard` works from a checkout without a build,
// and sets up the process first, so it applies however the CLI is started
// (`npx bioshard`, `node bin/bioshard.js`, the devnet's node processes).
import { enableCompileCache } from 'node:module'
import { setFlagsFromString } from 'node:v8'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`bioshard needs Node >= 22.18 (this is ${process.version}); ` +
    'run it through npm (npx bioshard, npm start), which uses the pinned Node from npm ci\n')
  process.exit(2)
}

// Keep the type-stripped sources and their compiled code on disk, so a
// process whose sources are unchanged neither loads the TypeScript stripper
// (a WebAssembly module that stays resident) nor compiles them again. The
// cache sits beside the dependencies, written and trusted as they are;
// NODE_COMPILE_CACHE moves it and NODE_DISABLE_COMPILE_CACHE turns it off.
enableCompileCache(process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL('../node_modules/.cache/bioshard', import.meta.url)))

// V8 grows the young generation up to 16 MB a semi-space (32 MB resident)
// the first time allocation is busy (loading the modules is enough) and keeps
// it for the life of the process. A node's requests allocate little and
// briefly, so scavenging a young generation that never grows past its
// initial size costs it no throughput (bench/node.bench.ts), and the node
// holds 30 MB less. Set here, before the application allocates: the
// documented --max-semi-space-size is read only when the heap is created.
setFlagsFromString('--semi-space-growth-factor=1')

const { main } = await import('../cli/main.ts')
await main()
