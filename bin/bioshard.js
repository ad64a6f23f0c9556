#!/usr/bin/env node
// The CLI's entry. A checkout runs the TypeScript sources by type stripping
// (Node >= 22.18), so edits never hide behind a stale build; the installed
// package ships no sources and runs the compiled code in dist/ (Node refuses
// to strip types under node_modules). The
// shim sets up the process first, so it applies however the CLI is started
// (`npx bioshard`, `node bin/bioshard.js`, the devnet's node processes).
import { existsSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { setFlagsFromString } from 'node:v8'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`bioshard needs Node >= 22.18 (this is ${process.version}); ` +
    'run it through npm (npx bioshard, npm start), which uses the pinned Node from npm ci\n')
  process.exit(2)
}

const compiled = !existsSync(new URL('../cli/main.ts', import.meta.url))

// Keep the compiled code on disk (and, from source, the type-stripped
// sources), so a process whose files are unchanged neither loads the
// TypeScript stripper (a WebAssembly module that stays resident) nor compiles
// them again. In a checkout the cache sits beside the dependencies, written
// and trusted as they are; an installed package uses Node's default (the OS
// temporary directory). NODE_COMPILE_CACHE moves it and
// NODE_DISABLE_COMPILE_CACHE turns it off.
enableCompileCache(process.env.NODE_COMPILE_CACHE ??
  (compiled ? undefined : fileURLToPath(new URL('../node_modules/.cache/bioshard', import.meta.url))))

// V8 grows the young generation up to 16 MB a semi-space (32 MB resident)
// the first time allocation is busy (loading the modules is enough) and keeps
// it for the life of the process. A node's requests allocate little and
// briefly, so scavenging a young generation that never grows past its
// initial size costs it no throughput (bench/node.bench.ts), and the node
// holds 30 MB less. Set here, before the application allocates: the
// documented --max-semi-space-size is read only when the heap is created.
setFlagsFromString('--semi-space-growth-factor=1')

const { main } = compiled ? await import('../dist/cli/main.js') : await import('../cli/main.ts')
await main()
