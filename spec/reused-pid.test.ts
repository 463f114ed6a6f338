/**
 * A child of execd that has exited and been reaped gives its pid back to the kernel once nothing
 * else holds the number (its process group and session emptied); the next process may get it,
 * as the leader of a group and session of its own (every child of execd is one). What still
 * signalled by that number — an exited terminal's hang-up, a finished command's owner — reached
 * that process. The pid is handed on on purpose here: /proc/sys/kernel/ns_last_pid names the
 * next pid, which needs root in the pid namespace (skipped visibly otherwise).
 */
import { expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { postJson, waitFor } from './harness'
import { pidsUnder } from './kit/own-pids'
import { daemonAlone } from './kit/daemon-dir'
import { PtyClient } from './pty-client'

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid'
const canChoosePid = (() => {
  try {
    writeFileSync(NS_LAST_PID, readFileSync(NS_LAST_PID, 'latin1').trim())
    return true
  } catch {
    return false
  }
})()
if (!canChoosePid) console.warn(`skipped: ${NS_LAST_PID} is not writable (not root in this pid namespace)`)

const fx = daemonAlone()
/** This daemon's processes: the same file run elsewhere at once has jobs of these names too. */
const pidsWith = (marker: string): number[] => pidsUnder(marker, fx.d.proc.pid)

const statOf = (pid: number): string[] | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/**
 * A process of this test's own, leading its own session, with pid `pid`; undefined if another
 * process took it first every time. Tries for a while: CI's other shard spawns all along, and
 * took the number in each of 50 quick tries once (stop 56, CI7).
 */
async function takePid(pid: number): Promise<Bun.Subprocess | undefined> {
  for (let i = 0; i < 500; i++) {
    writeFileSync(NS_LAST_PID, String(pid - 1))
    const p = Bun.spawn(['sleep', '300.8125'], { detached: true, stdout: 'ignore', stderr: 'ignore' })
    if (p.pid === pid) return p
    p.kill('SIGKILL')
    await p.exited
  }
  return undefined
}

test.skipIf(!canChoosePid)(
  "the DELETE of an exited terminal leaves alone the next process given its shell's pid",
  async () => {
    const res = await postJson(fx.d, '/pty', {})
    expect(res.status).toBe(201)
    const id = (await res.json()).session_id
    const c = await PtyClient.connect(fx.d, id)
    c.stdin('echo shell-pid-$$; exit 0\n')
    await c.until('close', () => c.closed !== null)
    const shell = Number(/shell-pid-(\d+)/.exec(c.stdout)?.[1])
    expect(shell).toBeGreaterThan(1)
    await waitFor('the shell reaped', () => statOf(shell) === undefined)

    const stranger = await takePid(shell)
    expect(stranger).toBeDefined()
    try {
      // Its own session, its pid the old shell's: what /proc shows the hang-up.
      await waitFor('setsid', () => statOf(shell)?.[3] === String(shell))
      expect((await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })).status).toBe(200)
      // The hang-up's SIGHUP, SIGTERM and SIGKILL come within its 3 s bound, the DELETE's answer after.
      expect(stranger!.exitCode).toBeNull()
      expect(stranger!.signalCode).toBeNull()
      expect(['R', 'S']).toContain(statOf(shell)?.[0] ?? 'gone')
    } finally {
      stranger!.kill('SIGKILL')
      await stranger!.exited
    }
  },
)

test('what an exited shell left running still ends with its DELETE', async () => {
  const res = await postJson(fx.d, '/pty', {})
  const id = (await res.json()).session_id
  const c = await PtyClient.connect(fx.d, id)
  c.stdin('trap "" HUP; sleep 300.6875 & disown; exit 0\n')
  await c.until('close', () => c.closed !== null)
  await waitFor('the job', () => pidsWith('300.6875').length > 0)
  expect((await fx.d.fetch(`/pty/${id}`, { method: 'DELETE' })).status).toBe(200)
  expect(pidsWith('300.6875')).toEqual([])
})

test.skipIf(!canChoosePid)(
  "the DELETE of a command whose leader exited leaves alone the next process given the leader's pid",
  async () => {
    // The job leaves the group: nothing holds the leader's number once it is reaped.
    const res = await postJson(fx.d, '/command', { command: 'echo leader-$$; setsid sleep 300.9375 & exit 0' })
    const text = await res.text()
    const id = /"text":"([^"]+)"/.exec(text)?.[1]
    const leader = Number(/leader-(\d+)/.exec(text)?.[1])
    expect(leader).toBeGreaterThan(1)
    await waitFor('the leader reaped', () => statOf(leader) === undefined)
    await waitFor('the job', () => pidsWith('300.9375').length > 0)

    const stranger = await takePid(leader)
    expect(stranger).toBeDefined()
    try {
      await waitFor('setsid', () => statOf(leader)?.[3] === String(leader))
      // The command's owner still stands for the job: the interrupt ends it, and only it.
      expect((await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })).status).toBe(200)
      expect(pidsWith('300.9375')).toEqual([])
      expect(stranger!.exitCode).toBeNull()
      expect(stranger!.signalCode).toBeNull()
      expect(['R', 'S']).toContain(statOf(leader)?.[0] ?? 'gone')
    } finally {
      stranger!.kill('SIGKILL')
      await stranger!.exited
    }
  },
)
