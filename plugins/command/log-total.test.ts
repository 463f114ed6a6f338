import { expect, test } from 'bun:test'
import { defaultLogTotal, filesystemOf, LOG_TOTAL_DEFAULT, memoryLimitOf } from './log-total'

const MiB = 1024 * 1024

// As this machine's /proc/self/mountinfo gives them (a hybrid v1/v2 host), with a tmpfs /tmp
// and a bind with a space in its path added.
const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:40 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,size=1048576k
51 50 254:0 /data /tmp/on\\040disk rw,relatime - ext4 /dev/vda rw
52 27 0:41 / /ram rw - ramfs ramfs rw
53 27 0:42 / /tmpx rw - ext4 /dev/vdb rw`

const V1_SELF = `4:memory:/process_api/d88e
0::/`
const V2_SELF = '0::/kubepods/pod1/ctr'

test('the filesystem a path is on: the deepest mount above it, the last on one point', () => {
  expect(filesystemOf('/tmp/execd', MOUNTINFO)).toBe('tmpfs')
  expect(filesystemOf('/tmp', MOUNTINFO)).toBe('tmpfs')
  expect(filesystemOf('/tmpx/a', MOUNTINFO)).toBe('ext4') // /tmp is no prefix of /tmpx
  expect(filesystemOf('/tmp/on disk/x', MOUNTINFO)).toBe('ext4')
  expect(filesystemOf('/home/u', MOUNTINFO)).toBe('ext4')
  expect(filesystemOf('/ram/t', MOUNTINFO)).toBe('ramfs')
  expect(filesystemOf('/tmp/x', `${MOUNTINFO}\n60 50 0:50 / /tmp rw - ext4 /dev/vdc rw`)).toBe('ext4')
  expect(filesystemOf('/x', '')).toBeUndefined()
})

test('the memory limit: the smallest over the own cgroup and its ancestors, v1 and v2, none when unlimited', () => {
  const v1 = {
    '/sys/fs/cgroup/memory/process_api/d88e/memory.limit_in_bytes': '419430400\n',
    '/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes': '9223372036854771712\n',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
  } as Record<string, string>
  expect(memoryLimitOf(V1_SELF, p => v1[p])).toBe(400 * MiB)
  const v2 = {
    '/sys/fs/cgroup/kubepods/pod1/ctr/memory.max': 'max\n',
    '/sys/fs/cgroup/kubepods/pod1/memory.max': `${256 * MiB}\n`,
    '/sys/fs/cgroup/kubepods/memory.max': `${8192 * MiB}\n`,
  } as Record<string, string>
  expect(memoryLimitOf(V2_SELF, p => v2[p])).toBe(256 * MiB)
  expect(memoryLimitOf(V2_SELF, () => 'max')).toBeUndefined()
  expect(memoryLimitOf(V2_SELF, () => undefined)).toBeUndefined()
})

test('the default: a quarter of the memory limit for logs in memory, 1 GiB otherwise, never more', () => {
  const limit = (bytes: number) => (p: string) => (p.endsWith('limit_in_bytes') ? String(bytes) : undefined)
  expect(defaultLogTotal('/tmp', MOUNTINFO, V1_SELF, limit(400 * MiB))).toEqual({
    bytes: 100 * MiB,
    because: { filesystem: 'tmpfs', memoryLimit: 400 * MiB },
  })
  expect(defaultLogTotal('/ram', MOUNTINFO, V1_SELF, limit(400 * MiB)).bytes).toBe(100 * MiB)
  // On a disk, or without a limit, or with one so large a quarter passes 1 GiB: 1 GiB.
  expect(defaultLogTotal('/home', MOUNTINFO, V1_SELF, limit(400 * MiB))).toEqual({ bytes: LOG_TOTAL_DEFAULT })
  expect(defaultLogTotal('/tmp', MOUNTINFO, V1_SELF, () => undefined)).toEqual({ bytes: LOG_TOTAL_DEFAULT })
  expect(defaultLogTotal('/tmp', MOUNTINFO, V1_SELF, limit(16384 * MiB))).toEqual({ bytes: LOG_TOTAL_DEFAULT })
  // Nothing readable (a masked /proc): the default as it was.
  expect(defaultLogTotal('/tmp', undefined, undefined, () => undefined)).toEqual({ bytes: LOG_TOTAL_DEFAULT })
})
