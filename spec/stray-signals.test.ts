/**
 * Signals to execd itself whose default action ends a process. Left to it, each killed execd on
 * the spot and left every command, session and interpreter group running without an owner.
 */
import { expect, test } from 'bun:test'
import { pidsWith, readSse, startDaemon, waitFor, type Daemon } from './harness'
import { logLine } from './kit/log-line'

/** A background `sleep` in its own group, named `marker`; resolves once it runs. */
async function sleeper(d: Daemon, marker: string): Promise<void> {
  const res = await d.fetch('/command', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: `exec -a ${marker} sleep 300`, background: true }),
  })
  await readSse(res)
  await waitFor('the sleeper', () => pidsWith(marker).length === 1)
}

const killAll = (marker: string) => pidsWith(marker).forEach(pid => process.kill(pid, 'SIGKILL'))

test('SIGUSR1, SIGALRM, SIGVTALRM and SIGPROF are ignored, SIGUSR2 reports the held slots: execd serves on, its commands run on', async () => {
  const d = await startDaemon()
  const marker = `stray-${crypto.randomUUID().slice(0, 8)}`
  try {
    await sleeper(d, marker)
    for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF'] as const) {
      d.proc.kill(signal)
      await Bun.sleep(100)
      expect({ signal, ping: (await d.fetch('/ping')).status }).toEqual({ signal, ping: 200 })
    }
    expect(pidsWith(marker).length).toBe(1)
    await logLine(d, ['"signal ignored","signal":"SIGPROF"'])
    // SIGUSR2 wrote who holds the pools instead (spec/held-slots.test.ts has what it says).
    await logLine(d, ['"msg":"slots held"'])
  } finally {
    await d.stop()
    killAll(marker)
  }
})

test('a storm of ignored signals is one log line a second, which counts what it left out', async () => {
  const d = await startDaemon()
  try {
    const lines = () =>
      d
        .logs()
        .split('\n')
        .filter(l => l.includes('"signal ignored","signal":"SIGUSR1"'))
    // Paced, so that they arrive one by one (a signal sent while one is pending merges with it).
    const end = Date.now() + 2500
    while (Date.now() < end) {
      d.proc.kill('SIGUSR1')
      await Bun.sleep(1)
    }
    await waitFor('the storm to be told, with what was left out', () => lines().some(l => l.includes('"skipped"')))
    // One a second (three, at most four, in 2.5 s); 20,000 of them wrote 1,461 lines before.
    expect(lines().length).toBeLessThanOrEqual(5)
    expect((await d.fetch('/ping')).status).toBe(200)
  } finally {
    await d.stop()
  }
})

for (const signal of ['SIGQUIT', 'SIGXCPU'] as const)
  test(`${signal} stops execd as SIGTERM does: exit 0, its commands' groups gone`, async () => {
    const d = await startDaemon()
    const marker = `stray-${crypto.randomUUID().slice(0, 8)}`
    try {
      await sleeper(d, marker)
      d.proc.kill(signal)
      expect(await d.proc.exited).toBe(0)
      expect(pidsWith(marker)).toEqual([])
    } finally {
      killAll(marker)
    }
  })
