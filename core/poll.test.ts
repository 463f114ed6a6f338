import { expect, test } from 'bun:test'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { POLLERR, POLLOUT, POLLRDHUP, pollOne } from './poll'

/** A FIFO's two ends as descriptors of this process (the read end opened first, so the write end's open does not wait). */
function fifo(): { read: number; write: number; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'poll-'))
  const path = join(dir, 'fifo')
  expect(Bun.spawnSync(['mkfifo', path]).exitCode).toBe(0)
  const read = openSync(path, 'r+')
  const write = openSync(path, 'w')
  return { read, write, done: () => rmSync(dir, { recursive: true }) }
}

test('a pipe with room is writable now; one holding nothing has no end to tell', () => {
  const p = fifo()
  expect(pollOne(p.write, POLLOUT, 0)).toBe(POLLOUT)
  expect(pollOne(p.read, POLLRDHUP, 0)).toBe(0)
  closeSync(p.read)
  closeSync(p.write)
  p.done()
})

test('a writer waiting for room in a pipe whose reader has gone is told at once (POLLERR)', () => {
  const p = fifo()
  closeSync(p.read)
  expect((pollOne(p.write, POLLOUT, -1) ?? 0) & POLLERR).toBe(POLLERR)
  closeSync(p.write)
  p.done()
})
