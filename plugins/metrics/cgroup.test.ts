import { describe, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { testRoots } from '../../spec/kit/test-roots'
import { cpuPercent, takeReading } from './cgroup'

const freshRoot = testRoots('execd-cg')

/** A fixture tree laid out like procfs + cgroupfs under a fake root. */
function tree(files: Record<string, string>): string {
  const root = freshRoot()
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

const MEMINFO = [
  'MemTotal:       16384000 kB',
  'MemFree:         8192000 kB',
  'MemAvailable:   12000000 kB',
  'Buffers:          100000 kB',
  'Cached:          1000000 kB',
  'SReclaimable:     100000 kB',
].join('\n')
const STAT = 'cpu  1000 0 500 8000 500 0 0 0 0 0\ncpu0 500 0 250 4000 250 0 0 0 0 0\n'
const GIB = 1024 ** 3

describe('cgroup v2', () => {
  test('a CPU quota and memory limit become cpu_count and mem_total', () => {
    const root = tree({
      'proc/self/cgroup': '0::/\n',
      'proc/meminfo': MEMINFO,
      'proc/stat': STAT,
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory pids\n',
      'sys/fs/cgroup/cpu.max': '150000 100000\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n',
      'sys/fs/cgroup/memory.max': `${2 * GIB}\n`,
      'sys/fs/cgroup/memory.current': `${600 * 1024 * 1024}\n`,
      'sys/fs/cgroup/memory.stat': `anon 400000000\ninactive_file ${100 * 1024 * 1024}\n`,
    })
    const r = takeReading(root, 8)
    expect(r.cpuCount).toBe(1.5)
    expect(r.cpuUsageUs).toBe(5_000_000)
    expect(r.memTotalBytes).toBe(2 * GIB)
    expect(r.memUsedBytes).toBe(500 * 1024 * 1024)
  })

  test('no limits fall back to the host figures', () => {
    const root = tree({
      'proc/self/cgroup': '0::/\n',
      'proc/meminfo': MEMINFO,
      'proc/stat': STAT,
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 5000000\n',
      'sys/fs/cgroup/memory.max': 'max\n',
      'sys/fs/cgroup/memory.current': '1000\n',
    })
    const r = takeReading(root, 8)
    expect(r.cpuCount).toBe(8)
    expect(r.memTotalBytes).toBe(16384000 * 1024)
    // used = total − free − buffers − cached − sreclaimable
    expect(r.memUsedBytes).toBe((16384000 - 8192000 - 100000 - 1000000 - 100000) * 1024)
    expect(r.cpuTotalUs).toBeDefined()
  })

  test("the process's own nested cgroup is read when it is visible", () => {
    const root = tree({
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      'proc/meminfo': MEMINFO,
      'proc/stat': STAT,
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '50000 100000\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.stat': 'usage_usec 42\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/memory.max': `${GIB}\n`,
      'sys/fs/cgroup/kubepods/pod1/ctr/memory.current': `${GIB / 4}\n`,
    })
    const r = takeReading(root, 8)
    expect(r.cpuCount).toBe(0.5)
    expect(r.memTotalBytes).toBe(GIB)
    expect(r.memUsedBytes).toBe(GIB / 4)
  })
})

describe('cgroup v1', () => {
  const v1 = (limits: { quota: string; mem: string }) =>
    tree({
      'proc/self/cgroup': '12:memory:/\n11:cpu,cpuacct:/\n3:pids:/\n',
      'proc/meminfo': MEMINFO,
      'proc/stat': STAT,
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': `${limits.quota}\n`,
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpuacct/cpuacct.usage': '3000000000\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': `${limits.mem}\n`,
      'sys/fs/cgroup/memory/memory.usage_in_bytes': `${800 * 1024 * 1024}\n`,
      'sys/fs/cgroup/memory/memory.stat': `cache 1\ntotal_inactive_file ${300 * 1024 * 1024}\n`,
    })

  test('a CFS quota and memory limit become cpu_count and mem_total', () => {
    const r = takeReading(v1({ quota: '200000', mem: String(4 * GIB) }), 8)
    expect(r.cpuCount).toBe(2)
    expect(r.cpuUsageUs).toBe(3_000_000)
    expect(r.memTotalBytes).toBe(4 * GIB)
    expect(r.memUsedBytes).toBe(500 * 1024 * 1024)
  })

  test('quota -1 and the huge "unlimited" memory value mean no limit', () => {
    const r = takeReading(v1({ quota: '-1', mem: '9223372036854771712' }), 8)
    expect(r.cpuCount).toBe(8)
    expect(r.memTotalBytes).toBe(16384000 * 1024)
  })
})

describe('hybrid host (v1 controllers, the unified hierarchy without them at /unified)', () => {
  test("the v1 hierarchies' limits count, in the job's own cgroup", () => {
    const root = tree({
      'proc/self/cgroup': '12:memory:/ci/job\n11:cpu,cpuacct:/ci/job\n1:name=systemd:/ci/job\n0::/ci/job\n',
      'proc/meminfo': MEMINFO,
      'proc/stat': STAT,
      'sys/fs/cgroup/unified/ci/job/cgroup.procs': '1\n',
      'sys/fs/cgroup/cpu,cpuacct/ci/job/cpu.cfs_quota_us': '50000\n',
      'sys/fs/cgroup/cpu,cpuacct/ci/job/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/ci/job/cpuacct.usage': '2000000000\n',
      'sys/fs/cgroup/memory/ci/job/memory.limit_in_bytes': `${GIB}\n`,
      'sys/fs/cgroup/memory/ci/job/memory.usage_in_bytes': `${200 * 1024 * 1024}\n`,
      'sys/fs/cgroup/memory/ci/job/memory.stat': 'total_inactive_file 0\n',
    })
    const r = takeReading(root, 8)
    expect(r.cpuCount).toBe(0.5)
    expect(r.cpuUsageUs).toBe(2_000_000)
    expect(r.memTotalBytes).toBe(GIB)
    expect(r.memUsedBytes).toBe(200 * 1024 * 1024)
  })
})

describe('cpuPercent', () => {
  test('cgroup usage is relative to the quota', () => {
    const prev = { cpuCount: 2, cpuUsageUs: 0, memTotalBytes: 0, memUsedBytes: 0, at: 0, mono: 0 }
    // 1 CPU-second used in 1 wall-second on a 2-CPU quota = 50%
    expect(cpuPercent(prev, { ...prev, cpuUsageUs: 1_000_000, at: 1000, mono: 1000 })).toBe(50)
  })

  test('host usage is busy over total jiffies, clamped to 0..100', () => {
    const prev = { cpuCount: 4, cpuUsageUs: 100, cpuTotalUs: 1000, memTotalBytes: 0, memUsedBytes: 0, at: 0, mono: 0 }
    expect(cpuPercent(prev, { ...prev, cpuUsageUs: 350, cpuTotalUs: 2000, at: 1000, mono: 1000 })).toBe(25)
    expect(cpuPercent(prev, { ...prev, at: 1000, mono: 1000 })).toBe(0)
  })
})

test('the real machine gives sane numbers', () => {
  const r = takeReading()
  expect(r.cpuCount).toBeGreaterThan(0)
  expect(r.memTotalBytes).toBeGreaterThan(r.memUsedBytes)
  expect(r.memUsedBytes).toBeGreaterThan(0)
})

describe('a /proc that says nothing', () => {
  test('an empty /proc/meminfo without a cgroup memory limit is an error, not 0 MiB of 0 MiB', () => {
    const root = tree({ 'proc/self/cgroup': '0::/\n', 'proc/meminfo': '', 'proc/stat': STAT })
    expect(() => takeReading(root, 2)).toThrow('gives no MemTotal')
  })

  test('a /proc/stat without its cpu line is an error, not 0 % for ever', () => {
    const root = tree({ 'proc/self/cgroup': '0::/\n', 'proc/meminfo': MEMINFO, 'proc/stat': '' })
    expect(() => takeReading(root, 2)).toThrow('has no cpu line')
  })

  test('a cgroup memory limit is still read when /proc/meminfo is empty', () => {
    const root = tree({
      'proc/self/cgroup': '0::/\n',
      'proc/meminfo': '',
      'proc/stat': STAT,
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/memory.max': `${2 * GIB}\n`,
      'sys/fs/cgroup/memory.current': `${GIB}\n`,
      'sys/fs/cgroup/memory.stat': 'inactive_file 0\n',
    })
    expect(takeReading(root, 2).memTotalBytes).toBe(2 * GIB)
  })
})
