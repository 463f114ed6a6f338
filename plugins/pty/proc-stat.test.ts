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
    expect(groupsBySession(await scanner.scan(), sid).size).toBe(0)
  })

  test('a process without a terminal has no foreground group', () => {
    const proc = spawnOwned(['sleep', '5'])
    expect(foregroundGroup(proc.pid)).toBeNull()
    proc.signal('SIGKILL')
  })
})
