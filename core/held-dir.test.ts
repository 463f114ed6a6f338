import { expect, test } from 'bun:test'
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { testRoots } from '../spec/kit/test-roots'
import { HeldDir } from './held-dir'
import { OwnedTempDir } from './temp-dir'

const freshRoot = testRoots('execd-held-dir-test')
const privateDir = (at: string) => (mkdirSync(at, { mode: 0o700 }), at)

test('what is written beneath a held dir lands in it, whatever stands at its name by then', () => {
  const root = freshRoot()
  const held = new HeldDir(privateDir(join(root, 'd')))
  expect(held.intact()).toBe(true)
  // The name taken between a look and a write: moved aside, another dir made at it.
  renameSync(held.path, join(root, 'aside'))
  mkdirSync(held.path, { mode: 0o777 })
  expect(held.intact()).toBe(false)
  writeFileSync(held.beneath('code.sh'), 'echo ours\n')
  expect(readdirSync(held.path)).toEqual([])
  expect(readFileSync(join(root, 'aside', 'code.sh'), 'utf8')).toBe('echo ours\n')
  held.close()
})

test('a link, an open dir or one of another user is never held', () => {
  const root = freshRoot()
  const real = privateDir(join(root, 'real'))
  symlinkSync(real, join(root, 'link'))
  expect(() => new HeldDir(join(root, 'link'))).toThrow()
  mkdirSync(join(root, 'open'), { mode: 0o755 })
  expect(() => new HeldDir(join(root, 'open'))).toThrow('its mode is 755')
  if (process.getuid?.() === 0) {
    chownSync(privateDir(join(root, 'theirs')), 65534, 65534)
    expect(() => new HeldDir(join(root, 'theirs'))).toThrow("it is uid 65534's")
  }
})

test('remove empties the held dir, and leaves another dir at its name as it is', async () => {
  const root = freshRoot()
  const held = new HeldDir(privateDir(join(root, 'd')))
  mkdirSync(held.beneath('bash'))
  writeFileSync(held.beneath('bash', 'f'), 'x')
  renameSync(held.path, join(root, 'aside'))
  mkdirSync(join(held.path, 'theirs'), { recursive: true })
  await held.remove()
  expect(readdirSync(join(root, 'aside'))).toEqual([])
  expect(readdirSync(held.path)).toEqual(['theirs'])
  // Let go: its descriptor's number goes to the next open, so no path through it is given out.
  expect(() => held.at).toThrow('no longer held')
})

test('an owned temp dir is held: a dir made again is another, its first one let go', () => {
  const root = freshRoot()
  const dir = new OwnedTempDir('execd-held', root)
  const first = dir.held()
  writeFileSync(first.beneath('a'), 'a')
  expect(readdirSync(dir.path).sort()).toEqual(['.owner.sock', 'a'])
  rmSync(dir.path, { recursive: true, force: true })
  const second = dir.held()
  expect(second.intact()).toBe(true)
  expect(() => first.at).toThrow('no longer held')
  dir.close()
  expect(() => second.at).toThrow('no longer held')
})

/**
 * A real writer that makes `late` in `dir` as soon as the first of its entries is removed (an
 * inotify watch): an entry made after the removal's look at the names, as a files request still
 * writing, or a session's process as an exit hook runs, makes one.
 */
const LATE_WRITER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x200)  # IN_DELETE
print('ready', flush=True)
os.read(fd, 4096)
open(os.path.join(sys.argv[1], 'late'), 'w').close()
`
const python = process.env.EXECD_PYTHON || Bun.which('python3')

for (const how of ['remove', 'removeSync'] as const)
  test.skipIf(!python)(
    `${how}: an entry made after the look is emptied too, the dir removed`,
    async () => {
      const held = new HeldDir(privateDir(join(freshRoot(), 'd')))
      // Enough entries that the writer's `late` comes while they are still being removed.
      for (let i = 0; i < 2000; i++) writeFileSync(join(held.path, `f${i}`), '')
      const writer = Bun.spawn([python!, '-c', LATE_WRITER, held.path], { stdout: 'pipe', stderr: 'pipe' })
      const { value } = await writer.stdout.getReader().read()
      expect(new TextDecoder().decode(value)).toStartWith('ready')
      if (how === 'remove') await held.remove()
      else held.removeSync()
      // The writer made its entry (it fails if the dir was gone first: this test then proves nothing).
      expect(await writer.exited).toBe(0)
      expect(existsSync(held.path)).toBe(false)
    },
    60_000,
  )
