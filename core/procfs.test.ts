import { expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  childrenOf,
  childrenOfAsync,
  firstChildOf,
  listPids,
  readKept,
  readKeptIfThere,
  readStat,
  ticksSinceBoot,
} from './procfs'

test('this process is listed and read with its parent; a pid that is not there reads as undefined', () => {
  expect(listPids()).toContain(process.pid)
  expect(readStat(process.pid)).toMatchObject({ state: expect.any(String), ppid: process.ppid })
  expect(readStat(2 ** 22 + 1)).toBeUndefined()
})

test("a process's children are read from its threads' lists, at once or without blocking", async () => {
  const sleeps = [Bun.spawn(['sleep', '30']), Bun.spawn(['sleep', '30'])]
  try {
    const pids = sleeps.map(s => s.pid)
    // Bun spawns from more than one thread: only the list of every thread has both.
    expect(childrenOf(process.pid)).toEqual(expect.arrayContaining(pids))
    expect(await childrenOfAsync(process.pid)).toEqual(expect.arrayContaining(pids))
    // A sleep has one thread and no child: its own list, empty.
    expect(await childrenOfAsync(pids[0]!, true)).toEqual([])
    expect(childrenOf(pids[0]!)).toEqual([])
    expect(firstChildOf(pids[0]!)).toBeUndefined()
  } finally {
    for (const s of sleeps) s.kill('SIGKILL')
    await Promise.all(sleeps.map(s => s.exited))
  }
  expect(childrenOf(2 ** 22 + 1)).toBeUndefined()
  expect(await childrenOfAsync(2 ** 22 + 1)).toBeUndefined()
  expect(await childrenOfAsync(2 ** 22 + 1, true)).toBeUndefined()
})

test('the time since boot is read again each call, opens no descriptor per call, in the clock of a start time', async () => {
  const before = ticksSinceBoot()
  const child = Bun.spawn(['sleep', '30'], { stdio: ['ignore', 'ignore', 'ignore'] })
  try {
    const started = readStat(child.pid)!.start!
    expect(started).toBeGreaterThanOrEqual(before)
    // Read again, not kept: 50 ms is 5 ticks of 10 ms, so the count moved by at least one (a
    // bound of 3 for 30 ms failed once at load 15: /proc/uptime's steps and Bun's timer need not align).
    await Bun.sleep(50)
    const after = ticksSinceBoot()
    expect(after).toBeGreaterThanOrEqual(started)
    expect(after - before).toBeGreaterThanOrEqual(1)
  } finally {
    child.kill('SIGKILL')
    await child.exited
  }
  const fds = readdirSync('/proc/self/fd').length
  for (let i = 0; i < 50; i++) ticksSinceBoot()
  expect(readdirSync('/proc/self/fd').length).toBe(fds)
})

test("a kept file is read as it is now, with no descriptor per read; a process's file that went reads as undefined, its descriptor closed", async () => {
  const child = Bun.spawn(['sleep', '30'], { stdio: ['ignore', 'ignore', 'ignore'] })
  const path = `/proc/${child.pid}/status`
  const state = () => /^State:\s+(\S)/m.exec(readKept(path) ?? '')?.[1]
  const until = async (want: string) => {
    for (let i = 0; i < 200 && state() !== want; i++) await Bun.sleep(10)
    return state()
  }
  /** This process's descriptors open on `path`. */
  const open = () =>
    readdirSync('/proc/self/fd').filter(fd => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path
      } catch {
        return false
      }
    }).length
  // Asleep once it has started (a moment running first).
  expect(await until('S')).toBe('S')
  for (let i = 0; i < 50; i++) readKept(path)
  expect(open()).toBe(1)
  // Stopped: the kept descriptor reads the change (pread at 0 makes the file anew).
  child.kill('SIGSTOP')
  expect(await until('T')).toBe('T')
  child.kill('SIGKILL')
  await child.exited
  // Reaped: the kept descriptor fails (ESRCH), is closed, and the path is gone.
  expect(readKept(path)).toBeUndefined()
  expect(open()).toBe(0)
  expect(readKept('/nonexistent/memory.events')).toBeUndefined()
})

test('a file missing at its first look is not looked for again; one that was there is read as it is now', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procfs-'))
  try {
    const later = join(dir, 'memory.events')
    expect(readKeptIfThere(later)).toBeUndefined()
    // A candidate this host lacks at the first reading is taken for one it will not have.
    writeFileSync(later, 'oom_kill 1\n')
    expect(readKeptIfThere(later)).toBeUndefined()
    const there = join(dir, 'memory.oom_control')
    writeFileSync(there, 'oom_kill 0\n')
    expect(readKeptIfThere(there)).toBe('oom_kill 0\n')
    writeFileSync(there, 'oom_kill 2\n')
    expect(readKeptIfThere(there)).toBe('oom_kill 2\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
