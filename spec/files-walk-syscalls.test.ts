/**
 * What a walk costs the kernel, counted with strace on the daemon (counts, not times: the
 * machine is shared). A search of a chain N deep reopened every level from its start as its
 * matches were stat'ed, deepest first, N²/14 opens; a removal opened each file as a directory
 * before it unlinked it. Both still find and remove exactly what they did, and follow no
 * symlink out of the tree.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon } from './harness'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-walk-syscalls-')))
let d: Daemon
beforeAll(async () => {
  d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
  rmSync(dir, { recursive: true, force: true })
})
const q = encodeURIComponent

/** A chain `d/d/…` `depth` deep under `root`, a file `z` beside each `d` (made by descriptor: no PATH_MAX). */
function chain(root: string, depth: number): void {
  mkdirSync(root)
  let fd = openSync(root, 'r')
  for (let i = 0; i < depth; i++) {
    mkdirSync(`/proc/self/fd/${fd}/d`)
    writeFileSync(`/proc/self/fd/${fd}/z`, '')
    const next = openSync(`/proc/self/fd/${fd}/d`, 'r')
    closeSync(fd)
    fd = next
  }
  closeSync(fd)
}

/** The system calls named in `names` that the daemon made while `run` ran, by name. */
async function traced(names: string[], run: () => Promise<void>): Promise<Map<string, number>> {
  const out = join(dir, `strace-${crypto.randomUUID()}`)
  const tracer = Bun.spawn(['strace', '-f', '-qq', '-e', `trace=${names}`, '-o', out, '-p', String(d.proc.pid)], {
    stderr: 'pipe',
  })
  // Attached once the daemon shows up as traced.
  while (!readFileSync(`/proc/${d.proc.pid}/status`, 'utf8').match(/^TracerPid:\s+[1-9]/m)) await Bun.sleep(10)
  try {
    await run()
  } finally {
    tracer.kill('SIGINT')
    await tracer.exited
  }
  const counts = new Map<string, number>()
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const name = /^\d+\s+(\w+)\(/.exec(line)?.[1]
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

const strace = Bun.which('strace')
if (!strace) console.warn('skipped: no strace to count the walk system calls')

describe.skipIf(!strace)('a walk through dist/execd, its system calls counted', () => {
  const depth = 300

  test('a search of a chain 300 deep finds every level, opening a few directories per level', async () => {
    const root = join(dir, 'chain')
    chain(root, depth)
    const outside = join(dir, 'outside')
    mkdirSync(outside)
    writeFileSync(join(outside, 'z'), 'not in the tree')
    symlinkSync(outside, join(root, ...Array<string>(depth).fill('d'), 'z-link'))
    let paths: string[] = []
    const counts = await traced(['openat'], async () => {
      const res = await d.fetch(`/files/search?path=${q(root)}&pattern=z*`)
      expect(res.status).toBe(200)
      paths = ((await res.json()) as { path: string }[]).map(e => e.path)
    })
    // Every `z` once, deepest first (`d` sorts before `z`), and the link as itself, not its target's `z`.
    const expected = Array.from({ length: depth }, (_, i) =>
      join(
        root,
        ...Array<string>(depth - i)
          .fill('d')
          .slice(1),
        'z',
      ),
    )
    expect(paths).toEqual([join(root, ...Array<string>(depth).fill('d'), 'z-link'), ...expected])
    // By level: its open, its read, its `..` on the way back and once more for the answer (1,504
    // in all). It was 7,538 when every level up was reopened from the start.
    expect(counts.get('openat') ?? 0).toBeLessThan(10 * depth)
  }, 60_000)

  test('DELETE /directories of 2,000 files opens their directories, not each file', async () => {
    const root = join(dir, 'wide')
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(root, `d${i}`), { recursive: true })
      for (let j = 0; j < 100; j++) writeFileSync(join(root, `d${i}`, `f${j}`), '')
    }
    const outside = join(dir, 'kept')
    mkdirSync(outside)
    writeFileSync(join(outside, 'f'), 'not in the tree')
    symlinkSync(outside, join(root, 'd0', 'link'))
    const counts = await traced(['openat', 'unlink', 'unlinkat'], async () => {
      const res = await d.fetch(`/directories?path=${q(root)}`, { method: 'DELETE' })
      expect([res.status, await res.text()]).toEqual([200, ''])
    })
    expect(existsSync(root)).toBe(false)
    expect(readFileSync(join(outside, 'f'), 'utf8')).toBe('not in the tree')
    // 68 opens; each file was opened as a directory first (ENOTDIR), then unlinked: 2,073.
    expect(counts.get('openat') ?? 0).toBeLessThan(200)
    expect((counts.get('unlink') ?? 0) + (counts.get('unlinkat') ?? 0)).toBeLessThan(2_100)
  }, 60_000)
})
