/**
 * An isolated session's dir in execd's temp dir is held open (core/held-dir.ts): what execd
 * reads and writes there goes through its descriptor, not its name, which another user may take
 * once a cleaner removed execd's dir (`rm -rf /tmp/*`; the name is in the listing of a shared
 * TMPDIR). Pass 28 looked at the name before each write and after a commit's stage step: the
 * stage step read another user's layer by then, and a look leaves the moment before the write.
 * Each case plays the cleaner and the other user (uid 65534) from the test itself.
 */
import { expect, test } from 'bun:test'
import { chownSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, stdoutJoined, waitFor } from './harness'
import { daemonInSharedTmp } from './kit/daemon-dir'
import { overlaySession, sessionWithBigCommit } from './kit/overlay-commit'

const NOBODY = 65534
const asRoot = process.getuid?.() === 0
const canRun = asRoot && !!Bun.which('bwrap')

const fx = daemonInSharedTmp('held')

/** The daemon's one `execd-isolated-<pid>-…` dir. */
const isolatedDir = () => {
  const names = readdirSync(fx.tmp).filter(n => n.startsWith(`execd-isolated-${fx.d.proc.pid}-`))
  expect(names).toHaveLength(1)
  return join(fx.tmp, names[0]!)
}

/**
 * Watches `file` with inotify (python's ctypes: no tool to install) and says whether anyone
 * opened it: the event the kernel records, not a guess from timing.
 */
async function watchOpens(file: string): Promise<{ opened: () => Promise<boolean> }> {
  const script = `
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
assert libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x20) >= 0  # IN_OPEN
print('ready', flush=True)
while True:
    if select.select([fd, sys.stdin], [], [])[0].count(fd):
        print('opened', flush=True)
        break
    if not sys.stdin.read(1):
        break
`
  const p = Bun.spawn([process.env.EXECD_PYTHON ?? 'python3', '-c', script, file], { stdin: 'pipe', stdout: 'pipe' })
  const reader = p.stdout.getReader()
  let first = ''
  while (!first.includes('\n')) {
    const r = await reader.read()
    if (r.done) break
    first += new TextDecoder().decode(r.value)
  }
  expect(first).toBe('ready\n')
  return {
    opened: async () => {
      p.stdin.end()
      await p.exited
      let rest = ''
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value)
      return rest.includes('opened')
    },
  }
}

test.skipIf(!canRun)(
  'a commit’s stage step reads execd’s own layers, never a file another user put at their name meanwhile',
  async () => {
    const ws = join(fx.tmp, 'commit-ws')
    const id = await sessionWithBigCommit(fx.d, ws)
    // The other user's layer, ready beforehand, its z.txt watched for an open.
    const theirs = join(fx.tmp, 'theirs')
    mkdirSync(join(theirs, 'ovl', 'upper'), { recursive: true })
    writeFileSync(join(theirs, 'ovl', 'upper', 'z.txt'), 'theirs\n')
    Bun.spawnSync(['chown', '-R', `${NOBODY}:${NOBODY}`, theirs])
    const watch = await watchOpens(join(theirs, 'ovl', 'upper', 'z.txt'))
    const staged = () => readdirSync(ws).filter(n => n.startsWith('.execd-commit-'))
    const committing = fx.d.fetch(`/v1/isolated/session/${id}/commit`, { method: 'POST' })
    await waitFor('the commit to stage big.bin', () => staged().length === 1)
    // The cleaner takes execd's dir; the other user makes it again, the session's dir a link to theirs.
    const dir = isolatedDir()
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { mode: 0o777 })
    symlinkSync(theirs, join(dir, id))
    chownSync(dir, NOBODY, NOBODY)
    // Still staging big.bin once the name was theirs: z.txt is read after this.
    expect(staged()).toHaveLength(1)
    const commit = await committing
    // Old build: their z.txt opened and copied beside the workspace's (then unstaged, as the look
    // after the stage step found the dir gone).
    expect(await watch.opened()).toBe(false)
    expect(commit.status).toBe(500)
    expect((await commit.json()).message).toContain("the session's overlay layers were removed")
    expect(readFileSync(join(ws, 'z.txt'), 'utf8')).toBe('kept\n')
    expect(readdirSync(ws)).toEqual(['z.txt'])
    expect((await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })).status).toBeLessThan(300)
    // Their dir is theirs: the session's removal went through what execd held, not the link.
    expect(readdirSync(join(theirs, 'ovl', 'upper'))).toEqual(['z.txt'])
  },
  120_000,
)

test.skipIf(!canRun)(
  'a session whose dir went with execd’s temp dir says so, though a later session made that dir again',
  async () => {
    const ws = join(fx.tmp, 'again-ws')
    const first = await overlaySession(fx.d, ws)
    const run = async (id: string, code: string) => {
      const res = await postJson(fx.d, `/v1/isolated/session/${id}/run`, { code })
      return res.status === 200 ? JSON.stringify(await readSse(res)) : await res.text()
    }
    expect(await run(first, 'echo one')).toContain('one')
    // The cleaner takes execd's dir; the next session's start makes it again (a new inode, execd's).
    rmSync(isolatedDir(), { recursive: true, force: true })
    const second = await overlaySession(fx.d, ws)
    // Old build: the look at the temp dir found it whole, and the run's code file was written
    // into a session dir that was no more: `ENOENT: no such file or directory, open …`.
    expect(await run(first, 'echo two')).toContain("the isolated session's code dir was removed")
    expect(await run(second, 'echo three')).toContain('three')
    for (const id of [first, second])
      expect((await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })).status).toBeLessThan(300)
  },
  60_000,
)
