import { describe, expect, test } from 'bun:test'
import { spawnOwned } from '../../core/process'
import { ProcScanner, foregroundGroup, groupsBySession } from './proc-stat'

describe('ProcScanner', () => {
  test('finds the groups of a session, and no longer once they are gone', async () => {
    const scanner = new ProcScanner()
    const proc = spawnOwned(['bash', '-c', 'sleep 30 & sleep 30'])
    const sid = new Set([proc.pid])
    let groups = new Map<number, Set<number>>()
    for (let i = 0; i < 200 && !(groups.get(proc.pid)?.size === 1); i++)
      groups = groupsBySession(await scanner.scan(), sid)
    expect([...groups.get(proc.pid)!]).toEqual([proc.pid])
    await proc.kill('close', 100)
    expect(groupsBySession(await scanner.scan(), sid).size).toBe(0)
  })

  test('callers during a read share the next read; it starts after the one under way', async () => {
    const scanner = new ProcScanner()
    const first = scanner.scan()
    const second = scanner.scan()
    const third = scanner.scan()
    expect(second).toBe(third)
    expect(second).not.toBe(first)
    const [a, b] = await Promise.all([first, second])
    expect(a.length).toBeGreaterThan(0)
    expect(b.length).toBeGreaterThan(0)
    expect(scanner.scan()).not.toBe(second)
  })

  test('a process without a terminal has no foreground group', () => {
    const proc = spawnOwned(['sleep', '5'])
    expect(foregroundGroup(proc.pid)).toBeNull()
    proc.signal('SIGKILL')
  })
})
