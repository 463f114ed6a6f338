import { afterEach, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ownedTempDir } from './temp-dir'

const roots: string[] = []
afterEach(() => roots.splice(0).forEach(r => rmSync(r, { recursive: true, force: true })))

test('a dir left by a dead execd is removed; live owners and other names are kept', () => {
  const root = mkdtempSync(join(tmpdir(), 'execd-temp-dir-test-'))
  roots.push(root)
  const dead = Bun.spawnSync(['true']).pid // exited and reaped: its pid names no process
  const stale = join(root, `execd-x-${dead}-abc`)
  const live = join(root, `execd-x-${process.ppid}-abc`)
  const other = join(root, 'execd-y-1-abc')
  for (const d of [stale, live, other]) mkdirSync(d)
  const mine = ownedTempDir('execd-x', root)
  expect(mine).toStartWith(join(root, `execd-x-${process.pid}-`))
  expect([existsSync(stale), existsSync(live), existsSync(other), existsSync(mine)]).toEqual([false, true, true, true])
})
