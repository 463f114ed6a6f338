import { expect, test } from 'bun:test'
import { scanProcs } from './proc-scan'

test('one pass finds this process with its parent, group and a marker from its environment', async () => {
  const child = Bun.spawn(['sleep', '5'], {
    env: { ...process.env, EXECD_SCAN_TEST: 'marked' },
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  try {
    const procs = await scanProcs('EXECD_SCAN_TEST')
    const me = procs.find(p => p.pid === process.pid)
    expect(me).toMatchObject({ ppid: process.ppid })
    expect(procs.find(p => p.pid === child.pid)).toMatchObject({ ppid: process.pid, marker: 'marked' })
  } finally {
    child.kill()
  }
})

test('callers at the same time share one pass', () => {
  const a = scanProcs()
  expect(scanProcs()).toBe(a)
  return a
})
