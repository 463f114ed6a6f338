import { afterAll, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from './log'
import { LogFile } from './log-file'

const dir = mkdtempSync(join(tmpdir(), 'execd-log-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('a log file is appended to, one JSON line per entry', () => {
  const path = join(dir, 'a.log')
  writeFileSync(path, 'old\n')
  const file = new LogFile(path)
  createLogger('info', { pid: 1 }, file.write).info('hello', { n: 2 })
  file.close()
  const [old, line] = readFileSync(path, 'utf8').trimEnd().split('\n')
  expect(old).toBe('old')
  expect(JSON.parse(line!)).toMatchObject({ level: 'info', msg: 'hello', pid: 1, n: 2 })
})

test('reopen starts a new file at the path after a rename; a failed reopen keeps the old one', () => {
  const sub = join(dir, 'sub')
  mkdirSync(sub)
  const path = join(sub, 'b.log')
  const file = new LogFile(path)
  file.write('one\n')
  renameSync(path, `${path}.1`)
  file.write('two\n')
  file.reopen()
  file.write('three\n')
  expect(readFileSync(`${path}.1`, 'utf8')).toBe('one\ntwo\n')
  expect(readFileSync(path, 'utf8')).toBe('three\n')
  // Created as the reference creates it: 0644 before the umask.
  expect(statSync(path).mode & 0o777).toBe(0o644 & ~process.umask())
  renameSync(sub, `${sub}.gone`)
  expect(() => file.reopen()).toThrow('no such file or directory')
  file.write('four\n')
  file.close()
  expect(readFileSync(join(`${sub}.gone`, 'b.log'), 'utf8')).toBe('three\nfour\n')
})

test('a path that cannot be opened throws, naming it and the errno in words', () => {
  const path = join(dir, 'missing', 'x.log')
  expect(() => new LogFile(path)).toThrow(`cannot open the log file '${path}': no such file or directory`)
})
