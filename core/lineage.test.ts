import { expect, test } from 'bun:test'
import { Lineage } from './lineage'
import type { ProcInfo } from './proc-scan'

const proc = (pid: number, ppid: number, start = pid * 10, state = 'S'): ProcInfo => ({
  pid,
  ppid,
  pgid: pid,
  sid: pid,
  state,
  start,
})

test('descendants of members are members, and stay so once their parent is gone', () => {
  const lineage = new Lineage()
  const table = [proc(100, 1), proc(200, 100), proc(300, 200), proc(400, 1)]
  expect(new Set(lineage.extend(new Set([100]), table))).toEqual(new Set([100, 200, 300]))
  // The leader and the middle one exited: the grandchild was re-parented elsewhere.
  const later = [proc(300, 1), proc(400, 1)]
  expect(lineage.extend(new Set(), later)).toEqual([300])
  expect(lineage.alive(later)).toBe(true)
})

test('a pid given to another process since is not a member, nor is a zombie', () => {
  const lineage = new Lineage()
  lineage.extend(new Set([100]), [proc(100, 1), proc(200, 100), proc(300, 100, 3000, 'Z')])
  const reused = [proc(200, 1, 99_999)]
  expect(lineage.extend(new Set(), reused)).toEqual([])
  expect(lineage.alive(reused)).toBe(false)
  expect(lineage.empty).toBe(true)
})
