import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { snapshot } from './file-snapshot'

const dir = mkdtempSync(join(tmpdir(), 'execd-snapshot-'))
const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 7 + 3) % 251))
const path = join(dir, 'data')
writeFileSync(path, data)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The copy's bytes, and whether it is the unnamed file it should be (no name in TMPDIR). */
async function copyOf(start: number, end: number) {
  const source = await open(path, 'r')
  try {
    const copy = await snapshot(source, start, end)
    if (!copy) return undefined
    const link = `/proc/self/fd/${copy.handle.fd}`
    const bytes = readFileSync(link).subarray(0, copy.length)
    const unnamed = /\/#\d+ \(deleted\)$/.test(readlinkSync(link))
    await copy.handle.close()
    return { length: copy.length, bytes, unnamed }
  } finally {
    await source.close()
  }
}

test('a whole file and a part of one: their bytes, in an unnamed file', async () => {
  const whole = await copyOf(0, data.length)
  expect([whole?.bytes.equals(data), whole?.unnamed]).toEqual([true, true])
  const part = await copyOf(1_000_001, 2_500_000)
  expect(part?.length).toBe(1_499_999)
  expect(part?.bytes.equals(data.subarray(1_000_001, 2_500_000))).toBe(true)
})

test('a file shorter than asked (it shrank since its stat): only what it still holds', async () => {
  writeFileSync(path, data)
  truncateSync(path, 2_000_000)
  expect((await copyOf(0, data.length))?.length).toBe(2_000_000)
  expect((await copyOf(1_500_000, data.length))?.length).toBe(500_000)
  expect((await copyOf(2_500_000, data.length))?.length).toBe(0)
  writeFileSync(path, data)
})

test('no copy where TMPDIR cannot take one: the caller sends from the file', async () => {
  const saved = process.env.TMPDIR
  process.env.TMPDIR = join(dir, 'missing')
  try {
    expect(await copyOf(0, data.length)).toBeUndefined()
  } finally {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
  }
})

/**
 * `source` whose file is truncated to nothing and written again, as long as before, with other
 * bytes, right after the copy's first read (`times` times): the race of a truncation and a
 * regrow inside the copy, made to happen every time.
 */
function rewrittenOnRead(source: FileHandle, times: number): FileHandle {
  let reads = 0
  return new Proxy(source, {
    get(target, key) {
      if (key !== 'read') {
        const value = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      }
      return async (...args: Parameters<FileHandle['read']>) => {
        const got = await target.read(...args)
        if (reads++ < times) {
          truncateSync(path, 0)
          writeFileSync(path, Buffer.alloc(data.length, reads))
        }
        return got
      }
    },
  })
}

test('a file truncated and regrown during the copy is copied again: one version of it, not two', async () => {
  writeFileSync(path, data)
  const source = await open(path, 'r')
  try {
    const copy = await snapshot(rewrittenOnRead(source, 1), 1, data.length)
    expect(copy?.length).toBe(data.length - 1)
    const bytes = readFileSync(`/proc/self/fd/${copy!.handle.fd}`).subarray(0, copy!.length)
    await copy!.handle.close()
    // The file as it was rewritten (every byte 1), not 1 MiB of the old bytes before it.
    expect(bytes.equals(Buffer.alloc(data.length - 1, 1))).toBe(true)
  } finally {
    await source.close()
    writeFileSync(path, data)
  }
})

test('a file that changes during every copy is copied a bounded number of times', async () => {
  writeFileSync(path, data)
  const source = await open(path, 'r')
  let reads = 0
  const counted = new Proxy(rewrittenOnRead(source, Infinity), {
    get(target, key) {
      const value = Reflect.get(target, key)
      if (key !== 'read') return value
      return (...args: Parameters<FileHandle['read']>) => (reads++, value(...args))
    },
  })
  try {
    const copy = await snapshot(counted, 1, data.length)
    await copy?.handle.close()
    // 4 reads of 1 MiB a copy (3 MiB + 16 bytes), 3 copies.
    expect(reads).toBe(12)
    expect(copy?.length).toBe(data.length - 1)
  } finally {
    await source.close()
    writeFileSync(path, data)
  }
})
