/**
 * execd's temp disk (TMPDIR) out of inodes with megabytes free (a tmpfs with `nr_inodes`, root
 * only: skipped visibly otherwise). What cannot make its private dir says the disk has no inode
 * left, leaves nothing behind, and works once files are removed.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, startDaemon } from './harness'
import { refused } from './kit/refused'
import { scratchWithDisks } from './kit/small-disk'

const scratch = scratchWithDisks('temp-disk-inodes')
const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn('skipped: a temp disk out of inodes (mounting a tmpfs needs root)')

/** Takes every inode left with empty files; returns a function that removes them. */
function exhaust(dir: string): () => void {
  const made: string[] = []
  for (;;) {
    const file = join(dir, `filler-${made.length}`)
    try {
      writeFileSync(file, '')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      return () => made.forEach(f => rmSync(f))
    }
    made.push(file)
  }
}

describe.skipIf(!isRoot)('a temp disk out of inodes', () => {
  // Fails on the build before: "ENOSPC: no space left on device, mkdtemp '<TMPDIR>/.execd-sessions-…'",
  // a private name, and nothing about inodes on a disk with 8 MiB free.
  test('a session start is a 500 saying no inode is free, leaves no dir, and starts once files are removed', async () => {
    const disk = scratch.smallDisk('8m', 32)
    const d = await startDaemon({ env: { TMPDIR: disk } })
    try {
      const free = exhaust(disk)
      const res = await refused(await postJson(d, '/session', {}))
      expect(res).toMatchObject({ status: 500, code: 'RUNTIME_ERROR' })
      expect(res.message).toBe(
        `execd could not make a private dir in its temp dir: no space left on the temp disk (${disk}, no inode ` +
          "free: too many files); free space there, or give execd's TMPDIR a larger disk",
      )
      expect(readdirSync(disk).filter(n => n.includes('execd-sessions'))).toEqual([])
      // A command's log needs the same: the command runs, its log says why it is empty.
      const frames = await readSse(await postJson(d, '/command', { command: 'echo hi' }))
      expect(frames.find(f => f.data.type === 'status')?.data.reason).toContain('no inode free: too many files')
      expect(frames.find(f => f.data.type === 'stdout')?.data.text).toBe('hi')
      free()
      const started = await postJson(d, '/session', {})
      expect(started.status).toBe(200)
      const id = (await started.json()).session_id as string
      const run = await readSse(await postJson(d, `/session/${id}/run`, { command: 'echo ok' }))
      expect(run.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['ok'])
    } finally {
      await d.stop()
    }
  }, 60_000)
})
