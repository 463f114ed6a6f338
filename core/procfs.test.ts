import { expect, test } from 'bun:test'
import { childrenOf, childrenOfAsync, firstChildOf, listPids, readStat } from './procfs'

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
