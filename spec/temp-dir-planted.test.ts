/**
 * execd's private temp dirs are made again when something removes them (a temp cleaner, a
 * command's `rm -rf $TMPDIR/execd-*`). Their names are in the listing of a shared TMPDIR (and
 * /dev/shm), so another user could put a dir of theirs at one once it was gone: execd wrote a
 * session's code, its FIFOs and commands' logs into it, and ran the sql driver it found there,
 * as root. Each case plays the cleaner and the other user (uid 65534) from the test itself.
 */
import { expect, test } from 'bun:test'
import {
  chownSync,
  symlinkSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, stdoutJoined, waitFor, type SseFrame } from './harness'
import { daemonInSharedTmp } from './kit/daemon-dir'
import { overlaySession, sessionWithBigCommit } from './kit/overlay-commit'
import { SHM, shmIsTmpfs } from './kit/shm'

const NOBODY = 65534
const asRoot = process.getuid?.() === 0

const fx = daemonInSharedTmp('planted')

/** The one entry of `root` named `<prefix>-<daemon pid>-…`. */
const ownDir = (root: string, prefix: string) => {
  const names = readdirSync(root).filter(n => n.startsWith(`${prefix}-${fx.d.proc.pid}-`))
  expect(names).toHaveLength(1)
  return join(root, names[0]!)
}

/** The cleaner removes `dir`; the other user makes their own at its name, with `files` in it. */
function plant(dir: string, files: Record<string, string> = {}): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { mode: 0o777 })
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text)
    chownSync(join(dir, name), NOBODY, NOBODY)
  }
  chownSync(dir, NOBODY, NOBODY)
}

/** The entry at `dir` is execd's again: root's, 0700. */
const expectOwned = (dir: string) => {
  const st = lstatSync(dir)
  expect({ dir: st.isDirectory(), uid: st.uid, mode: st.mode & 0o777 }).toEqual({ dir: true, uid: 0, mode: 0o700 })
}

const session = async () => {
  const res = await postJson(fx.d, '/session', {})
  expect(res.status).toBe(200)
  return (await res.json()).session_id as string
}
const run = async (sid: string, command: string) =>
  stdoutJoined(await readSse(await postJson(fx.d, `/session/${sid}/run`, { command })))

test.skipIf(!asRoot)('a session’s code is not written into a dir another user put at its dir’s name', async () => {
  const sid = await session()
  expect(await run(sid, 'echo one')).toBe('one')
  const dir = ownDir(fx.tmp, 'execd-sessions')
  plant(dir)
  // Old build: `execd-bash-<nonce>.sh` was written into the planted dir and sourced from it.
  expect(await run(sid, 'echo two')).toBe('two')
  expectOwned(dir)
})

test.skipIf(!asRoot || !shmIsTmpfs)(
  'a session’s FIFOs are not made in a dir another user put on /dev/shm',
  async () => {
    const sid = await session()
    expect(await run(sid, 'echo one')).toBe('one')
    const dir = ownDir(SHM, 'execd-session-fifos')
    plant(dir)
    // Old build: the next run's FIFO was made in the planted dir (theirs to swap for a FIFO of
    // their own, which the root shell then read its lines from).
    expect(await run(sid, 'echo two')).toBe('two')
    expectOwned(dir)
  },
)

test.skipIf(!asRoot)('a command’s log is not written into a dir another user put at its dir’s name', async () => {
  const first = await readSse(await postJson(fx.d, '/command', { command: 'echo one' }))
  expect(stdoutJoined(first)).toBe('one')
  const dir = ownDir(fx.tmp, 'execd-commands')
  plant(dir)
  const second = await readSse(await postJson(fx.d, '/command', { command: 'echo secret' }))
  expect(stdoutJoined(second)).toBe('secret')
  // Old build: `<id>.output` holding "secret" in the planted dir.
  expectOwned(dir)
})

test.skipIf(!asRoot)('the sql driver is never run from a dir another user put at its dir’s name', async () => {
  const cell = async () => {
    const ctx = await postJson(fx.d, '/code/context', { language: 'sql' })
    if (ctx.status !== 200) return `${ctx.status} ${await ctx.text()}`
    const { id } = await ctx.json()
    const frames = await readSse(
      await postJson(fx.d, '/code', { code: 'select 6 * 7 as n', context: { id, language: 'sql' } }),
    )
    return JSON.stringify(frames.find(f => f.data.type === 'result')?.data)
  }
  expect(await cell()).toContain('42')
  const dir = ownDir(fx.tmp, 'execd-sql')
  const marker = join(fx.tmp, 'planted-driver-ran')
  plant(dir, {
    'sql-driver.js': `require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.getuid())); process.exit(1)`,
  })
  const after = await cell()
  // Old build: the planted driver ran as root (the marker says 0) and the context's start was a 500.
  expect(existsSync(marker) ? `ran as uid ${readFileSync(marker, 'utf8')}` : 'not run').toBe('not run')
  expect(after).toContain('42')
})

/** A link of the other user's at `at`, to `target`. */
function plantLink(at: string, target: string): void {
  rmSync(at, { force: true })
  symlinkSync(target, at)
  chownSync(at, NOBODY, NOBODY)
}
const isLink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

test.skipIf(!asRoot)(
  'a bash context’s code file in TMPDIR is never written through a link put beside it',
  async () => {
    const ctx = await postJson(fx.d, '/code/context', { language: 'bash' })
    expect(ctx.status).toBe(200)
    const { id } = await ctx.json()
    const cell = (code: string, until?: (f: SseFrame) => boolean) =>
      postJson(fx.d, '/code', { code, context: { id, language: 'bash' } }).then(r => readSse(r, until))
    expect(stdoutJoined(await cell('echo one'))).toBe('one\n')
    // The context's file is in TMPDIR itself, its name in the listing.
    const names = readdirSync(fx.tmp).filter(n => /^execd-bash-\w+\.sh$/.test(n))
    expect(names).toHaveLength(1)
    const file = join(fx.tmp, names[0]!)
    const victim = join(fx.tmp, 'victim')
    writeFileSync(victim, 'root file\n')
    // The interrupt's `<file>.int`, planted before it is made: no removal needed.
    plantLink(`${file}.int`, victim)
    // An interrupt of a running cell makes the .int.
    const started = join(fx.tmp, 'started')
    const running = cell(`touch ${started}; sleep 30`)
    await waitFor('the cell', () => existsSync(started))
    expect((await fx.d.fetch(`/code?id=${id}`, { method: 'DELETE' })).status).toBe(200)
    await running
    // Old build: `return 130` written into the victim, and the link renamed over the code file.
    expect(readFileSync(victim, 'utf8')).toBe('root file\n')
    expect(isLink(file)).toBe(false)
    // The code file removed (a `rm -rf /tmp/*`) and a link put at its name.
    plantLink(file, victim)
    expect(stdoutJoined(await cell('echo two'))).toBe('two\n')
    expect(readFileSync(victim, 'utf8')).toBe('root file\n')
    expect({ link: isLink(file), uid: lstatSync(file).uid }).toEqual({ link: false, uid: 0 })
  },
  30_000,
)

test.skipIf(!asRoot || !Bun.which('javac') || !Bun.which('jar'))(
  'the java helper is never run from a cache dir another user made',
  async () => {
    const start = () => postJson(fx.d, '/code/context', { language: 'java' })
    expect((await start()).status).toBe(200)
    const cache = join(fx.tmp, `execd-${process.getuid?.()}`)
    const helpers = readdirSync(cache).filter(n => n.startsWith('java-helper-'))
    expect(helpers).toHaveLength(1)
    // The other user's helper: a class of the helper's name that leaves a marker.
    const marker = join(fx.tmp, 'planted-helper-ran')
    const src = join(fx.tmp, 'planted-src')
    mkdirSync(src)
    writeFileSync(
      join(src, 'ExecdJShell.java'),
      `public class ExecdJShell { public static void main(String[] a) throws Exception {
        java.nio.file.Files.writeString(java.nio.file.Path.of(${JSON.stringify(marker)}), "" + new com.sun.security.auth.module.UnixSystem().getUid()); } }`,
    )
    expect(Bun.spawnSync(['javac', '-d', src, join(src, 'ExecdJShell.java')]).exitCode).toBe(0)
    // The cleaner takes the cache; the other user makes it theirs, the helper at its known path.
    rmSync(cache, { recursive: true, force: true })
    const dir = join(cache, helpers[0]!)
    mkdirSync(dir, { recursive: true })
    expect(Bun.spawnSync(['jar', 'cf', join(dir, 'helper.jar'), '-C', src, 'ExecdJShell.class']).exitCode).toBe(0)
    for (const p of [cache, dir, join(dir, 'helper.jar')]) chownSync(p, NOBODY, NOBODY)
    Bun.spawnSync(['chmod', '0777', cache])
    const second = await start()
    // Old build: the planted helper ran as root (the marker says 0).
    expect(existsSync(marker) ? `ran as uid ${readFileSync(marker, 'utf8')}` : 'not run').toBe('not run')
    expect(second.status).toBe(500)
    expect((await second.json()).message).toContain('is not a private directory of this user')
    rmSync(cache, { recursive: true, force: true })
  },
  240_000,
)

test.skipIf(!asRoot || !Bun.which('go'))(
  'a go kernel is never run from a cache dir another user made',
  async () => {
    const start = () => postJson(fx.d, '/code/context', { language: 'go' })
    const first = await start()
    expect(first.status).toBe(200)
    const cache = join(fx.tmp, `execd-${process.getuid?.()}`)
    const kernels = readdirSync(cache).filter(n => n.startsWith('go-kernel-'))
    expect(kernels).toHaveLength(1)
    // The cleaner takes the cache; the other user makes it theirs, a kernel at the known path.
    const marker = join(fx.tmp, 'planted-kernel-ran')
    rmSync(cache, { recursive: true, force: true })
    mkdirSync(join(cache, kernels[0]!), { recursive: true })
    writeFileSync(join(cache, kernels[0]!, 'kernel'), `#!/bin/sh\nid -u > ${marker}\n`, { mode: 0o755 })
    for (const p of [cache, join(cache, kernels[0]!), join(cache, kernels[0]!, 'kernel')]) chownSync(p, NOBODY, NOBODY)
    Bun.spawnSync(['chmod', '0777', cache])
    const second = await start()
    // The old build refused it too: the context's go environment looks at the dir before the
    // kernel starts. The kernel's own look keeps it so.
    expect(existsSync(marker) ? `ran as uid ${readFileSync(marker, 'utf8').trim()}` : 'not run').toBe('not run')
    expect(second.status).toBe(500)
    expect((await second.json()).message).toContain('is not a private directory of this user')
    rmSync(cache, { recursive: true, force: true })
  },
  240_000,
)

/** An isolated session over a new workspace `ws` as an overlay; its id. */
test.skipIf(!asRoot || !Bun.which('bwrap'))(
  'a commit never takes an upper layer another user made',
  async () => {
    const ws = join(fx.tmp, 'ws')
    const id = await overlaySession(fx.d, ws)
    const ran = await readSse(await postJson(fx.d, `/v1/isolated/session/${id}/run`, { code: `echo hi > ${ws}/f` }))
    expect(ran.at(-1)?.data.type).toBe('execution_complete')
    // The cleaner takes execd's dir of layers; the other user makes it again with an upper of theirs.
    const dir = ownDir(fx.tmp, 'execd-isolated')
    plant(dir)
    mkdirSync(join(dir, id, 'ovl', 'upper'), { recursive: true })
    writeFileSync(join(dir, id, 'ovl', 'upper', 'planted'), 'theirs\n')
    Bun.spawnSync(['chown', '-R', `${NOBODY}:${NOBODY}`, dir])
    const commit = await fx.d.fetch(`/v1/isolated/session/${id}/commit`, { method: 'POST' })
    // Old build: `planted` (uid 65534's) committed into the workspace.
    expect(readdirSync(ws)).toEqual([])
    expect(commit.status).toBe(500)
    expect((await commit.json()).message).toContain("the session's overlay layers were removed")
    expect((await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })).status).toBeLessThan(300)
  },
  60_000,
)

/** Every file under `dir` and what it holds. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(e => !e.isDirectory())
    .map(e => {
      const p = join(e.parentPath, e.name)
      return `${p}: ${e.isFile() ? readFileSync(p, 'utf8') : 'not a file'}`
    })

test.skipIf(!asRoot || !Bun.which('bwrap'))(
  'an isolated session’s code is never written into a dir another user made at its dir’s name',
  async () => {
    const ws = join(fx.tmp, 'code-ws')
    const id = await overlaySession(fx.d, ws)
    const runIt = async (code: string) => readSse(await postJson(fx.d, `/v1/isolated/session/${id}/run`, { code }))
    expect(stdoutJoined(await runIt('echo one'))).toBe('one')
    // The cleaner takes execd's dir; the other user makes it again, with the session's code dir.
    const dir = ownDir(fx.tmp, 'execd-isolated')
    plant(dir)
    mkdirSync(join(dir, id, 'bash'), { recursive: true, mode: 0o777 })
    Bun.spawnSync(['chown', '-R', `${NOBODY}:${NOBODY}`, dir])
    const second = await postJson(fx.d, `/v1/isolated/session/${id}/run`, { code: 'echo the-secret' })
    const said = second.status === 200 ? JSON.stringify(await readSse(second)) : await second.text()
    // Old build: `execd-bash-<nonce>.sh` holding `echo the-secret`, and the next run's FIFO, in
    // the planted dir (the run then failed: the sandbox sources its own bound copy).
    expect(filesUnder(dir)).toEqual([])
    expect(said).toContain("the isolated session's code dir was removed")
    expect((await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })).status).toBeLessThan(300)
  },
  60_000,
)

test.skipIf(!asRoot || !Bun.which('bwrap'))(
  'a commit under way never reads its layers from, nor remakes them in, a dir another user made',
  async () => {
    const ws = join(fx.tmp, 'commit-ws')
    const id = await sessionWithBigCommit(fx.d, ws)
    const staged = () => readdirSync(ws).filter(n => n.startsWith('.execd-commit-'))
    const committing = fx.d.fetch(`/v1/isolated/session/${id}/commit`, { method: 'POST' })
    await waitFor('the commit to stage big.bin', () => staged().length === 1)
    // The cleaner takes execd's dir; the other user makes it again, the session's dir a link to
    // a dir of theirs whose upper layer holds a z.txt of their own.
    const dir = ownDir(fx.tmp, 'execd-isolated')
    plant(dir)
    const theirs = join(fx.tmp, 'theirs')
    mkdirSync(join(theirs, 'ovl', 'upper'), { recursive: true })
    writeFileSync(join(theirs, 'ovl', 'upper', 'z.txt'), 'theirs\n')
    writeFileSync(join(theirs, 'ovl', 'keep'), 'theirs\n')
    Bun.spawnSync(['chown', '-R', `${NOBODY}:${NOBODY}`, theirs])
    plantLink(join(dir, id), theirs)
    // Still staging once the dir was theirs: what follows read their layers on the old build.
    expect(staged()).toHaveLength(1)
    const commit = await committing
    // Old build: z.txt read 'theirs', and the overlay's dirs were removed and made again (root's)
    // through their link: `keep` gone, an `upper` and `work` of root's in their dir.
    expect(readFileSync(join(ws, 'z.txt'), 'utf8')).toBe('kept\n')
    expect(readdirSync(ws).sort()).toEqual(['z.txt'])
    expect(readdirSync(join(theirs, 'ovl')).sort()).toEqual(['keep', 'upper'])
    expect(commit.status).toBe(500)
    expect((await commit.json()).message).toContain("the session's overlay layers were removed")
    expect((await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })).status).toBeLessThan(300)
  },
  120_000,
)

test.skipIf(!asRoot || !Bun.which('go'))(
  'a go cell is never written, built or run in a dir another user made during its build',
  async () => {
    const goDirs = () => readdirSync(fx.tmp).filter(n => n.startsWith(`execd-go-${fx.d.proc.pid}-`))
    const before = new Set(goDirs())
    const cell = async (code: string) => {
      const ctx = await postJson(fx.d, '/code/context', { language: 'go' })
      const { id } = await ctx.json()
      return (c = code) => postJson(fx.d, '/code', { code: c, context: { id } }).then(r => readSse(r))
    }
    const run = await cell('fmt.Println("the-secret")')
    const [dir = ''] = goDirs()
      .filter(n => !before.has(n))
      .map(n => join(fx.tmp, n))
    const [kernel = 0] = pidsWith(`"dir":"${dir}"`, fx.d.proc.pid)
    expect(kernel).toBeGreaterThan(0)
    const ran = run()
    // A build under way, the kernel held until it is done: the window a build of seconds leaves,
    // made sure. Until the one that makes the program (the first may fail: an import to add).
    const building = () => pidsWith('go build', kernel).length > 0
    for (;;) {
      await waitFor('a build', building)
      process.kill(kernel, 'SIGSTOP')
      await waitFor('the build to end', () => !building())
      if (existsSync(join(dir, 'cell'))) break
      process.kill(kernel, 'SIGCONT')
    }
    const marker = join(fx.tmp, 'planted-cell-ran')
    plant(dir, { cell: `#!/bin/sh\nid -u > ${marker}\n` })
    Bun.spawnSync(['chmod', '0755', join(dir, 'cell')])
    process.kill(kernel, 'SIGCONT')
    const events = (await ran).map(f => f.data)
    // Old build: the planted program ran as root (the marker says 0), at the dir's name.
    expect(existsSync(marker) ? `ran as uid ${readFileSync(marker, 'utf8').trim()}` : 'not run').toBe('not run')
    expect(filesUnder(dir)).toEqual([`${join(dir, 'cell')}: #!/bin/sh\nid -u > ${marker}\n`])
    expect(events.find(e => e.type === 'error')?.error.evalue).toContain(`module dir ${dir} was removed`)
    // The next cell makes the dir again, execd's; so does the next context.
    expect(stdoutJoined(await run('fmt.Println(6 * 7)'))).toBe('42\n')
    expectOwned(dir)
    expect(stdoutJoined(await (await cell('fmt.Println(7 * 6)'))())).toBe('42\n')
  },
  240_000,
)
