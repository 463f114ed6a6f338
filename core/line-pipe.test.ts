import { expect, test } from 'bun:test'
import { readSync } from 'node:fs'
import { LinePipe } from './line-pipe'
import { closeQuietly, writerPipe } from './output-pipes'

const PIPE_BYTES = 64 * 1024
/** Eight bytes a line: 8,192 of them fill a default pipe exactly. */
const line = (n: number) => `+${String(n).padStart(6, '0')}\n`

function readBytes(fd: number): Buffer {
  const buf = Buffer.alloc(PIPE_BYTES * 2)
  return buf.subarray(0, readSync(fd, buf))
}

const readAll = (fd: number): string => readBytes(fd).toString()

function fullPipe(maxBehind: number, overflow = () => {}) {
  const fds = writerPipe()
  if (!fds) throw new Error('no pipe2 through bun:ffi here')
  const pipe = new LinePipe(fds[1], maxBehind, overflow)
  for (let i = 0; i < PIPE_BYTES / 8; i++) pipe.write(line(i))
  expect(pipe.waiting).toBe(0)
  return { pipe, read: fds[0] }
}

test('what a full pipe has no room for waits, and follows in order before the next line', () => {
  const { pipe, read } = fullPipe(1024)
  for (let i = 0; i < 10; i++) pipe.write(line(100_000 + i))
  expect(pipe.waiting).toBe(80)
  const first = readAll(read)
  expect(first.length).toBe(PIPE_BYTES)
  expect(first.endsWith(line(8191))).toBe(true)
  pipe.write(line(200_000))
  expect(pipe.waiting).toBe(0)
  const expected = [...Array.from({ length: 10 }, (_, i) => line(100_000 + i)), line(200_000)].join('')
  expect(readAll(read)).toBe(expected)
  pipe.close()
  closeQuietly(read)
})

test('what waits is offered again with no line after it, once the reader has read', async () => {
  const { pipe, read } = fullPipe(1024)
  pipe.write(line(300_000))
  expect(pipe.waiting).toBe(8)
  readAll(read)
  for (let i = 0; i < 100 && pipe.waiting > 0; i++) await Bun.sleep(20)
  expect(pipe.waiting).toBe(0)
  expect(readAll(read)).toBe(line(300_000))
  pipe.close()
  closeQuietly(read)
})

test('past maxBehind the reader is said to have stopped, and no more is held', () => {
  let overflows = 0
  const { pipe, read } = fullPipe(100, () => overflows++)
  for (let i = 0; i < 12; i++) pipe.write(line(i))
  expect(overflows).toBe(0)
  pipe.write(line(12))
  expect(overflows).toBe(1)
  pipe.close()
  expect(pipe.waiting).toBe(0)
  closeQuietly(read)
})

test('a pipe whose reader is gone refuses the line', () => {
  const fds = writerPipe()!
  const pipe = new LinePipe(fds[1], 1024, () => {})
  expect(pipe.write(line(1))).toBe(true)
  closeQuietly(fds[0])
  expect(pipe.write(line(2))).toBe(false)
  expect(pipe.waiting).toBe(0)
  pipe.close()
})

test('a write the full pipe cuts inside a character goes on from the byte it stopped at', () => {
  const { pipe, read } = fullPipe(10_000)
  // Six bytes a line, `é` its fourth and fifth: 4,096 (one page, what a read frees) is 682 lines
  // and four bytes, so the pipe's partial write ends between the two bytes of a character.
  const lines = 'd/aé\n'.repeat(700)
  for (const l of lines.split(/(?<=\n)/)) pipe.write(l)
  expect(pipe.waiting).toBe(Buffer.byteLength(lines))
  const page = Buffer.alloc(4096)
  expect(readSync(read, page)).toBe(4096)
  pipe.write(line(7))
  expect(pipe.waiting).toBe(Buffer.byteLength(lines) + 8 - 4096)
  const got = [readBytes(read).subarray(PIPE_BYTES - 4096)]
  pipe.write(line(8))
  got.push(readBytes(read))
  expect(Buffer.concat(got).toString()).toBe(lines + line(7) + line(8))
  pipe.close()
  closeQuietly(read)
})
