/** A commit onto a full disk: the workspace is a small tmpfs (root only: skipped visibly otherwise). */
import { describe, expect, test } from 'bun:test'
import { spawnSync as spawn } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scratchWithDisks } from './kit/small-disk'
import { daemonWithDir } from './kit/daemon-dir'
import { isolationOf, stdoutOf } from './kit/isolated'

const fx = daemonWithDir('isolated-commit-disk')
const isRoot = process.getuid?.() === 0
const scratch = scratchWithDisks('isolated-commit-disk')

describe.skipIf(!Bun.which('bwrap') || !isRoot)('commit onto a full disk', () => {
  test('commits nothing, leaves no temp file, names no path of execd, and commits all once there is room', async () => {
    const ws = scratch.smallDisk('1m')
    writeFileSync(join(ws, 'a.txt'), 'hi\n')
    const s = await isolationOf(fx.d).create({ workspace: { path: ws, mode: 'overlay' } })
    try {
      // The upper layer is in execd's temp dir, not on the small disk: the session may write
      // more than the workspace can take. a.txt comes first in the commit, big.bin after it.
      const made = await s.run(
        'echo changed > a.txt; mkdir nd; echo z > nd/z.txt; head -c 2M /dev/zero > big.bin; echo ok',
      )
      expect(stdoutOf(made)).toEqual(['ok'])

      const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      expect(res.status).toBe(500)
      const body = await res.json()
      expect(body.code).toBe('RUNTIME_ERROR')
      expect(body.message).toContain('ENOSPC')
      expect(body.message).toContain(join(ws, 'big.bin'))
      expect(body.message).toContain('nothing was committed')
      expect(body.message).not.toContain('execd-isolated')
      expect(body.message).not.toContain('.execd-commit-')
      expect(body.message).not.toContain('upper')

      // All or nothing: the workspace is as it was, with no staged file left behind.
      expect(readdirSync(ws).sort()).toEqual(['a.txt'])
      expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('hi\n')

      // The overlay kept every change: with room on the disk, the same commit applies them all.
      const diff = await (await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/diff`)).json()
      expect(diff.changes.map((c: { path: string }) => c.path.slice(ws.length + 1))).toEqual([
        'a.txt',
        'big.bin',
        'nd',
        'nd/z.txt',
      ])
      expect(spawn('mount', ['-o', 'remount,size=8m', ws]).status).toBe(0)
      const again = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      expect(again.status).toBe(200)
      expect(readdirSync(ws).sort()).toEqual(['a.txt', 'big.bin', 'nd'])
      expect(readFileSync(join(ws, 'a.txt'), 'utf8')).toBe('changed\n')
      expect(readFileSync(join(ws, 'nd', 'z.txt'), 'utf8')).toBe('z\n')
    } finally {
      await s.delete()
    }
  })
})

describe.skipIf(!Bun.which('bwrap') || !isRoot)('commit where a directory became a file', () => {
  test('a directory that cannot be moved (a volume mounted on it) stays whole, contents included', async () => {
    // The workspace holds a mount point (a volume): the overlay's lower layer shows the empty
    // directory under it, which the session replaces by a file. Removing the directory before
    // the rename emptied the volume, then failed on the mount point itself (EBUSY).
    const ws = scratch.smallDisk('4m')
    const volume = join(ws, 'd')
    mkdirSync(volume)
    expect(spawn('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', volume]).status).toBe(0)
    try {
      mkdirSync(join(volume, 'sub'))
      writeFileSync(join(volume, 'sub', 'keep.txt'), 'kept\n')
      writeFileSync(join(ws, 'a.txt'), 'hi\n')
      const s = await isolationOf(fx.d).create({ workspace: { path: ws, mode: 'overlay' } })
      try {
        const made = await s.run('rm -rf d && echo now a file > d && echo changed > a.txt && echo ok')
        expect(stdoutOf(made)).toEqual(['ok'])
        const res = await fx.d.fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
        expect(res.status).toBe(500)
        const body = await res.json()
        expect(body.code).toBe('RUNTIME_ERROR')
        expect(body.message).toContain(join(ws, 'd'))
        expect(body.message).not.toContain('.execd-commit-')
        // Nothing of the volume is lost, and no entry was left aside or staged.
        expect(readFileSync(join(volume, 'sub', 'keep.txt'), 'utf8')).toBe('kept\n')
        expect(readdirSync(ws).sort()).toEqual(['a.txt', 'd'])
      } finally {
        await s.delete()
      }
    } finally {
      spawn('umount', ['-l', volume])
    }
  })
})
