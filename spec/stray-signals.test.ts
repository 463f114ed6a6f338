/**
 * Signals to execd itself whose default action ends a process. Left to it, each killed execd on
 * the spot and left every command, session and interpreter group running without an owner.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { readSse, startDaemon, type Daemon } from './harness'

/** A background `sleep` in its own group; its pid. */
async function sleeper(d: Daemon): Promise<number> {
  const res = await d.fetch('/command', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'sleep 300 & echo $!; wait', background: true }),
  })
  const id = (await readSse(res))[0]?.data.text
  for (let i = 0; i < 200; i++) {
    const log = await (await d.fetch(`/command/${id}/logs`)).text()
    if (/^\d+\n/.test(log)) return Number(log)
    await Bun.sleep(25)
  }
  throw new Error('the sleeper did not say its pid')
}

/** Running (not gone, not a zombie waiting for its reaper). */
const running = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}

test('SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM and SIGPROF are ignored: execd serves on, its commands run on', async () => {
  const d = await startDaemon()
  const pid = await sleeper(d)
  try {
    for (const signal of ['SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF'] as const) {
      d.proc.kill(signal)
      await Bun.sleep(100)
      expect({ signal, ping: (await d.fetch('/ping')).status }).toEqual({ signal, ping: 200 })
    }
    expect(running(pid)).toBe(true)
    expect(d.logs()).toContain('"signal ignored","signal":"SIGPROF"')
  } finally {
    await d.stop()
    if (running(pid)) process.kill(pid, 'SIGKILL')
  }
})

for (const signal of ['SIGQUIT', 'SIGXCPU'] as const)
  test(`${signal} stops execd as SIGTERM does: exit 0, its commands' groups gone`, async () => {
    const d = await startDaemon()
    const pid = await sleeper(d)
    try {
      d.proc.kill(signal)
      expect(await d.proc.exited).toBe(0)
      expect(running(pid)).toBe(false)
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL')
    }
  })
