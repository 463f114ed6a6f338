/**
 * An upload, a move or a POST /directories whose missing parents cannot be made names the
 * directory that failed, as Go's MkdirAll does (`mkdir /tmp/ro/sub: permission denied`), not
 * the file below it — and as the client wrote it: `$VAR`s stay unexpanded.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, startDaemon, uploadOne, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'files-mkdir-names-'))
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'f.txt'), 'a file')
  mkdirSync(join(dir, 'ro'))
  symlinkSync(join(dir, 'ro'), join(dir, 'ro-link'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const upload = async (d: Daemon, path: string) => {
  const { status, message } = await uploadOne(d, path)
  return { status, message: message ?? '' }
}

async function move(d: Daemon, dest: string): Promise<{ status: number; message: string }> {
  const src = join(dir, `src-${crypto.randomUUID()}`)
  writeFileSync(src, 'moved')
  const res = await postJson(d, '/files/mv', [{ src, dest }])
  rmSync(src, { force: true })
  return { status: res.status, message: (await res.json()).message }
}

async function directories(d: Daemon, path: string): Promise<{ status: number; message: string }> {
  const res = await postJson(d, '/directories', { [path]: {} })
  return { status: res.status, message: (await res.json()).message }
}

describe('a file in the way', () => {
  const fx = daemonAlone()
  const f = () => join(dir, 'f.txt')

  test('upload: the file that is not a directory is named', async () => {
    expect(await upload(fx.d, join(f(), 'sub', 'x.txt'))).toEqual({
      status: 400,
      message: `error accessing file: mkdir ${f()}: not a directory`,
    })
  })

  test('move: the file that is not a directory is named', async () => {
    expect(await move(fx.d, join(f(), 'sub', 'x.txt'))).toEqual({
      status: 400,
      message: `error accessing file: mkdir ${f()}: not a directory`,
    })
  })

  test('POST /directories: the file that is not a directory is named', async () => {
    expect(await directories(fx.d, join(f(), 'sub', 'leaf'))).toEqual({
      status: 400,
      message: `error accessing file: mkdir ${f()}: not a directory`,
    })
  })
})

test('confined (--root): named as written, relative to the root', async () => {
  const d = await startDaemon({ args: ['--root', dir] })
  try {
    expect((await upload(d, 'f.txt/sub/x.txt')).message).toBe('error accessing file: mkdir f.txt: not a directory')
    expect((await upload(d, join(dir, 'f.txt', 'x.txt'))).message).toBe(
      `error accessing file: mkdir ${dir}/f.txt: not a directory`,
    )
  } finally {
    await d.stop()
  }
})

const canDropPrivileges = process.getuid?.() === 0 && Bun.which('setpriv') !== null

describe.skipIf(!canDropPrivileges)('a directory this user cannot write (execd as nobody)', () => {
  let d: Daemon
  let ro: string
  beforeAll(async () => {
    ro = join(dir, 'ro')
    const temp = join(dir, 'temp')
    mkdirSync(temp, { mode: 0o777 })
    chmodSync(temp, 0o777)
    d = await startDaemon({
      under: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      env: { TMPDIR: temp, RO: ro },
      cwd: dir,
    })
  })
  afterAll(async () => {
    await d?.stop()
  })

  test('upload: the directory it could not make is named', async () => {
    expect(await upload(d, join(ro, 'sub', 'deeper', 'x.txt'))).toEqual({
      status: 403,
      message: `error accessing file: mkdir ${ro}/sub: permission denied`,
    })
  })

  test('move: the directory it could not make is named', async () => {
    expect(await move(d, join(ro, 'sub', 'x.txt'))).toEqual({
      status: 403,
      message: `error accessing file: mkdir ${ro}/sub: permission denied`,
    })
  })

  // Before: 500 RUNTIME_ERROR, as for a failure of execd's own (the reference's answer).
  test('upload and move into a directory it may not write: 403 FORBIDDEN naming the path as written', async () => {
    const up = await uploadOne(d, join(ro, 'x.txt'))
    const upBody = { message: up.message ?? '' }
    expect([up.status, up.code]).toEqual([403, 'FORBIDDEN'])
    expect(upBody.message).toStartWith('error accessing file: ')
    expect(upBody.message).toContain(`${ro}/x.txt`)
    expect(upBody.message).toEndWith('permission denied')
    const mv = await move(d, join(ro, 'x.txt'))
    expect(mv.status).toBe(403)
    expect(mv.message).toContain(`${ro}/x.txt`)
    expect(mv.message).toEndWith('permission denied')
  })

  test('named as written: a $VAR unexpanded, a relative path relative, a symlink as the link', async () => {
    expect((await upload(d, '$RO/sub/x.txt')).message).toBe('error accessing file: mkdir $RO/sub: permission denied')
    expect((await upload(d, 'ro/./sub/x.txt')).message).toBe('error accessing file: mkdir ro/./sub: permission denied')
    expect((await upload(d, join(dir, 'ro-link', 'sub', 'x.txt'))).message).toBe(
      `error accessing file: mkdir ${dir}/ro-link/sub: permission denied`,
    )
  })

  test('POST /directories: the directory it could not make is named; the leaf itself as given', async () => {
    expect(await directories(d, join(ro, 'sub', 'leaf'))).toEqual({
      status: 403,
      message: `error accessing file: mkdir ${ro}/sub: permission denied`,
    })
    expect((await directories(d, join(ro, 'leaf'))).message).toBe(
      `error accessing file: mkdir ${ro}/leaf: permission denied`,
    )
  })
})
