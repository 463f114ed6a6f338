import { expect, test } from 'bun:test'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempDiskFull, tempDiskFullText } from './temp-disk'

const enospc = (path?: string) =>
  Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC', path })

test("a full disk under TMPDIR, as an errno or in a compiler's words, is the temp disk", () => {
  expect(tempDiskFull(enospc(join(tmpdir(), 'execd-0', 'go-kernel-build-1-x', 'go.mod')))).toBe(true)
  expect(tempDiskFull(new Error('wrapped', { cause: enospc(join(tmpdir(), 'a')) }))).toBe(true)
  expect(tempDiskFull(new Error('building the go kernel failed: write /x: no space left on device'))).toBe(true)
})

test('a full disk elsewhere, or another failure, is not', () => {
  expect(tempDiskFull(enospc('/somewhere-else/file'))).toBe(false)
  expect(tempDiskFull(new Error('javac failed: error: cannot find symbol'))).toBe(false)
  expect(tempDiskFullText()).toStartWith(`no space left on the temp disk (${tmpdir()}, `)
})
