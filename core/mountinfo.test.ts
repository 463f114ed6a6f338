import { expect, test } from 'bun:test'
import { mountsOf } from './mountinfo'

test('mount lines: optional fields skipped, escaped paths read back, malformed lines left out', () => {
  const text = [
    '36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    '30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw',
    'not a mount line',
    '',
  ].join('\n')
  expect(mountsOf(text)).toEqual([
    { root: '/mnt1', point: '/mnt/my disk', options: ['rw', 'noatime'], fstype: 'ext3' },
    { root: '/', point: '/sys/fs/cgroup', options: ['rw', 'nosuid'], fstype: 'cgroup2' },
  ])
})
