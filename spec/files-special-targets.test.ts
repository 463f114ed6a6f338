/**
 * An upload whose target is a FIFO, a socket or a device node, through the compiled executable.
 * The staged file was renamed over it: an upload to /dev/null replaced the container's null
 * device with a regular file, and every later `> /dev/null` wrote to that file.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { postJson, uploadOne } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('special')
const dir = fx.tmp
let socketServer: Server | undefined

afterAll(async () => {
  socketServer?.close()
})

/** A character device like /dev/null, made in the test's own directory (needs CAP_MKNOD). */
const nullNode = join(dir, 'null')
const canMknod = spawnSync('mknod', ['-m', '666', nullNode, 'c', '1', '3']).status === 0
if (!canMknod) console.warn('skipped: spec/files-special-targets.test.ts cannot mknod (not root), no device case')

const refused = { status: 400, code: 'INVALID_REQUEST_BODY' }

describe('an upload onto something that is not a regular file', () => {
  test('a FIFO is refused with 400 and stays a FIFO', async () => {
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const answer = await uploadOne(fx.d, fifo)
    expect(answer).toEqual({ ...refused, message: `error accessing file: not a regular file: ${fifo}` })
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })

  test.skipIf(!canMknod)('a character device is refused with 400 and stays a device', async () => {
    const answer = await uploadOne(fx.d, nullNode)
    expect({ status: answer.status, code: answer.code }).toEqual(refused)
    expect(lstatSync(nullNode).isCharacterDevice()).toBe(true)
  })

  test('a socket among several files fails the whole upload: nothing written, the socket kept', async () => {
    const socket = join(dir, 'sock')
    socketServer = createServer()
    await new Promise<void>(resolve => socketServer!.listen(socket, resolve))
    const b = 'spec-special'
    const part = (path: string) =>
      `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${path}"}\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n`
    const before = join(dir, 'before-the-socket')
    const res = await fx.d.fetch('/files/upload', {
      method: 'POST',
      body: `${part(before)}${part(socket)}--${b}--\r\n`,
      headers: { 'content-type': `multipart/form-data; boundary=${b}` },
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('INVALID_REQUEST_BODY')
    expect(lstatSync(socket).isSocket()).toBe(true)
    expect(existsSync(before)).toBe(false)
  })
})

/** A tmpfs beside the test's dir: a move there is a copy (EXDEV). Skipped visibly where there is none. */
const shm = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(dir).dev ? '/dev/shm' : undefined
if (!shm)
  console.warn('skipped: spec/files-special-targets.test.ts has no /dev/shm on another filesystem, no move case')

describe.skipIf(!shm)('a move to another filesystem of a tree holding a FIFO', () => {
  test('is a 400 naming the FIFO where it is; nothing at the destination, the tree as it was', async () => {
    const tree = join(dir, 'tree')
    mkdirSync(join(tree, 'sub', 'deeper'), { recursive: true })
    writeFileSync(join(tree, 'a.txt'), 'a')
    expect(spawnSync('mkfifo', [join(tree, 'sub', 'deeper', 'fifo')]).status).toBe(0)
    const away = mkdtempSync(join(shm!, 'execd-spec-special-'))
    try {
      const dest = join(away, 'tree')
      const res = await postJson(fx.d, '/files/mv', [{ src: `${tree}/`, dest }])
      // Before: `move <src> <dest>: invalid argument`, the FIFO nowhere named.
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({
        code: 'INVALID_REQUEST_BODY',
        message:
          `error accessing file: move ${tree}/ ${dest}: ${tree}/sub/deeper/fifo is a FIFO, and a move to another ` +
          'filesystem is a copy, which makes only files, directories and symlinks; nothing was moved',
      })
      expect(readdirSync(away)).toEqual([])
      expect(lstatSync(join(tree, 'sub', 'deeper', 'fifo')).isFIFO()).toBe(true)
      expect(readdirSync(tree).sort()).toEqual(['a.txt', 'sub'])
    } finally {
      rmSync(away, { recursive: true, force: true })
    }
  })
})
