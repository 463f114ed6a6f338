/**
 * One upload's files are placed all or none, through the compiled executable: a request that
 * would fail part way is refused before any file is in place, and a placing the kernel refuses
 * takes back the ones before it. Also: the target's kind is looked at again when the body has
 * ended (a FIFO made meanwhile), and a target beside which no file can be made is not a 404.
 */
import { describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { uploadOne } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('whole')
const dir = fx.tmp
const mounts = fx.mounts

const b = 'spec-whole'
const part = (path: string, content = 'new') =>
  `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${path}"}\r\n` +
  `--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${content}\r\n`

async function upload(body: string | ReadableStream<Uint8Array>) {
  const res = await fx.d.fetch('/files/upload', {
    method: 'POST',
    body,
    headers: { 'content-type': `multipart/form-data; boundary=${b}` },
  })
  return { status: res.status, ...((await res.json()) as { code?: string; message?: string }) }
}

describe('an upload is all or nothing', () => {
  test('a file and a path below it: refused before anything is written', async () => {
    const [a, x] = [join(dir, 'a'), join(dir, 'x')]
    const nested = {
      status: 400,
      code: 'INVALID_FILE_METADATA',
      message: `invalid metadata format. a file and a path below it in one upload: ${x} and ${x}/y`,
    }
    // The other way round, `x` is a directory made by the request when its turn comes.
    const isDirectory = {
      status: 400,
      code: 'INVALID_REQUEST_BODY',
      message: `error accessing file: open ${x}: is a directory`,
    }
    for (const [order, refused] of [
      [[a, x, `${x}/y`], nested],
      [[a, x, `${x}-z`, `${x}/y`], nested],
      [[a, `${x}/y`, x], isDirectory],
    ] as const) {
      expect(await upload(`${order.map(p => part(p)).join('')}--${b}--\r\n`)).toEqual(refused)
      expect(existsSync(a)).toBe(false)
      expect(existsSync(x)).toBe(false)
      expect(existsSync(`${x}-z`)).toBe(false)
    }
  })

  test('a FIFO made at a target after it was staged: refused, the FIFO kept, nothing written', async () => {
    const [before, fifo] = [join(dir, 'before-fifo'), join(dir, 'fifo-later')]
    const sub = join(dir, 'staging')
    spawnSync('mkdir', [sub])
    const target = join(sub, 'f')
    let send!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: c => void (send = c) })
    const answer = upload(body)
    send.enqueue(new TextEncoder().encode(part(before) + part(target) + part(fifo)))
    // The next part's start ends `target`'s file part: its temp file is there once it is staged.
    send.enqueue(new TextEncoder().encode(`--${b}\r\nContent-Disposition: form-data; name="other"\r\n\r\n`))
    for (let i = 0; i < 2000 && readdirSync(sub).length === 0; i++) await Bun.sleep(5)
    expect(readdirSync(sub).length).toBe(1)
    expect(spawnSync('mkfifo', [target]).status).toBe(0)
    send.enqueue(new TextEncoder().encode(`x\r\n--${b}--\r\n`))
    send.close()
    expect(await answer).toEqual({
      status: 400,
      code: 'INVALID_REQUEST_BODY',
      message: `error accessing file: not a regular file: ${target}`,
    })
    expect(lstatSync(target).isFIFO()).toBe(true)
    expect(readdirSync(sub)).toEqual(['f'])
    expect(existsSync(before)).toBe(false)
    expect(existsSync(fifo)).toBe(false)
  })

  const mountPoint = join(dir, 'mounted')
  writeFileSync(mountPoint, 'under')
  writeFileSync(join(dir, 'over'), 'over')
  const canMount = mounts.mount('--bind', join(dir, 'over'), mountPoint)
  if (!canMount)
    console.warn('skipped: spec/files-upload-whole.test.ts cannot bind-mount (no CAP_SYS_ADMIN), no EBUSY case')

  test.skipIf(!canMount)('a rename the kernel refuses takes back the files placed before it', async () => {
    const [fresh, old] = [join(dir, 'fresh'), join(dir, 'old')]
    writeFileSync(old, 'old')
    const answer = await upload(`${part(fresh)}${part(old)}${part(mountPoint)}--${b}--\r\n`)
    expect(answer).toEqual({
      status: 500,
      code: 'RUNTIME_ERROR',
      message: `error accessing file: rename ${mountPoint}: device or resource busy`,
    })
    expect(existsSync(fresh)).toBe(false)
    expect(readFileSync(old, 'utf8')).toBe('old')
    expect(readFileSync(mountPoint, 'utf8')).toBe('over')
    expect(readdirSync(dir).sort()).toEqual(['mounted', 'old', 'over', 'staging'].sort())
  })
})

describe('a target beside which no file can be made', () => {
  test('an existing /proc file: 403, not 404 "no such file"', async () => {
    expect(await uploadOne(fx.d, '/proc/version')).toEqual({
      status: 403,
      code: 'FORBIDDEN',
      message:
        'error accessing file: open /proc/version: its filesystem makes no new files ' +
        '(an upload writes a new file beside the target and renames it over)',
    })
  })
})
