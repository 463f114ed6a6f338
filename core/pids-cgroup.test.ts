import { expect, test } from 'bun:test'
import { pidsCgroupDirs } from './pids-cgroup'

const hybrid = '9:name=systemd:/\n8:pids:/ci/job\n4:memory:/x\n0::/ci/job\n'

test("execd's own pids cgroup dirs, v1's pids hierarchy and v2's unified mounts", () => {
  expect(pidsCgroupDirs(hybrid)).toEqual([
    '/sys/fs/cgroup/pids/ci/job',
    '/sys/fs/cgroup/ci/job',
    '/sys/fs/cgroup/unified/ci/job',
  ])
})

test('with ancestors, each dir up to the mount, in a namespace root too', () => {
  expect(pidsCgroupDirs('3:cpu,pids:/a/b\n', true)).toEqual([
    '/sys/fs/cgroup/pids/a/b',
    '/sys/fs/cgroup/pids/a',
    '/sys/fs/cgroup/pids',
  ])
  expect(pidsCgroupDirs('0::/\n', true)).toEqual(['/sys/fs/cgroup', '/sys/fs/cgroup/unified'])
  expect(pidsCgroupDirs('')).toEqual([])
})

test('lines not of the form N:controllers:/path are passed over; a path may hold colons', () => {
  expect(pidsCgroupDirs('x:pids:/a\n8:pids:a\n8:pids\n:pids:/b\n8:pids:/c:d\n')).toEqual(['/sys/fs/cgroup/pids/c:d'])
})
