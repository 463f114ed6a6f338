import { afterAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { closeSync, constants, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { O_PATH } from '../../core/beneath/walk'
import { consumedByReading, isPseudoFile, pseudoCopy, pseudoLength } from './pseudo'

const dir = mkdtempSync(join(tmpdir(), 'execd-pseudo-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('pseudo-files', () => {
  test('procfs and sysfs files are pseudo, a file in TMPDIR is not', async () => {
    expect(await isPseudoFile('/proc/version', statSync('/proc/version'))).toBe(true)
    expect(await isPseudoFile('/sys/kernel/address_bits', statSync('/sys/kernel/address_bits'))).toBe(true)
    expect(await isPseudoFile(dir, statSync(dir))).toBe(false)
    const empty = join(dir, 'empty')
    writeFileSync(empty, '')
    expect(await isPseudoFile(empty, statSync(empty))).toBe(false)
  })

  // /proc/kmsg is such a file, but reading it takes the kernel's log away from its reader: a
  // FIFO with a writer that never writes stands in for it (a blocking read waits for ever).
  test('a read that would wait ends at once with what there is (EAGAIN is the end)', async () => {
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK)
    const entry = openSync(fifo, O_PATH)
    try {
      const copy = await pseudoCopy(entry, fifo)
      expect((await copy.stat()).size).toBe(0)
      await copy.close()
      expect(await pseudoLength(fifo, fifo, 7)).toBe(0)
    } finally {
      closeSync(entry)
      closeSync(writer)
    }
  })

  test('HEAD and /files/info never read the files whose reading consumes them', () => {
    expect(consumedByReading('/proc/kmsg')).toBe(true)
    expect(consumedByReading('/sys/kernel/tracing/trace_pipe')).toBe(true)
    expect(consumedByReading('/proc/version')).toBe(false)
  })
})
