import { afterAll, describe, expect, test } from 'bun:test'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onLocalDisk, Writer } from './atomic'

const dir = mkdtempSync(join(tmpdir(), 'execd-atomic-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('staged writes', () => {
  test('a disk filesystem is written from the event loop, procfs (or anything unlisted) is not', async () => {
    const tmp = openSync(dir, 'r')
    const proc = openSync('/proc/self', 'r')
    try {
      expect(await onLocalDisk(tmp)).toBe(true)
      expect(await onLocalDisk(proc)).toBe(false)
    } finally {
      closeSync(tmp)
      closeSync(proc)
    }
  })

  test('both ways of writing put the same bytes in order', async () => {
    const slices = Array.from({ length: 9 }, (_, i) => Buffer.alloc(100_003 * (i + 1), i + 1))
    for (const direct of [true, false]) {
      const path = join(dir, `out-${direct}`)
      const handle = await open(path, 'w')
      const writer = new Writer(handle, direct)
      for (const s of slices) await writer.write(s)
      await handle.close()
      expect(readFileSync(path).equals(Buffer.concat(slices))).toBe(true)
    }
  })
})
