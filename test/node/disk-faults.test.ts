/**
 * A full disk under a real node process: stores are refused with
 * ERR_STORAGE, nothing is acknowledged that was not written, the node keeps
 * serving fetches of what it holds, and after a kill and a restart with room
 * again every acknowledged share is there and new stores are taken.
 *
 * Two ways to fill the disk, both unprivileged: a file size limit on the node
 * process (RLIMIT_FSIZE through `prlimit`; Node ignores SIGXFSZ, so the write
 * fails with EFBIG), and, where user namespaces are allowed, a tiny tmpfs
 * mounted over the node's database (ENOSPC). Root cannot be stopped by file
 * modes, so a read-only directory is not tried by chmod.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { equalBytes } from '../../crypto/bytes.ts'
import { LoneNode, type Held } from '../helpers/lone-node.ts'
import { codeOfAsync } from '../helpers/assert.ts'

/** The file size limit: the database's write-ahead log reaches it after some tens of stores. */
const FSIZE_BYTES = 96 * 1024
/** The tmpfs: LevelDB's files at start take a few KiB; stores fill the rest. */
const TMPFS_SIZE = '160k'
/** Stores tried at most before the disk must have refused one. */
const MAX_STORES = 400

/** Whether `prlimit` and an unprivileged mount namespace with tmpfs are available here. */
function can (argv: string[]): boolean {
  return spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' }).status === 0
}
const HAS_PRLIMIT = can(['prlimit', '--fsize=1048576', '--', 'true'])
const HAS_TMPFS_NS = can(['unshare', '-Urm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /tmp && true'])

/** A command prefix that mounts a `size` tmpfs over `<dir>/db` in a private mount namespace, then runs the node. */
function tmpfsPrefix (dir: string, size: string): string[] {
  return ['unshare', '-Urm', 'sh', '-c', `mkdir -p "$0/db" && mount -t tmpfs -o size=${size},mode=0700 tmpfs "$0/db" && exec "$@"`, dir]
}

/** Store fresh templates until one is refused; every acknowledged one is returned with the refusal's code. */
async function fillDisk (lone: LoneNode): Promise<{ acked: Held[], refused: Held, code: string }> {
  const acked: Held[] = []
  for (let i = 0; i < MAX_STORES; i++) {
    const s = await lone.prepare()
    const code = await codeOfAsync(lone.store(s))
    if (code === 'no error') acked.push(s)
    else return { acked, refused: s, code }
  }
  throw new Error(`${MAX_STORES} stores were all taken: the disk never filled`)
}

/** The checks every variant makes once the disk is full, and after a restart with room. */
async function fullDiskHolds (lone: LoneNode, start: () => Promise<void>): Promise<void> {
  await start()
  const { acked, refused, code } = await fillDisk(lone)
  assert.is(code, 'ERR_STORAGE', 'a store the disk cannot take is refused with a typed error')
  assert.ok(acked.length > 0, 'stores were taken before the disk filled')
  assert.is(await codeOfAsync(lone.fetch(refused)), 'ERR_NOT_FOUND', 'the refused store is not held')
  for (const s of acked) assert.ok(equalBytes(await lone.fetch(s), s.held.bytes), 'what it holds is still served')
  assert.is(await codeOfAsync(lone.store(await lone.prepare())), 'ERR_STORAGE', 'later stores are refused too')
  assert.is(await codeOfAsync(lone.erase(acked[0])), 'ERR_STORAGE', 'an erase it cannot write is refused, not acknowledged')
  assert.ok(equalBytes(await lone.fetch(acked[0]), acked[0].held.bytes), 'and the share is still there and served')
  await lone.node!.kill('SIGKILL')
  return await afterRestart(lone, { acked, refused })
}

async function afterRestart (lone: LoneNode, { acked, refused }: { acked: Held[], refused: Held }): Promise<void> {
  await lone.start()
  for (const s of acked) assert.ok(equalBytes(await lone.fetch(s), s.held.bytes), 'every acknowledged share survives')
  assert.is(await codeOfAsync(lone.fetch(refused)), 'ERR_NOT_FOUND')
  const s = await lone.prepare()
  await lone.store(s)
  assert.ok(equalBytes(await lone.fetch(s), s.held.bytes), 'with room again, stores are taken')
  await lone.erase(acked[0])
  assert.is(await codeOfAsync(lone.fetch(acked[0])), 'ERR_ERASED')
}

const full = suite('a full disk: stores refused with ERR_STORAGE, fetches served')
const roots: string[] = []
const lones: LoneNode[] = []

async function freshLone (): Promise<LoneNode> {
  const root = mkdtempSync(join(tmpdir(), 'bioshard-disk-'))
  roots.push(root)
  const lone = await LoneNode.create(root)
  lones.push(lone)
  return lone
}

full('a file size limit on the node process (EFBIG)', async () => {
  if (!HAS_PRLIMIT) { console.log('  skipped: prlimit is not available'); return }
  const lone = await freshLone()
  await fullDiskHolds(lone, async () => { await lone.start([], { prefix: ['prlimit', `--fsize=${FSIZE_BYTES}`, '--'] }) })
})

full('a tiny tmpfs under the database (ENOSPC)', async () => {
  if (!HAS_TMPFS_NS) { console.log('  skipped: unprivileged mount namespaces (unshare -Urm) are not permitted here'); return }
  const lone = await freshLone()
  // The tmpfs lives as long as the node process: the restart finds an empty
  // database, so this variant checks the full disk while running only.
  await lone.start([], { prefix: tmpfsPrefix(lone.dir, TMPFS_SIZE) })
  const { acked, refused, code } = await fillDisk(lone)
  assert.is(code, 'ERR_STORAGE')
  assert.ok(acked.length > 0)
  assert.is(await codeOfAsync(lone.fetch(refused)), 'ERR_NOT_FOUND')
  for (const s of acked) assert.ok(equalBytes(await lone.fetch(s), s.held.bytes))
  assert.is(await codeOfAsync(lone.erase(acked[0])), 'ERR_STORAGE')
})

full.after(async () => {
  for (const lone of lones) await lone.close()
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

full.run()
