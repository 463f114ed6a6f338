import { expect, test } from 'bun:test'
import { ExecdError, clip, errorResponse, knowOpenFilesLimit, toExecdError } from './errors'
import { join } from 'node:path'

const errno = (code: string) => Object.assign(new Error(`${code}: too many open files, open '/tmp/x'`), { code })

test('a failure for want of an fd is the 503 naming the limit, without the path it was opening', () => {
  knowOpenFilesLimit(512)
  const e = toExecdError(errno('EMFILE'))
  expect(e.status).toBe(503)
  expect(e.code).toBe('SERVICE_UNAVAILABLE')
  expect(e.message).toContain('all 512 file descriptors')
  expect(e.message).not.toContain('/tmp')
  expect(toExecdError(errno('ENFILE')).message).toContain('ENFILE')
})

test("a section's RUNTIME_ERROR caused by EMFILE renders as the same 503; other errors stay as they are", async () => {
  const wrapped = new ExecdError('RUNTIME_ERROR', 'error accessing file: open /tmp/x: too many open files', {
    cause: errno('EMFILE'),
  })
  const res = errorResponse(wrapped)
  expect(res.status).toBe(503)
  expect((await res.json()).code).toBe('SERVICE_UNAVAILABLE')
  const other = new ExecdError('RUNTIME_ERROR', 'boom', { cause: errno('EIO') })
  expect(errorResponse(other).status).toBe(500)
  expect(toExecdError(other)).toBe(other)
  // A client's fault keeps its status whatever its cause.
  expect(errorResponse(new ExecdError('INVALID_REQUEST_BODY', 'x', { cause: errno('EMFILE') })).status).toBe(400)
})

test('an EMFILE a wrapper kept as its cause, several levels down, is the same 503', () => {
  const inner = new Error('cannot open SQLite database :memory:: EMFILE', { cause: errno('EMFILE') })
  const outer = new ExecdError('RUNTIME_ERROR', 'could not start the sql interpreter', { cause: inner })
  expect(toExecdError(outer).status).toBe(503)
  expect(toExecdError(new Error('wrapped', { cause: errno('EMFILE') })).status).toBe(503)
})

test('a terminal\'s spawn at the fd limit (Bun\'s "Failed to open PTY", no errno) is the 503 naming the limit', () => {
  // In a process of its own with few fds, every one of them taken.
  const script = `
    const { spawnOwned } = require(${JSON.stringify(join(import.meta.dir, 'process.ts'))})
    const { toExecdError } = require(${JSON.stringify(join(import.meta.dir, 'errors.ts'))})
    const { openSync } = require('node:fs')
    const fds = []
    try { for (;;) fds.push(openSync('/dev/null', 'r')) } catch {}
    try {
      spawnOwned(['bash', '--norc'], { terminal: { cols: 80, rows: 24, data() {} } })
      console.log('null')
    } catch (e) {
      const { status, message } = toExecdError(e)
      console.log(JSON.stringify({ status, message }))
    }`
  const run = Bun.spawnSync(['prlimit', '--nofile=64', process.execPath, '-e', script])
  const answer = JSON.parse(run.stdout.toString())
  expect(answer.status).toBe(503)
  expect(answer.message).toContain('EMFILE, RLIMIT_NOFILE')
})

test('clip cuts to the length with an ellipsis, and never between the halves of a surrogate pair', () => {
  expect(clip('abc', 3)).toBe('abc')
  expect(clip('abcd', 3)).toBe('abc…')
  expect(clip('ab😀', 3)).toBe('ab…')
  expect(clip('a😀b', 3)).toBe('a😀…')
})
