/**
 * A commit that execd's stop (SIGTERM) meets while it stages a big file: it stops, commits
 * nothing, and leaves no temp entry beside the user's files; the user's files are as they were.
 * Killed (SIGKILL) instead, what the commit staged is removed by the next execd at its start.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon, waitFor } from './harness'
import { isolationOf, stdoutOf } from './kit/isolated'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-isolated-commit-stop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What a commit stages beside the user's files. */
const staged = (ws: string) => readdirSync(ws).filter(n => n.startsWith('.execd-commit-'))

/** Spins (no sleep between looks) until a staged name shows in `ws`: the SIGKILL then lands as close to its making as a client can. */
function spinUntilStaged(ws: string, limitMs = 30_000): void {
  const deadline = Date.now() + limitMs
  while (staged(ws).length === 0) if (Date.now() > deadline) throw new Error('timed out waiting for a staged file')
}

/**
 * A workspace holding z.txt ('kept'), and its commit under way in `d`, staging big.bin (512 MiB):
 * it comes before z.txt in the commit, so a stop meets its copy with z.txt still to stage.
 */
async function commitStagingBigFile(d: Daemon): Promise<{ ws: string; committing: Promise<number | string> }> {
  const ws = mkdtempSync(join(dir, 'ws-'))
  writeFileSync(join(ws, 'z.txt'), 'kept\n')
  const s = await isolationOf(d).create({ workspace: { path: ws, mode: 'overlay' } })
  const made = await s.run('head -c 512M /dev/zero > big.bin && echo changed > z.txt && echo ok')
  expect(stdoutOf(made)).toEqual(['ok'])
  const committing = d
    .fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
    .then(r => r.status)
    .catch(() => 'no answer')
  await waitFor('the commit to stage big.bin', () => staged(ws).length === 1)
  return { ws, committing }
}

describe.skipIf(!Bun.which('bwrap') || process.getuid?.() !== 0)('execd stopped during a commit', () => {
  test('by SIGTERM while a big file is copied: no temp file is left, nothing is committed', async () => {
    const d = await startDaemon()
    try {
      const { ws, committing } = await commitStagingBigFile(d)
      expect(await d.stop()).toBe(0)
      // Answered as failed if the answer still went out before the sockets closed.
      expect([500, 'no answer']).toContain(await committing)
      expect(readdirSync(ws)).toEqual(['z.txt'])
      expect(readFileSync(join(ws, 'z.txt'), 'utf8')).toBe('kept\n')
    } finally {
      if (d.proc.exitCode === null && d.proc.signalCode === null) await d.stop()
    }
  }, 120_000)

  test('by SIGKILL while a big file is copied: the next execd removes the temp file at its start', async () => {
    const killed = await startDaemon()
    const { ws, committing } = await commitStagingBigFile(killed)
    killed.proc.kill('SIGKILL')
    await killed.proc.exited
    await committing
    expect(staged(ws)).toHaveLength(1)
    const next = await startDaemon()
    try {
      // The first files request waits for the section to open, which sweeps first.
      expect((await next.fetch(`/files/info?path=${encodeURIComponent(ws)}`)).status).toBe(200)
      expect(readdirSync(ws)).toEqual(['z.txt'])
      expect(readFileSync(join(ws, 'z.txt'), 'utf8')).toBe('kept\n')
      // The killed execd's session dir (its overlay) goes with the next session's start.
      const s = await isolationOf(next).create({ workspace: { path: ws, mode: 'overlay' } })
      await s.delete()
      const left = () => readdirSync(tmpdir()).filter(n => n.startsWith(`execd-isolated-${killed.proc.pid}-`))
      await waitFor("the killed execd's session dir to go", () => left().length === 0)
    } finally {
      await next.stop()
    }
  }, 120_000)

  test('by SIGKILL the moment its staged file shows, again and again: each next execd removes it', async () => {
    // Each round's next execd is the one killed in the round after: 4 rounds, 5 daemons. The
    // file made before its journal link was left for good in 3 rounds in 20 at load 16.
    let killed = await startDaemon()
    const workspaces: string[] = []
    try {
      for (let round = 0; round < 4; round++) {
        const ws = mkdtempSync(join(dir, 'spin-'))
        workspaces.push(ws)
        writeFileSync(join(ws, 'z.txt'), 'kept\n')
        const s = await isolationOf(killed).create({ workspace: { path: ws, mode: 'overlay' } })
        expect(stdoutOf(await s.run('head -c 64M /dev/zero > big.bin && echo ok'))).toEqual(['ok'])
        const committing = killed
          .fetch(`/v1/isolated/session/${s.sessionId}/commit`, { method: 'POST' })
          .catch(() => 'no answer')
        spinUntilStaged(ws)
        killed.proc.kill('SIGKILL')
        await killed.proc.exited
        await committing
        killed = await startDaemon()
        expect((await killed.fetch(`/files/info?path=${encodeURIComponent(ws)}`)).status).toBe(200)
      }
      expect(workspaces.map(ws => readdirSync(ws))).toEqual(workspaces.map(() => ['z.txt']))
    } finally {
      await killed.stop()
    }
  }, 120_000)
})
