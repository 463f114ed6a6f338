/**
 * File names that pass the schema and then did harm, in the files section and its CLI: each
 * test fails on the executable before its fix. No timing: answers are read whole and their
 * statuses, codes and bytes compared. The process values (commands, terminals, isolated runs,
 * waits) are in spec/values-past-schema.test.ts.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCliSync, startDaemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { refused } from './kit/refused'

const fx = daemonWithDir('values')

const download = (path: string, method = 'GET') =>
  fx.d.fetch(`/files/download?path=${encodeURIComponent(path)}`, { method })

describe('a file whose name is no quoted-string downloads, its name percent-encoded', () => {
  // A newline or CR in the name made Content-Disposition an invalid header: a 500
  // RUNTIME_ERROR "Header 'Content-Disposition' has invalid value" for GET and HEAD, so such a
  // file (made by any program in the sandbox) could not be downloaded at all. A quote ended the
  // filename parameter, so the name chose the header's other parameters.
  let dir: string
  beforeAll(() => {
    dir = join(fx.tmp, 'names')
    mkdirSync(dir)
  })

  test('a newline or a CR in the name: 200 with the bytes, for GET and HEAD', async () => {
    for (const [name, encoded] of [
      ['new\nline', 'new%0Aline'],
      ['cr\rlf\r\nSet-Cookie: a=b', 'cr%0Dlf%0D%0ASet-Cookie:%20a=b'],
    ] as const) {
      writeFileSync(join(dir, name), 'payload')
      const res = await download(join(dir, name))
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('payload')
      const disposition = res.headers.get('content-disposition') ?? ''
      expect(disposition).not.toMatch(/[\r\n]/)
      expect(disposition).toBe(`attachment; filename="${encoded}"; filename*=UTF-8''${encoded}`)
      expect(res.headers.get('set-cookie')).toBeNull()
      const head = await download(join(dir, name), 'HEAD')
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe('7')
    }
  })

  test('a quote in the name stays inside the filename parameter', async () => {
    const name = `a"; filename*=UTF-8''x.sh`
    writeFileSync(join(dir, name), 'q')
    const res = await download(join(dir, name))
    expect(res.status).toBe(200)
    const disposition = res.headers.get('content-disposition') ?? ''
    // One filename and one filename*, each naming the whole name.
    expect(disposition.match(/filename\*=/g)).toHaveLength(1)
    expect(disposition).toBe(
      `attachment; filename="a%22%3B%20filename%2A=UTF-8%27%27x.sh"; filename*=UTF-8''a%22%3B%20filename%2A=UTF-8%27%27x.sh`,
    )
    await res.arrayBuffer()
  })
})

/** The answer to a request that must be refused before anything starts: its status and JSON. */
describe('CLI fs get: a path whose last part names no file', () => {
  // `fs get /d/f/.` took "." for the file's name: it wrote the whole file as
  // `../.<cwd>.execd-….part` beside the current directory, then failed renaming it over that
  // directory with "execd: …/.<cwd>.execd-….part: is a directory" (exit 1).
  let here: string
  let remote: string
  beforeAll(() => {
    here = join(fx.tmp, 'cli', 'here')
    remote = join(fx.tmp, 'cli', 'remote')
    mkdirSync(here, { recursive: true })
    mkdirSync(join(remote, 'sub'), { recursive: true })
    writeFileSync(join(remote, 'f.txt'), 'bytes\n')
  })
  const get = (...args: string[]) => runCliSync(['fs', 'get', ...args], { cwd: here })

  test('d/f.txt/. and d/f.txt/sub/.. are f.txt, as the daemon reads them', () => {
    for (const path of [join(remote, 'f.txt') + '/.', join(remote, 'f.txt', 'x', '..')]) {
      rmSync(join(here, 'f.txt'), { force: true })
      const r = get(path)
      expect([r.code, r.stderr]).toEqual([0, ''])
      expect(readFileSync(join(here, 'f.txt'), 'utf8')).toBe('bytes\n')
    }
    expect(readdirSync(join(fx.tmp, 'cli')).sort()).toEqual(['here', 'remote'])
  })

  test('a directory where the file would go: exit 1 (it is in the way, as cp says), one line, nothing written anywhere', () => {
    // It was found by the rename, after the whole file had been written beside it under a
    // temporary name, which the error then named.
    mkdirSync(join(here, 'into', 'taken.txt'), { recursive: true })
    writeFileSync(join(remote, 'taken.txt'), 'x')
    const r = get(join(remote, 'taken.txt'), 'into')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`execd: ${join(here, 'into', 'taken.txt')} is a directory: give a destination file\n`)
    expect(readdirSync(join(here, 'into', 'taken.txt'))).toEqual([])
    expect(readdirSync(join(here, 'into'))).toEqual(['taken.txt'])
  })

  test('a path whose last part is .. or / is refused before anything is asked', () => {
    for (const path of ['/', '..', '../..', 'sub/../..']) {
      const r = get(path)
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(`execd: cannot name a local file after ${JSON.stringify(path)}: give a destination\n`)
    }
  })
})

describe('a file named __proto__ is in the answers that are keyed by path', () => {
  // The answer's map was a plain object: assigning the key "__proto__" set its prototype, so
  // GET /files/info?path=__proto__ answered 200 {} and `fs stat __proto__` printed nothing (exit 0).
  let dir: string
  beforeAll(() => {
    dir = join(fx.tmp, 'proto')
    mkdirSync(dir)
    writeFileSync(join(dir, '__proto__'), 'p')
    writeFileSync(join(dir, 'other'), 'o')
  })

  test("GET /files/info (the path relative to the daemon's directory)", async () => {
    const here = await startDaemon({ cwd: dir })
    try {
      const res = await here.fetch('/files/info?path=__proto__&path=other')
      expect(res.status).toBe(200)
      const text = await res.text()
      const info = JSON.parse(text)
      expect(Object.keys(info).sort()).toEqual(['__proto__', 'other'])
      expect(info.__proto__).toMatchObject({ path: join(dir, '__proto__'), size: 1 })
    } finally {
      await here.stop()
    }
  })

  test('CLI fs stat', () => {
    const r = runCliSync(['fs', 'stat', '--json', '__proto__', 'other'], { cwd: dir })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(join(dir, '__proto__'))
    expect(r.stdout).toContain(join(dir, 'other'))
  })
})

describe('an upload naming one file twice is a 400, nothing written', () => {
  // Both parts were staged and renamed in turn: the first file's bytes were replaced by the
  // second's and the answer was a 200 for both.
  test('the same path, and /d/./f beside /d/f', async () => {
    const dir = join(fx.tmp, 'twice')
    mkdirSync(dir)
    writeFileSync(join(dir, 'f'), 'before')
    for (const second of [join(dir, 'f'), `${dir}/./f`]) {
      const form = new FormData()
      form.append('metadata', new Blob([JSON.stringify({ path: join(dir, 'f') })]), 'metadata')
      form.append('file', new Blob(['first']), 'f')
      form.append('metadata', new Blob([JSON.stringify({ path: second })]), 'metadata')
      form.append('file', new Blob(['second']), 'f')
      const r = await refused(await fx.d.fetch('/files/upload', { method: 'POST', body: form }))
      expect(r).toMatchObject({ status: 400, code: 'INVALID_FILE_METADATA' })
      expect(r.message).toContain(`the same file twice in one upload: ${second}`)
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('before')
      expect(readdirSync(dir)).toEqual(['f'])
    }
  })
})
