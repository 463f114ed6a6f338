import { expect, test } from 'bun:test'
import { ProcScanner, scanProcs } from './proc-scan'

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
