/** DELETE /directories never crosses into another mount: needs root and mount(8), skipped (loudly) otherwise. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from './harness'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-spec-mounts-')))
const mounted: string[] = []
const mount = (...args: string[]) => {
  const target = args.at(-1) ?? ''
  mkdirSync(target, { recursive: true })
  const ok = spawnSync('mount', args).status === 0
  if (ok) mounted.push(target)
  return ok
}
const probe = join(dir, 'probe')
const canMount = process.getuid?.() === 0 && mount('-t', 'tmpfs', 'tmpfs', probe)
if (!canMount) console.warn('skipped: spec/files-mounts.test.ts needs root and mount(8) (mount -t tmpfs failed)')

let d: Daemon
beforeAll(async () => {
  if (canMount) d = await startDaemon()
})
afterAll(async () => {
  await d?.stop()
  for (const target of mounted.reverse()) spawnSync('umount', ['-l', target])
  rmSync(dir, { recursive: true, force: true })
})

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

    const res = await d.fetch(`/directories?path=${encodeURIComponent(root)}`, { method: 'DELETE' })
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
    const res = await d.fetch(`/directories?path=${encodeURIComponent(point)}`, { method: 'DELETE' })
    const body = (await res.json()) as { code: string; message: string }
    expect([res.status, body.code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(body.message).toContain(`kept the mount point ${point} `)
    expect(existsSync(join(point, 'kept'))).toBe(true)
  })
})
