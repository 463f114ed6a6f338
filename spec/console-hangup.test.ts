/**
 * execd's console going away under it: `execd serve &` from a terminal that is then closed. Its
 * stderr (or stdout, `--log-file stdout`) is a hung-up terminal, where every write fails with
 * EIO. A log line written there was an unhandled rejection that ended execd with status 1, no
 * shutdown, its commands and sessions left running without their owner.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pidsWith, readSse, startDaemon, waitFor, type Daemon } from './harness'
import { PYTHON } from './python-env'

const HELPER = join(import.meta.dir, 'kit', 'hung-up-terminal.py')

const ping = async (d: Daemon) => (await d.fetch('/ping').catch(() => undefined))?.status ?? 'no answer'

for (const logTo of ['stderr', 'stdout']) {
  test(`with its ${logTo} a hung-up terminal, execd logs nothing there and serves on`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execd-hangup-'))
    const cue = join(dir, 'hang-up')
    const marker = `hangup-${crypto.randomUUID().slice(0, 8)}`
    const d = await startDaemon({
      under: [PYTHON, HELPER, cue],
      args: ['--log-level', 'debug', ...(logTo === 'stdout' ? ['--log-file', 'stdout'] : [])],
    })
    try {
      const started = await d.fetch('/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: `exec -a ${marker} sleep 300`, background: true }),
      })
      await readSse(started)
      writeFileSync(cue, '')
      await waitFor('the terminal to hang up', () => existsSync(`${cue}.done`))
      // Each is a log line of its own (a warning for an ignored signal; a command's start and end).
      for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGALRM'] as const) {
        d.proc.kill(signal)
        await Bun.sleep(100)
        expect({ signal, ping: await ping(d) }).toEqual({ signal, ping: 200 })
      }
      const res = await d.fetch('/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'echo still here' }),
      })
      const frames = await readSse(res)
      expect(frames.some(f => f.data.text === 'still here')).toBe(true)
      expect(await ping(d)).toBe(200)
      expect(d.proc.exitCode).toBeNull()
      expect(pidsWith(marker).length).toBe(1)
      // And it still stops as asked: the background command with it.
      expect(await d.stop()).toBe(0)
      await waitFor('the background command to be ended', () => pidsWith(marker).length === 0)
    } finally {
      if (d.proc.exitCode === null) await d.stop()
      pidsWith(marker).forEach(pid => process.kill(pid, 'SIGKILL'))
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
