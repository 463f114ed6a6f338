/** Removals and moves never cross into another mount: needs root and mount(8), skipped (loudly) otherwise. */
import { beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, uploadOne } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('mounts', () => (canMount ? [] : null))
const dir = fx.tmp
const mounts = fx.mounts
const mount = (...args: string[]) => mounts.mount(...args)
const probe = join(dir, 'probe')
const canMount = process.getuid?.() === 0 && mount('-t', 'tmpfs', 'tmpfs', probe)
if (!canMount) console.warn('skipped: spec/files-mounts.test.ts needs root and mount(8) (mount -t tmpfs failed)')

describe.skipIf(!canMount)('DELETE /directories over a tree with mounts in it', () => {
  test('removes around a tmpfs and a bind mount of the same filesystem, keeps them whole, answers 400 naming them', async () => {
    const root = join(dir, 'tree')
    mkdirSync(join(root, 'a'), { recursive: true })
    writeFileSync(join(root, 'a', 'gone'), '')
    writeFileSync(join(root, 'top-file'), '')
    expect(mount('-t', 'tmpfs', 'tmpfs', join(root, 'b', 'tmp'))).toBe(true)
    writeFileSync(join(root, 'b', 'tmp', 'kept'), 'volume data')
    writeFileSync(join(root, 'b', 'beside'), '')
    // Same device as the tree: only the mount id tells it apart.
    const source = join(dir, 'bind-source')
    mkdirSync(join(source, 'sub'), { recursive: true })
    writeFileSync(join(source, 'sub', 'kept'), 'host data')
    expect(mount('--bind', source, join(root, 'c', 'd', 'bind'))).toBe(true)

    const res = await fx.d.fetch(`/directories?path=${encodeURIComponent(root)}`, { method: 'DELETE' })
    const body = (await res.json()) as { code: string; message: string }
    // Before: both mounts emptied (their files deleted), then 500 EBUSY on rmdir.
    expect([res.status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(body.message).toContain(join(root, 'b', 'tmp'))
    expect(body.message).toContain(join(root, 'c', 'd', 'bind'))
    expect(existsSync(join(root, 'b', 'tmp', 'kept'))).toBe(true)
    expect(existsSync(join(source, 'sub', 'kept'))).toBe(true)
    // Everything that was not a mount or above one is gone.
    for (const gone of ['a', 'top-file', join('b', 'beside')]) expect(existsSync(join(root, gone))).toBe(false)
  })

  test('a path that is itself a mount point is kept whole', async () => {
    const point = join(dir, 'point')
    expect(mount('-t', 'tmpfs', 'tmpfs', point)).toBe(true)
    writeFileSync(join(point, 'kept'), '')
    const res = await fx.d.fetch(`/directories?path=${encodeURIComponent(point)}`, { method: 'DELETE' })
    const body = (await res.json()) as { code: string; message: string }
    expect([res.status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(body.message).toContain(`kept the mount point ${point} `)
    expect(existsSync(join(point, 'kept'))).toBe(true)
  })
})

/** A 4xx answer's status, code and message. */
async function failure(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { code: string; message: string }
  return { status: res.status, ...body }
}

describe.skipIf(!canMount)('POST /files/mv of a mount point or a tree holding one', () => {
  // Another filesystem: a move there is a copy, then the source's removal.
  const other = join(dir, 'other')
  beforeAll(() => {
    if (canMount) expect(mount('-t', 'tmpfs', 'tmpfs', other)).toBe(true)
  })
  const move = (src: string, dest: string) => postJson(fx.d, '/files/mv', [{ src, dest }]).then(failure)

  test('across filesystems, a tree with a mount in it is refused whole: 400 naming the mount, source intact, no copy', async () => {
    const tree = join(dir, 'mv-tree')
    mkdirSync(join(tree, 'a'), { recursive: true })
    writeFileSync(join(tree, 'a', 'file'), 'a')
    expect(mount('-t', 'tmpfs', 'tmpfs', join(tree, 'z', 'vol'))).toBe(true)
    writeFileSync(join(tree, 'z', 'vol', 'kept'), 'volume data')
    writeFileSync(join(tree, 'z', 'beside'), 'b')

    const answer = await move(tree, join(other, 'moved'))
    // Before: the copy placed at moved/, then 500 from the source's removal (a/ and z/beside gone).
    expect([answer.status, answer.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(answer.message).toContain(`${join(tree, 'z', 'vol')} is a mount point`)
    expect(readFileSync(join(tree, 'a', 'file'), 'utf8')).toBe('a')
    expect(readFileSync(join(tree, 'z', 'beside'), 'utf8')).toBe('b')
    expect(readFileSync(join(tree, 'z', 'vol', 'kept'), 'utf8')).toBe('volume data')
    expect(readdirSync(other)).toEqual([])
  })

  test('a mount point itself is refused (400 naming it) on the same filesystem and across', async () => {
    const point = join(dir, 'mv-point')
    expect(mount('-t', 'tmpfs', 'tmpfs', point)).toBe(true)
    writeFileSync(join(point, 'kept'), '')
    // Same filesystem: rename(2) answers EBUSY (before: 500); across: the copy path (before: copied, then 500).
    for (const dest of [join(dir, 'mv-point-renamed'), join(other, 'point')]) {
      const answer = await move(point, dest)
      expect([answer.status, answer.code, dest]).toEqual([400, 'INVALID_REQUEST_BODY', dest])
      expect(answer.message).toContain(`${point} is a mount point`)
      expect(existsSync(join(point, 'kept'))).toBe(true)
      expect(existsSync(dest)).toBe(false)
    }
    expect(readdirSync(other)).toEqual([])
  })

  test('a bind-mounted file is refused (400 naming it) on the same filesystem and across', async () => {
    const file = boundFile('mv')
    for (const dest of [join(dir, 'mv-bound-renamed'), join(other, 'bound')]) {
      const answer = await move(file, dest)
      expect([answer.status, answer.code, dest]).toEqual([400, 'INVALID_REQUEST_BODY', dest])
      expect(answer.message).toContain(`${file} is a mount point`)
      expect(readFileSync(file, 'utf8')).toBe('host data')
      expect(existsSync(dest)).toBe(false)
    }
    expect(readdirSync(other)).toEqual([])
  })

  test('on the same filesystem, a directory holding a mount is renamed with its mount in it', async () => {
    const tree = join(dir, 'rn-tree')
    expect(mount('-t', 'tmpfs', 'tmpfs', join(tree, 'vol'))).toBe(true)
    writeFileSync(join(tree, 'vol', 'kept'), 'volume data')
    const renamed = join(dir, 'rn-renamed')
    mounts.movedTo(join(renamed, 'vol'))
    // The kernel moves the mount along: nothing is copied, nothing is lost.
    expect((await postJson(fx.d, '/files/mv', [{ src: tree, dest: renamed }])).status).toBe(200)
    expect(readFileSync(join(renamed, 'vol', 'kept'), 'utf8')).toBe('volume data')
    expect(existsSync(tree)).toBe(false)
  })
})

/** A file `<tag>-bound-file` with another file holding 'host data' bind-mounted on it. */
function boundFile(tag: string): string {
  const source = join(dir, `${tag}-file-source`)
  writeFileSync(source, 'host data')
  const file = join(dir, `${tag}-bound-file`)
  writeFileSync(file, '')
  expect(mount('--bind', source, file)).toBe(true)
  return file
}

describe.skipIf(!canMount)('DELETE of a bind-mounted file', () => {
  test('DELETE /files and DELETE /directories answer 400 naming it and leave it whole', async () => {
    const file = boundFile('rm')
    // Before: unlink(2) answered EBUSY, a 500 for both.
    for (const route of ['files', 'directories']) {
      const answer = await failure(await fx.d.fetch(`/${route}?path=${encodeURIComponent(file)}`, { method: 'DELETE' }))
      expect([answer.status, answer.code, route]).toEqual([400, 'INVALID_REQUEST_BODY', route])
      expect(answer.message).toContain(file)
      expect(answer.message).toContain('mount point')
      expect(readFileSync(file, 'utf8')).toBe('host data')
    }
  })
})

describe.skipIf(!canMount)('a read-only filesystem', () => {
  // Before: 500 RUNTIME_ERROR, as for a failure of execd's own.
  test('an upload or a move into it is a 403 FORBIDDEN naming the path, nothing written', async () => {
    const ro = join(dir, 'read-only')
    expect(mount('-t', 'tmpfs', '-o', 'ro', 'tmpfs', ro)).toBe(true)
    const up = await uploadOne(fx.d, join(ro, 'x.txt'))
    const upBody = { message: up.message ?? '' }
    expect([up.status, up.code]).toEqual([403, 'FORBIDDEN'])
    expect(upBody.message).toContain(`${ro}/x.txt`)
    expect(upBody.message).toEndWith('read-only file system')
    const src = join(dir, 'to-move')
    writeFileSync(src, 'moved')
    const mv = await postJson(fx.d, '/files/mv', [{ src, dest: join(ro, 'moved') }])
    expect(mv.status).toBe(403)
    expect(((await mv.json()) as { message: string }).message).toContain(`${ro}/moved`)
    expect(readdirSync(ro)).toEqual([])
    expect(readFileSync(src, 'utf8')).toBe('moved')
  })
})
