/**
 * A move across filesystems (tmp → /dev/shm: copied, then the source removed) while a helper
 * process renames a FIFO and a file over one name of the tree being copied, through the compiled
 * executable. A file checked as a file and then opened by name was a FIFO by the time it was
 * opened: the open waited for a writer that never came, and the move never answered (nor did
 * anything else that needed that thread of the pool). Every move must answer, done or refused.
 * (The mv route answers nothing else: what it reads is not sent back, so only the hang shows.)
 *
 * Then the same move while a directory of the tree is swapped for a symlink to a directory
 * outside it, and back. The copy opens each directory O_NOFOLLOW from its held parent: what it
 * meets at the name is copied as it is then (a directory, or the link as a link), never
 * followed. Nothing outside may be read into the copy, nor written or removed.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, waitFor } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { python } from './kit/download-swap'

const MOVES = 150
/** A move of one small file that has not answered in this long is held. */
const ANSWER_MS = 10_000

// Puts a FIFO, then a file, at <dir>/f, over and over, until stdin closes (<started> made after
// the first round); the directory may
// vanish (the move removes it) and come back (the test makes it again).
const SWAPPER = `
import os, sys, threading
d = sys.argv[1]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
n = 0
while not stop.is_set():
    try:
        os.mkfifo(d + '/.fifo')
        os.rename(d + '/.fifo', d + '/f')
        with open(d + '/.file', 'wb') as w: w.write(b'data')
        os.rename(d + '/.file', d + '/f')
        n += 1
        if n == 1: open(sys.argv[2], 'w').close()
    except OSError:
        pass
print(n)
`

const LINK_MOVES = 12
const FILES = 1500
const SECRET = 'outside-secret'

// Swaps <src>/sub for a symlink to <outside> and back, over and over, until stdin closes
// (<started> made after the first round). The tree may vanish (the move removes it).
const LINK_SWAPPER = `
import os, sys, threading
src, outside, started = sys.argv[1:4]
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
n = 0
while not stop.is_set():
    try:
        os.rename(src + '/sub', src + '/.sub')
        os.symlink(outside, src + '/sub')
        os.unlink(src + '/sub')
        os.rename(src + '/.sub', src + '/sub')
        n += 1
        if n == 1: open(started, 'w').close()
    except OSError:
        pass
print(n)
`

const otherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev
const fx = daemonWithDirAtLoad('move-swap')
const base = fx.tmp
const shm = otherDevice ? mkdtempSync('/dev/shm/execd-spec-move-swap-') : ''
afterAll(async () => {
  if (shm) rmSync(shm, { recursive: true, force: true })
})

describe.skipIf(!python || !otherDevice)('a move across filesystems while a FIFO is swapped into the tree', () => {
  test('every move answers (moved, or refused for the FIFO), none waits on the FIFO', async () => {
    const src = join(base, 'src')
    mkdirSync(src)
    const started = join(base, 'swapping')
    const swapper = Bun.spawn([python as string, '-c', SWAPPER, src, started], { stdin: 'pipe', stdout: 'pipe' })
    await waitFor('the swapper to start', () => existsSync(started) || swapper.exitCode !== null)
    const statuses: Record<string, number> = {}
    try {
      for (let i = 0; i < MOVES; i++) {
        mkdirSync(src, { recursive: true })
        writeFileSync(join(src, 'g'), 'other')
        const res = await postJson(fx.d, '/files/mv', [{ src, dest: join(shm, `d${i}`) }], {
          signal: AbortSignal.timeout(ANSWER_MS),
        })
        const key = res.status === 200 ? '200' : `${res.status} ${((await res.json()) as { code: string }).code}`
        statuses[key] = (statuses[key] ?? 0) + 1
      }
    } finally {
      swapper.stdin.end()
      await swapper.exited
    }
    const swaps = Number(await new Response(swapper.stdout).text())
    console.log(`move swap: ${swaps} swaps, statuses ${JSON.stringify(statuses)}`)
    // Refused: the FIFO (400), or a name of the swapper's that went while it was copied (404).
    expect(
      Object.keys(statuses).filter(k => !['200', '400 INVALID_REQUEST_BODY', '404 FILE_NOT_FOUND'].includes(k)),
    ).toEqual([])
    // Whole moves are rare here (0–4 of 150 in a run: the FIFO is in the tree most of the time);
    // what counts is that every move answered and the race really ran.
    expect(swaps).toBeGreaterThan(1)
  }, 120_000)
})

/** Every regular file's text under `dir`, symlinks not followed. */
function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const s = lstatSync(path)
    if (s.isDirectory()) filesUnder(path, out)
    else if (s.isFile()) out.push(readFileSync(path, 'utf8'))
  }
  return out
}

/** A tree whose copy takes a while (FILES files before `sub`, `sub` holding a few). */
function makeTree(src: string): void {
  mkdirSync(join(src, 'a'), { recursive: true })
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, 'a', `f${i}`), 'inside')
  mkdirSync(join(src, 'sub'), { recursive: true })
  for (let i = 0; i < 20; i++) writeFileSync(join(src, 'sub', `g${i}`), 'inside')
}

describe.skipIf(!python || !otherDevice)('a move across filesystems while a directory is swapped for a symlink', () => {
  test('the copy never reads from nor writes to the symlink target outside the tree', async () => {
    const outside = join(base, 'outside')
    mkdirSync(outside)
    for (let i = 0; i < 20; i++) writeFileSync(join(outside, `g${i}`), SECRET)
    const src = join(base, 'linked')
    const statuses: Record<string, number> = {}
    let copiedLink = 0
    for (let i = 0; i < LINK_MOVES; i++) {
      makeTree(src)
      const started = join(base, `link-swapping${i}`)
      const swapper = Bun.spawn([python as string, '-c', LINK_SWAPPER, src, outside, started], {
        stdin: 'pipe',
        stdout: 'pipe',
      })
      let swaps = 0
      try {
        await waitFor('the swapper to start', () => existsSync(started) || swapper.exitCode !== null)
        const dest = join(shm, `linked${i}`)
        const res = await postJson(fx.d, '/files/mv', [{ src, dest }])
        const refusal = res.status === 200 ? undefined : ((await res.json()) as { code: string; message: string })
        if (refusal?.code === 'INVALID_REQUEST_BODY') console.log(`copy swap refused: ${refusal.message}`)
        const key = refusal ? `${res.status} ${refusal.code}` : '200'
        statuses[key] = (statuses[key] ?? 0) + 1
        if (existsSync(dest)) {
          expect(filesUnder(dest).filter(text => text === SECRET)).toEqual([])
          if (lstatSync(join(dest, 'sub'), { throwIfNoEntry: false })?.isSymbolicLink()) copiedLink++
        }
      } finally {
        swapper.stdin.end()
        swaps = Number(await new Response(swapper.stdout).text())
        await swapper.exited
      }
      expect(swaps).toBeGreaterThan(0)
      // Outside is as it was: nothing removed, added or written.
      expect(readdirSync(outside).sort()).toEqual(Array.from({ length: 20 }, (_, k) => `g${k}`).sort())
      expect(filesUnder(outside).every(text => text === SECRET)).toBe(true)
      rmSync(src, { recursive: true, force: true })
    }
    console.log(`copy swap: statuses ${JSON.stringify(statuses)}, ${copiedLink} copies took sub as the link`)
    // Refused only for a name of the swapper's that went while it was copied (404), or for `sub`
    // turned into the link between its lstat and its no-follow open (400: ELOOP/ENOTDIR, once
    // in 12 moves in CI).
    expect(
      Object.keys(statuses).filter(k => !['200', '400 INVALID_REQUEST_BODY', '404 FILE_NOT_FOUND'].includes(k)),
    ).toEqual([])
  }, 180_000)
})
