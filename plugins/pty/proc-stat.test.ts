import { describe, expect, test } from 'bun:test'
import { spawnOwned } from '../../core/process'
import { ProcScanner } from '../../core/proc-scan'
import { foregroundGroup, groupsBySession } from './proc-stat'

describe('terminal sessions in /proc', () => {
  test('finds the groups of a session, and no longer once they are gone', async () => {
    const scanner = new ProcScanner()
    const proc = spawnOwned(['bash', '-c', 'sleep 30 & sleep 30'])
    const sid = new Set([proc.pid])
    let groups = new Map<number, Set<number>>()
    for (let i = 0; i < 200 && !(groups.get(proc.pid)?.size === 1); i++)
      groups = groupsBySession(await scanner.scan(), sid)
    expect([...groups.get(proc.pid)!]).toEqual([proc.pid])
    await proc.kill('close', 100)
    // Where the kill was judged by the cgroup's `populated`, a member leaves the cgroup in its
    // exit a moment before /proc shows it a zombie: a few scans allow that moment, no more.
    let left = groupsBySession(await scanner.scan(), sid)
    for (let i = 0; i < 20 && left.size > 0; i++) {
      await Bun.sleep(10)
      left = groupsBySession(await scanner.scan(), sid)
    }
    expect(left.size).toBe(0)
  })

  test('a process without a terminal has no foreground group', () => {
    const proc = spawnOwned(['sleep', '5'])
    expect(foregroundGroup(proc.pid)).toBeNull()
    proc.signal('SIGKILL')
  })
})
