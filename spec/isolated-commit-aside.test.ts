/**
 * A commit that replaces a directory by a file (rename(2) cannot put one over the other) and
 * execd killed (SIGKILL) while the old directory is being removed, through the compiled
 * executable. The old directory was renamed aside to a name of execd's, the new file put in its
 * place, the aside removed: killed in that last step, what was left of the user's old tree stayed
 * beside the new file for good. Now the next execd's start removes it; the new file stays.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon } from './harness'
import { isolationOf, stdoutOf } from './kit/isolated'

/** Enough files that removing them takes far longer than the poll below. */
const DIRS = 40
const FILES_PER_DIR = 1000

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-isolated-commit-aside-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const isFile = (path: string) => {
  try {
    return lstatSync(path).isFile()
  } catch {
    return false
  }
}

describe.skipIf(!Bun.which('bwrap') || process.getuid?.() !== 0)('a directory replaced by a file in a commit', () => {
  test('killed while the old directory is removed: the next execd removes what is left of it', async () => {
    const ws = mkdtempSync(join(dir, 'ws-'))
    const tree = join(ws, 'tree')
    for (let i = 0; i < DIRS; i++) {
      mkdirSync(join(tree, `d${i}`), { recursive: true })
      for (let j = 0; j < FILES_PER_DIR; j++) writeFileSync(join(tree, `d${i}`, `f${j}`), '')
    }
    const killed = await startDaemon()
    const s = await isolationOf(killed).create({ workspace: { path: ws, mode: 'overlay' } })
    expect(stdoutOf(await s.run('rm -rf tree && echo new > tree && echo ok'))).toEqual(['ok'])
    const committing = killed
      .fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
      .then(r => r.status)
      .catch(() => 'no answer')
    // The new file is in place: the old tree is being removed.
    const deadline = Date.now() + 60_000
    while (!isFile(tree) && Date.now() < deadline) await Bun.sleep(1)
    killed.proc.kill('SIGKILL')
    await killed.proc.exited
    expect(await committing).toBe('no answer')
    // Killed in the window: the old tree, part removed, is still beside the new file.
    expect(readdirSync(ws).filter(n => n.startsWith('.execd-commit-'))).toHaveLength(1)
    const next = await startDaemon()
    try {
      // The first files request waits for the section to open, which sweeps first.
      expect((await next.fetch(`/files/info?path=${encodeURIComponent(ws)}`)).status).toBe(200)
      expect(readdirSync(ws)).toEqual(['tree'])
      expect(readFileSync(tree, 'utf8')).toBe('new\n')
    } finally {
      await next.stop()
    }
  }, 120_000)
})
