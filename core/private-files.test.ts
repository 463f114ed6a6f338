import { afterEach, expect, test } from 'bun:test'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { PrivateFiles } from './private-files'

const files = new PrivateFiles('execd-private-files-test', { 'driver.js': 'one', 'lib.js': 'two' })
afterEach(() => files.remove())

test('concurrent callers share one private dir holding every file', async () => {
  const [a, b] = await Promise.all([files.dir(), files.dir()])
  expect(a).toBe(b)
  expect(statSync(a).mode & 0o777).toBe(0o700)
  expect([readFileSync(join(a, 'driver.js'), 'utf8'), readFileSync(join(a, 'lib.js'), 'utf8')]).toEqual(['one', 'two'])
})

test('a dir swept by a temp cleaner (even in part) is written again; remove() takes it away', async () => {
  const first = await files.dir()
  rmSync(join(first, 'lib.js'))
  const second = await files.dir()
  expect(readFileSync(join(second, 'lib.js'), 'utf8')).toBe('two')
  rmSync(second, { recursive: true, force: true })
  const third = await files.dir()
  expect(readFileSync(join(third, 'driver.js'), 'utf8')).toBe('one')
  await files.remove()
  expect(() => statSync(third)).toThrow()
  rmSync(first, { recursive: true, force: true })
})
