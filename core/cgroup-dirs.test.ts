import { describe, expect, test } from 'bun:test'
import { cgroupDirs, memoryLimitIn, unifiedCgroupPath } from './cgroup-dirs'

const dirsOf = (...args: Parameters<typeof cgroupDirs>) => cgroupDirs(...args).map(d => `v${d.version} ${d.dir}`)

describe('cgroup v2 (one unified line)', () => {
  const v2 = '0::/kubepods/pod1/ctr\n'
  test('every controller is in the unified dirs, own first, then the hybrid mount', () => {
    for (const controller of ['cpu', 'memory', 'pids'] as const) {
      expect(dirsOf(v2, controller)).toEqual([
        'v2 /sys/fs/cgroup/kubepods/pod1/ctr',
        'v2 /sys/fs/cgroup/unified/kubepods/pod1/ctr',
      ])
    }
    expect(unifiedCgroupPath(v2)).toBe('/kubepods/pod1/ctr')
  })

  test('with ancestors, each dir up to the mount, in a namespace root too; under a fixture root', () => {
    expect(dirsOf('0::/a/b\n', 'memory', { ancestors: true, root: '/fx/' })).toEqual([
      'v2 /fx/sys/fs/cgroup/a/b',
      'v2 /fx/sys/fs/cgroup/a',
      'v2 /fx/sys/fs/cgroup',
      'v2 /fx/sys/fs/cgroup/unified/a/b',
      'v2 /fx/sys/fs/cgroup/unified/a',
      'v2 /fx/sys/fs/cgroup/unified',
    ])
    expect(dirsOf('0::/\n', 'pids', { ancestors: true })).toEqual(['v2 /sys/fs/cgroup', 'v2 /sys/fs/cgroup/unified'])
  })
})

describe('cgroup v1 (a line per hierarchy)', () => {
  const v1 = '12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n3:pids:/docker/abc\n1:name=systemd:/docker/abc\n'
  test("each controller in its own hierarchy's mount; a co-mounted one also under the joined name", () => {
    expect(dirsOf(v1, 'memory')).toEqual(['v1 /sys/fs/cgroup/memory/docker/abc'])
    expect(dirsOf(v1, 'pids')).toEqual(['v1 /sys/fs/cgroup/pids/docker/abc'])
    expect(dirsOf(v1, 'cpu')).toEqual(['v1 /sys/fs/cgroup/cpu/docker/abc', 'v1 /sys/fs/cgroup/cpu,cpuacct/docker/abc'])
    expect(dirsOf(v1, 'cpuacct')).toEqual([
      'v1 /sys/fs/cgroup/cpuacct/docker/abc',
      'v1 /sys/fs/cgroup/cpu,cpuacct/docker/abc',
    ])
    expect(unifiedCgroupPath(v1)).toBeUndefined()
  })

  test('with ancestors, up to the mount', () => {
    expect(dirsOf('3:cpu,pids:/a/b\n', 'pids', { ancestors: true })).toEqual([
      'v1 /sys/fs/cgroup/pids/a/b',
      'v1 /sys/fs/cgroup/pids/a',
      'v1 /sys/fs/cgroup/pids',
      'v1 /sys/fs/cgroup/cpu,pids/a/b',
      'v1 /sys/fs/cgroup/cpu,pids/a',
      'v1 /sys/fs/cgroup/cpu,pids',
    ])
    expect(dirsOf('', 'pids')).toEqual([])
  })
})

test('hybrid (v1 controllers and the unified hierarchy at /unified): both, in the order of the file', () => {
  const hybrid = '9:name=systemd:/\n8:pids:/ci/job\n4:memory:/x\n0::/ci/job\n'
  expect(dirsOf(hybrid, 'pids')).toEqual([
    'v1 /sys/fs/cgroup/pids/ci/job',
    'v2 /sys/fs/cgroup/ci/job',
    'v2 /sys/fs/cgroup/unified/ci/job',
  ])
  expect(dirsOf(hybrid, 'memory')).toEqual([
    'v1 /sys/fs/cgroup/memory/x',
    'v2 /sys/fs/cgroup/ci/job',
    'v2 /sys/fs/cgroup/unified/ci/job',
  ])
  expect(unifiedCgroupPath(hybrid)).toBe('/ci/job')
})

test('lines not of the form N:controllers:/path are passed over; a path may hold colons', () => {
  expect(dirsOf('x:pids:/a\n8:pids:a\n8:pids\n:pids:/b\n8:pids:/c:d\n', 'pids')).toEqual(['v1 /sys/fs/cgroup/pids/c:d'])
})

test("a memory limit file's text: bytes, or none for max, v1's near-2^63 and junk", () => {
  expect(['419430400\n', 'max\n', '9223372036854771712', '', 'x1', undefined].map(memoryLimitIn)).toEqual([
    419430400,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ])
})
