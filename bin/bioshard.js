#!/usr/bin/env node
// The CLI is TypeScript run by Node's type stripping (Node >= 22.18). This
// shim only loads it, so `npx bioshard` works from a checkout without a build.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`bioshard needs Node >= 22.18 (this is ${process.version}); run it through npm (npx bioshard, npm start), which uses the pinned Node from npm ci\n`)
  process.exit(2)
}
const { main } = await import('../cli/main.ts')
await main()
