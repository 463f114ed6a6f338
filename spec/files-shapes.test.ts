/**
 * Large shapes rather than large bytes, through the compiled executable: trees far deeper than
 * the descriptors a walk may hold. `EXECD_BIG_SHAPES=1` runs them at full size (minutes).
 */
import { describe, expect, test } from 'bun:test'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { postJson } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { narrowGet } from './kit/narrow-reader'
import { chain } from './tree-shapes'

const BIG = process.env.EXECD_BIG_SHAPES === '1'
const fx = daemonWithDirAtLoad('shapes', () => ({ under: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`] }))
const dir = fx.tmp
const FD_LIMIT = 256

describe('a tree deeper than the descriptors the daemon may open', () => {
  const depth = BIG ? 20_000 : 4 * FD_LIMIT

  test('DELETE /directories removes it whole', async () => {
    const root = join(dir, 'rm')
    chain(root, depth)
    const res = await fx.d.fetch(`/directories?path=${encodeURIComponent(root)}`, { method: 'DELETE' })
    // It held a descriptor per level: 503 EMFILE with the tree half removed.
    expect([res.status, await res.text()]).toEqual([200, ''])
    expect(existsSync(root)).toBe(false)
  }, 120_000)

  test('search and list walk it to the bottom', async () => {
    const root = join(dir, 'walk')
    chain(root, BIG ? 8000 : depth)
    const found = await fx.d.fetch(`/files/search?path=${encodeURIComponent(root)}&pattern=z`)
    expect(found.status).toBe(200)
    expect(((await found.json()) as unknown[]).length).toBe(BIG ? 8000 : depth)
    const listed = await fx.d.fetch(`/directories/list?path=${encodeURIComponent(root)}&depth=1000000`)
    expect(listed.status).toBe(200)
    expect(((await listed.json()) as unknown[]).length).toBe(2 * (BIG ? 8000 : depth))
  }, 600_000)

  const shm = '/dev/shm'
  const otherFs = existsSync(shm) && statSync(shm).dev !== statSync(dir).dev
  if (!otherFs) console.warn(`skipped: ${shm} is not another filesystem than ${dir}, no move crosses one`)
  test.skipIf(!otherFs)(
    'a move to another filesystem copies it whole, then removes it',
    async () => {
      const root = join(dir, 'mv')
      chain(root, depth)
      chmodSync(root, 0o750)
      const dest = mkdtempSync(join(shm, 'execd-spec-shapes-'))
      try {
        const res = await postJson(fx.d, '/files/mv', [{ src: root, dest: join(dest, 'copy') }])
        // It held a source and a destination descriptor per level: EMFILE at about 120 deep.
        expect([res.status, await res.text()]).toEqual([200, ''])
        expect(existsSync(root)).toBe(false)
        expect(statSync(join(dest, 'copy')).mode & 0o777).toBe(0o750)
        let fd = openSync(join(dest, 'copy'), 'r')
        let levels = 0
        for (; existsSync(`/proc/self/fd/${fd}/d`); levels++) {
          expect(existsSync(`/proc/self/fd/${fd}/z`)).toBe(true)
          const next = openSync(`/proc/self/fd/${fd}/d`, 'r')
          closeSync(fd)
          fd = next
        }
        closeSync(fd)
        expect(levels).toBe(depth)
      } finally {
        // The daemon's removal by descriptor: rmSync names each path whole, 2 KiB deep and more.
        await fx.d.fetch(`/directories?path=${encodeURIComponent(dest)}`, { method: 'DELETE' })
      }
    },
    600_000,
  )
})

describe('a listing of many entries', () => {
  test('is streamed a batch at a time, not serialized whole while every request waits', async () => {
    const root = join(dir, 'wide')
    mkdirSync(root)
    const count = BIG ? 99_000 : 2000
    for (let i = 0; i < count; i++) writeFileSync(join(root, `${String(i).padStart(6, '0')}${'n'.repeat(249)}`), '')
    for (const route of [
      `/directories/list?path=${encodeURIComponent(root)}`,
      `/files/search?path=${encodeURIComponent(root)}`,
    ]) {
      const res = await fx.d.fetch(route)
      expect(res.status).toBe(200)
      // One JSON.stringify of the whole answer has a length up front (0.7 s of frozen loop at 99,000 entries).
      expect(res.headers.get('content-length')).toBeNull()
      const list = (await res.json()) as { path: string }[]
      expect(list.length).toBe(count)
      expect(list.at(-1)?.path).toBe(join(root, `${String(count - 1).padStart(6, '0')}${'n'.repeat(249)}`))
    }
  }, 120_000)
})

describe('a listing or a search of 20,000 entries', () => {
  test.each(['/directories/list', '/files/search'])(
    "%s is stat'ed as it is sent, not held whole: entries removed once it started are left out",
    async route => {
      const root = join(dir, `lazy${route.replaceAll('/', '-')}`)
      mkdirSync(root)
      const count = 20_000
      const name = (i: number) => join(root, `${String(i).padStart(6, '0')}${'n'.repeat(249)}`)
      for (let i = 0; i < count; i++) writeFileSync(name(i), '')
      // About 9 MB of answer, taken through a narrow window: only what the daemon's send buffer
      // holds can have been made before the removal.
      const { status, body } = await narrowGet(fx.d, `${route}?path=${encodeURIComponent(root)}`, () => {
        for (let i = 0; i < count; i++) rmSync(name(i))
      })
      expect(status).toBe(200)
      const list = JSON.parse(body) as { path: string }[]
      // Made whole before the first byte, the answer listed all 20,000 (and held them all in memory).
      expect(list.length).toBeLessThan(count)
      expect(list[0]?.path).toBe(name(0))
      const paths = list.map(e => e.path)
      expect(paths).toEqual(paths.toSorted())
    },
    120_000,
  )
})

/** One multipart upload of `count` files `root/f<i>`, each holding its number. */
function uploadNumbered(root: string, count: number): Promise<Response> {
  const b = 'shapes-boundary'
  const parts: string[] = []
  for (let i = 0; i < count; i++) {
    parts.push(`--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${root}/f${i}"}\r\n`)
    parts.push(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${i}\r\n`)
  }
  parts.push(`--${b}--\r\n`)
  return fx.d.fetch('/files/upload', {
    method: 'POST',
    body: parts.join(''),
    headers: { 'content-type': `multipart/form-data; boundary=${b}` },
  })
}

describe('a multipart upload', () => {
  test('of 2,000 files into one directory holds that directory once, not once per file', async () => {
    const root = join(dir, 'many-files')
    mkdirSync(root)
    const res = await uploadNumbered(root, 2000)
    // A descriptor per file: past the uploads' quarter of the 256 (64), 503.
    expect([res.status, await res.text()]).toEqual([200, ''])
    expect(readdirSync(root).length).toBe(2000)
    expect(readFileSync(join(root, 'f1999'), 'utf8')).toBe('1999')
  }, 120_000)

  const strace = Bun.which('strace')
  if (!strace) console.warn('skipped: no strace to count the fsyncs of an upload')
  test.skipIf(!strace)(
    'of 200 files into one directory fsyncs each file before any rename, and the directory once after them',
    async () => {
      const root = join(dir, 'synced')
      mkdirSync(root)
      const out = join(dir, 'strace.out')
      const tracer = Bun.spawn(
        ['strace', '-f', '-qq', '-e', 'trace=fsync,statfs,rename', '-o', out, '-p', String(fx.d.proc.pid)],
        {
          stderr: 'pipe',
        },
      )
      // Attached once the daemon's threads show up as traced.
      while (!readFileSync(`/proc/${fx.d.proc.pid}/status`, 'utf8').match(/^TracerPid:\s+[1-9]/m)) await Bun.sleep(10)
      const res = await uploadNumbered(root, 200)
      expect(res.status).toBe(200)
      tracer.kill('SIGINT')
      await tracer.exited
      const calls = readFileSync(out, 'utf8').split('\n')
      const count = (name: string) => calls.filter(l => l.includes(` ${name}(`) && !l.includes('resumed')).length
      // Per file it was fsync of the file and of its directory, and a statfs: 400 and 200.
      expect(count('fsync')).toBe(201)
      expect(count('statfs')).toBe(1)
      // The files are fsynced together once the body is in (ops/commit-staged.ts), still each
      // before the first rename: none is seen in place before it is on disk. By the order
      // strace wrote the calls in (one file for every thread: their order is the kernel's).
      // The renames of the staged files (the staging journal's own dir is renamed too).
      const order = calls
        .map(l => /( fsync)\(| (rename)\("[^"]*\.execd-tmp-/.exec(l))
        .flatMap(m => (m ? [m[1] ? 'fsync' : 'rename'] : []))
      expect(order.lastIndexOf('fsync')).toBeGreaterThan(order.lastIndexOf('rename'))
      expect(order.slice(0, 200)).toEqual(Array(200).fill('fsync'))
    },
    60_000,
  )

  test('whose part headers pass 16 KiB is refused, however the body was cut into chunks', async () => {
    const body = Buffer.from(
      '--b0\r\nContent-Disposition: form-data; name="metadata"\r\n' +
        `X-Padding: ${'h'.repeat(40 * 1024)}\r\n\r\n` +
        `${JSON.stringify({ path: join(dir, 'padded') })}\r\n--b0--\r\n`,
    )
    const res = await fx.d.fetch('/files/upload', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b0' },
      body,
    })
    // Headers that came in one chunk were read at any length: this answered "file is missing".
    expect([res.status, await res.json()]).toEqual([
      400,
      { code: 'INVALID_FILE', message: 'malformed multipart body: part headers too long' },
    ])
  })
})
