/**
 * An error execd did not catch, in the compiled executable. Raised from inside its process by a
 * file Bun itself preloads (spec/kit/uncaught-preload.js, through Bun's BUN_OPTIONS): execd has
 * no switch for it. Left to Bun, any of them ended execd with status 1 and the bundle's source
 * on stderr; its session and command temp files stayed, and as an entrypoint its main process
 * ran on without it.
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, postJson, readSse, startDaemon, waitFor } from './harness'

const PRELOAD = join(import.meta.dir, 'kit', 'uncaught-preload.js')

async function daemonRaising(raise: string, main: string[] = [], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'execd-uncaught-'))
  const temp = join(dir, 'tmp')
  Bun.spawnSync(['mkdir', '-m', '0755', temp])
  const cue = join(dir, 'cue')
  const d = await startDaemon({
    args: main.length ? ['--', ...main] : [],
    // The token would follow the main process's words: none, as the daemon listens on loopback.
    ...(main.length && { token: null }),
    env: { BUN_OPTIONS: `--preload ${PRELOAD}`, EXECD_TEST_CUE: cue, EXECD_TEST_RAISE: raise, TMPDIR: temp, ...env },
  })
  return { d, temp, raise: () => writeFileSync(cue, ''), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const logLines = (logs: string) =>
  logs
    .split('\n')
    .filter(Boolean)
    .map(line => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        return { unparsed: line }
      }
    })

test('a FileHandle closed by the collector is logged and survived', async () => {
  const { d, raise, cleanup } = await daemonRaising('handle')
  try {
    raise()
    await waitFor(
      'the collector to close the handles',
      () => d.logs().includes('left to the collector') || d.proc.exitCode !== null,
    )
    expect(d.proc.exitCode).toBeNull()
    const res = await postJson(d, '/command', { command: 'echo still serving' })
    expect((await readSse(res)).some(f => f.data.text === 'still serving')).toBe(true)
    expect(d.proc.exitCode).toBeNull()
    const lines = logLines(d.logs()).filter(l => String(l.msg).includes('collector'))
    expect(lines[0]).toMatchObject({ level: 'warn', kind: 'exception' })
    expect(d.logs()).not.toContain('Bun v')
    expect(await d.stop()).toBe(0)
  } finally {
    if (d.proc.exitCode === null) await d.stop()
    cleanup()
  }
})

for (const raise of ['exception', 'rejection']) {
  test(`an uncaught ${raise} ends execd in order: one line, children ended, temp files gone, status 70`, async () => {
    const marker = `uncaught-${crypto.randomUUID().slice(0, 8)}`
    const { d, temp, raise: now, cleanup } = await daemonRaising(raise)
    try {
      await readSse(await postJson(d, '/command', { command: `exec -a ${marker} sleep 300`, background: true }))
      expect((await postJson(d, '/session', {})).status).toBe(200)
      expect(pidsWith(marker).length).toBe(1)
      expect(readdirSync(temp).filter(n => n.startsWith('execd-sessions-')).length).toBe(1)
      now()
      expect(await d.proc.exited).toBe(70)
      const fatal = logLines(d.logs()).filter(l => l.level === 'error')
      expect(fatal).toEqual([
        expect.objectContaining({
          msg: 'uncaught error: ending execd and everything it started',
          kind: raise,
          message: 'raised by the test',
        }),
      ])
      expect(logLines(d.logs()).some(l => l.msg === 'shutting down' && l.reason === 'uncaught error')).toBe(true)
      expect(d.logs()).not.toContain('Bun v')
      expect(pidsWith(marker)).toEqual([])
      // What is left is the per-user dir every execd keeps (core/temp-dir.ts), nothing of this one's.
      expect(readdirSync(temp).filter(n => !/^execd-\d+$/.test(n))).toEqual([])
    } finally {
      if (d.proc.exitCode === null) await d.stop()
      pidsWith(marker).forEach(pid => process.kill(pid, 'SIGKILL'))
      cleanup()
    }
  })
}

test('as an entrypoint, an uncaught exception ends the main process too', async () => {
  const marker = `uncaught-main-${crypto.randomUUID().slice(0, 8)}`
  // The marker comes through the environment: in execd's own words, pidsWith would find execd too.
  const { d, raise, cleanup } = await daemonRaising('exception', ['bash', '-c', 'exec -a "$MARKER" sleep 300'], {
    MARKER: marker,
  })
  try {
    await waitFor('the main process', () => pidsWith(marker).length === 1)
    raise()
    expect(await d.proc.exited).toBe(70)
    expect(pidsWith(marker)).toEqual([])
    expect(d.logs()).not.toContain('Bun v')
  } finally {
    if (d.proc.exitCode === null) await d.stop()
    pidsWith(marker).forEach(pid => process.kill(pid, 'SIGKILL'))
    cleanup()
  }
})
