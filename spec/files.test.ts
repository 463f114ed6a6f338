/** The files section through the compiled executable over real HTTP. */
import { describe, expect, test } from 'bun:test'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { BIN, postJson, startDaemon, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { hashBody, memoryOf, multipartStream, patternChunks, sha256Of } from './files-transfer'

const fx = daemonWithDir('files')
const q = encodeURIComponent
const temps = (where: string) =>
  readdirSync(where, { recursive: true })
    .map(String)
    .filter(n => n.includes('.execd-tmp-'))

describe('files over HTTP', () => {
  test('a success with no payload is 200 with Content-Length: 0', async () => {
    writeFileSync(join(fx.tmp, 'gone'), '')
    const res = await fx.d.fetch(`/files?path=${q(join(fx.tmp, 'gone'))}`, { method: 'DELETE' })
    expect([
      res.status,
      res.headers.get('content-length'),
      res.headers.get('transfer-encoding'),
      await res.text(),
    ]).toEqual([200, '0', null, ''])
  })

  test('HEAD and GET of a download carry the same headers; HEAD has no body', async () => {
    writeFileSync(join(fx.tmp, 'h.txt'), 'hello')
    const head = await fx.d.fetch(`/files/download?path=${q(join(fx.tmp, 'h.txt'))}`, { method: 'HEAD' })
    const get = await fx.d.fetch(`/files/download?path=${q(join(fx.tmp, 'h.txt'))}`)
    for (const h of ['content-length', 'content-type', 'content-disposition', 'accept-ranges', 'last-modified']) {
      expect(head.headers.get(h)).toBe(get.headers.get(h))
    }
    expect(head.headers.get('content-length')).toBe('5')
    expect(await head.text()).toBe('')
    expect(await get.text()).toBe('hello')
  })

  test('a Range gives 206 and the bytes; an unsatisfiable one 416 JSON with Content-Range', async () => {
    writeFileSync(join(fx.tmp, 'r.bin'), '0123456789')
    const part = await fx.d.fetch(`/files/download?path=${q(join(fx.tmp, 'r.bin'))}`, {
      headers: { range: 'bytes=-4' },
    })
    expect([
      part.status,
      part.headers.get('content-range'),
      part.headers.get('content-length'),
      await part.text(),
    ]).toEqual([206, 'bytes 6-9/10', '4', '6789'])
    const bad = await fx.d.fetch(`/files/download?path=${q(join(fx.tmp, 'r.bin'))}`, {
      headers: { range: 'bytes=50-60' },
    })
    expect([bad.status, bad.headers.get('content-range'), bad.headers.get('content-type')]).toEqual([
      416,
      'bytes */10',
      'application/json; charset=utf-8',
    ])
    expect((await bad.json()).code).toBe('RANGE_NOT_SATISFIABLE')
  })

  test('a 64 MiB streamed upload and download are byte-identical, with execd memory bounded', async () => {
    const size = 64 * 1024 * 1024
    const expected = sha256Of(patternChunks(size))
    const target = join(fx.tmp, 'big/64mib.bin')
    const before = memoryOf(fx.d.proc.pid)
    const res = await fx.d.fetch('/files/upload', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=spec-b' },
      body: multipartStream('spec-b', [{ meta: { path: target }, chunks: () => patternChunks(size) }]),
      // @ts-expect-error Bun's fetch types lack duplex
      duplex: 'half',
    })
    expect(res.status).toBe(200)
    expect(statSync(target).size).toBe(size)
    const [n, sha] = await hashBody(await fx.d.fetch(`/files/download?path=${q(target)}`))
    expect([n, sha]).toEqual([size, expected])
    const after = memoryOf(fx.d.proc.pid)
    console.log(
      `64 MiB round trip: execd VmRSS ${before.rss.toFixed(1)} → ${after.rss.toFixed(1)} MiB, VmHWM ${before.hwm.toFixed(1)} → ${after.hwm.toFixed(1)} MiB`,
    )
    // Holding the file would add 64 MiB or more; streaming adds a few buffers.
    expect(after.hwm - before.hwm).toBeLessThan(48)
    expect(temps(fx.tmp)).toEqual([])
  })

  test('a client killed mid-upload leaves the previous file intact and no temp file', async () => {
    const target = join(fx.tmp, 'victim.bin')
    writeFileSync(target, 'the previous content')
    const url = new URL(fx.d.url)
    const body = `--kb\r\nContent-Disposition: form-data; name="metadata"; filename="metadata"\r\n\r\n${JSON.stringify({ path: target })}\r\n--kb\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n`
    const socket = await Bun.connect({ hostname: url.hostname, port: Number(url.port), socket: { data() {} } })
    socket.write(
      `POST /files/upload HTTP/1.1\r\nHost: ${url.host}\r\nX-EXECD-ACCESS-TOKEN: ${fx.d.token}\r\n` +
        `Content-Type: multipart/form-data; boundary=kb\r\nContent-Length: ${body.length + 10_000_000}\r\n\r\n${body}`,
    )
    socket.write(new Uint8Array(1_000_000).fill(65))
    // Wait until execd has started writing the temp file, then cut the connection.
    for (let i = 0; i < 400 && temps(fx.tmp).length === 0; i++) await Bun.sleep(10)
    expect(temps(fx.tmp).length).toBe(1)
    socket.terminate()
    for (let i = 0; i < 500 && temps(fx.tmp).length > 0; i++) await Bun.sleep(10)
    expect(temps(fx.tmp)).toEqual([])
    expect(readFileSync(target, 'utf8')).toBe('the previous content')
    // And the daemon is still fine.
    expect((await fx.d.fetch('/ping')).status).toBe(200)
  })

  test('replace, mv, permissions and list through the executable', async () => {
    writeFileSync(join(fx.tmp, 'cfg.ini'), 'debug=false\n')
    const rep = await postJson(fx.d, '/files/replace?verbose=true', {
      [join(fx.tmp, 'cfg.ini')]: { old: 'false', new: 'true' },
    })
    expect(await rep.json()).toEqual({ [join(fx.tmp, 'cfg.ini')]: { replacedCount: 1 } })
    expect(
      (await postJson(fx.d, '/files/mv', [{ src: join(fx.tmp, 'cfg.ini'), dest: join(fx.tmp, 'etc/cfg.ini') }])).status,
    ).toBe(200)
    expect((await postJson(fx.d, '/files/permissions', { [join(fx.tmp, 'etc/cfg.ini')]: { mode: 600 } })).status).toBe(
      200,
    )
    const list = await (await fx.d.fetch(`/directories/list?path=${q(join(fx.tmp, 'etc'))}`)).json()
    expect(list).toMatchObject([{ path: join(fx.tmp, 'etc/cfg.ini'), type: 'file', mode: 600, size: 11 }])
  })

  test('moves racing on one destination: one moves, the other is refused as onto an existing path', async () => {
    // The check that the destination is free and the rename were apart: both moves answered
    // 200 and the first source moved was replaced by the second (41 runs of 67).
    const race = join(fx.tmp, 'race-mv')
    mkdirSync(race)
    for (let i = 0; i < 150; i++) {
      const [a, b, dest] = ['a', 'b', 'dest'].map(n => join(race, `${n}${i}`)) as [string, string, string]
      writeFileSync(a, 'a')
      writeFileSync(b, 'b')
      const answers = await Promise.all(
        [a, b].map(async src => {
          const res = await postJson(fx.d, '/files/mv', [{ src, dest }])
          return { status: res.status, body: await res.text() }
        }),
      )
      const moved = answers.filter(r => r.status === 200)
      const refused = answers.filter(r => r.status === 400)
      expect({ i, moved: moved.length, refused: refused.length }).toEqual({ i, moved: 1, refused: 1 })
      expect(refused[0]?.body).toContain('destination path already exists')
      // Nothing lost: the destination holds one source, the other is where it was.
      const left = [a, b].filter(p => existsSync(p)).map(p => readFileSync(p, 'utf8'))
      expect({ i, all: [readFileSync(dest, 'utf8'), ...left].sort() }).toEqual({ i, all: ['a', 'b'] })
    }
  })

  test('a directory a mkdir answered 200 for stays when the upload that made it fails', async () => {
    // The failed upload removes the directories it made for its file: a mkdir of one of them
    // in the meantime had answered 200, and the directory was gone a moment later.
    const made = join(fx.tmp, 'claimed', 'dir')
    const enc = new TextEncoder()
    let send!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: c => void (send = c) })
    const meta = JSON.stringify({ path: join(made, 'f') })
    send.enqueue(
      enc.encode(
        `--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${meta}\r\n` +
          `--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\npartial`,
      ),
    )
    const headers = { 'content-type': 'multipart/form-data; boundary=b' }
    const upload = fx.d.fetch('/files/upload', { method: 'POST', headers, body })
    await waitFor('the upload to make its directories', () => existsSync(made))
    expect((await postJson(fx.d, '/directories', { [made]: { mode: 755 } })).status).toBe(200)
    send.close() // no closing boundary: the upload fails
    expect((await upload).status).toBe(400)
    expect(readdirSync(made)).toEqual([])
    expect(statSync(made).isDirectory()).toBe(true)
  })
})

describe('serve options', () => {
  test('~ is HOME for files paths and working directories alike, with or without a trailing slash', async () => {
    const home = join(fx.tmp, 'home')
    mkdirSync(join(home, 'sub'), { recursive: true })
    writeFileSync(join(home, 'f'), 'x')
    for (const HOME of [home, `${home}/`]) {
      const h = await startDaemon({ env: { HOME }, cwd: fx.tmp })
      try {
        const info = await (await h.fetch(`/files/info?path=${q('~/f')}&path=${q('~')}`)).json()
        expect(Object.keys(info).sort()).toEqual(['~', '~/f'])
        expect(info['~/f']).toMatchObject({ path: join(home, 'f'), size: 1 })
        expect(info['~']).toMatchObject({ path: home })
        // ~user is a name like any other, relative to the working directory
        expect((await h.fetch(`/files/info?path=${q('~nobody/f')}`)).status).toBe(404)
        const pwd = await postJson(h, '/command', { command: 'pwd', cwd: '~/sub' })
        expect(await pwd.text()).toContain(`"text":"${join(home, 'sub')}"`)
      } finally {
        await h.stop()
      }
    }
  })

  test('--root confines paths (symlinks included) and --max-upload-bytes answers 413 JSON', async () => {
    const root = join(fx.tmp, 'jail')
    mkdirSync(root)
    symlinkSync('/etc', join(root, 'etc-link'))
    const j = await startDaemon({ args: ['--root', root], env: { EXECD_MAX_UPLOAD_BYTES: '4096' } })
    try {
      const esc = await j.fetch(`/files/download?path=${q('etc-link/hostname')}`)
      expect([esc.status, (await esc.json()).code]).toEqual([400, 'INVALID_REQUEST_BODY'])
      const out = await j.fetch(`/files/info?path=${q('/etc/hostname')}`)
      expect(out.status).toBe(400)
      const big = await j.fetch('/files/upload', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        body: multipartStream('b', [{ meta: { path: 'x.bin' }, chunks: () => patternChunks(100_000, 10_000) }]),
        // @ts-expect-error Bun's fetch types lack duplex
        duplex: 'half',
      })
      expect([big.status, (await big.json()).code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
      expect(existsSync(join(root, 'x.bin'))).toBe(false)
      expect(temps(root)).toEqual([])
      const ok = await j.fetch('/files/upload', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
        body: multipartStream('b', [
          { meta: { path: 'small.txt' }, chunks: () => [new TextEncoder().encode('small')] },
        ]),
        // @ts-expect-error Bun's fetch types lack duplex
        duplex: 'half',
      })
      expect(ok.status).toBe(200)
      expect(readFileSync(join(root, 'small.txt'), 'utf8')).toBe('small')
    } finally {
      await j.stop()
    }
  })

  test('serve --help lists the files options', async () => {
    const out = Bun.spawnSync([BIN, 'serve', '--help']).stdout.toString()
    expect(out).toContain('--root')
    expect(out).toContain('EXECD_ROOT')
    expect(out).toContain('--max-upload-bytes')
  })
})

describe('execd fs', () => {
  const fs = (args: string[], stdin?: string) => {
    const r = Bun.spawnSync([BIN, 'fs', ...args], {
      cwd: fx.tmp,
      stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    })
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
  }
  test('put from stdin, cat with a range, stat, ls, search, replace, mv, chmod, rm, rmdir', () => {
    expect(fs(['put', '-', 'cli/a.txt', '--mode', '0640'], 'hello cli\n').code).toBe(0)
    expect(fs(['cat', 'cli/a.txt', '--range', '0-4']).out).toBe('hello')
    expect(fs(['cat', 'cli/a.txt', '--offset', '1', '--limit', '1']).out).toBe('hello cli\n')
    const stat = JSON.parse(fs(['stat', 'cli/a.txt', '--json']).out)
    expect(stat['cli/a.txt']).toMatchObject({ type: 'file', size: 10, mode: 640 })
    expect(fs(['ls', 'cli']).out).toMatch(
      /^-rw-r-----\s+root\s+root\s+10\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+.*cli\/a\.txt\n$/,
    )
    expect(JSON.parse(fs(['search', '.', '*.txt', '--json']).out).map((e: { path: string }) => e.path)).toContain(
      join(fx.tmp, 'cli/a.txt'),
    )
    // Changes are silent; -v says what each did (README, Command line).
    expect(fs(['replace', 'cli/a.txt', 'cli', 'CLI', '-v']).out).toBe('cli/a.txt: 1 replaced\n')
    expect(fs(['mv', 'cli/a.txt', 'cli/b.txt']).code).toBe(0)
    expect(fs(['chmod', '600', 'cli/b.txt']).code).toBe(0)
    expect(statSync(join(fx.tmp, 'cli/b.txt')).mode & 0o777).toBe(0o600)
    expect(fs(['get', 'cli/b.txt', 'copy.txt']).code).toBe(0)
    expect(readFileSync(join(fx.tmp, 'copy.txt'), 'utf8')).toBe('hello CLI\n')
    expect(fs(['mkdir', 'cli/x/y', '-m', '700']).code).toBe(0)
    expect(statSync(join(fx.tmp, 'cli/x/y')).mode & 0o777).toBe(0o700)
    expect(fs(['rm', 'cli/b.txt', 'copy.txt']).code).toBe(0)
    expect(fs(['rmdir', 'cli']).code).toBe(1) // not empty: refused without -r
    expect(fs(['rmdir', '-r', 'cli']).code).toBe(0)
    expect(existsSync(join(fx.tmp, 'cli'))).toBe(false)
  })
  test('errors exit 1 with the code, usage errors exit 2', () => {
    const missing = fs(['cat', 'nope.txt'])
    expect([missing.code, missing.err]).toEqual([
      1,
      // The path as written: a message never shows what it expanded or resolved to.
      'execd: open nope.txt: no such file or directory\n',
    ])
    expect(fs(['frobnicate']).code).toBe(2)
    expect(fs(['ls', '--no-such-flag']).code).toBe(2)
    expect(fs(['mv', 'only-one']).code).toBe(2)
  })
  const canDropPrivileges = process.getuid?.() === 0 && Bun.which('setpriv') !== null
  test.skipIf(!canDropPrivileges)(
    'as an unprivileged user, unreadable subdirectories are skipped by search and ls',
    () => {
      const tree = join(fx.tmp, 'perm-tree')
      mkdirSync(join(tree, 'locked'), { recursive: true })
      mkdirSync(join(tree, 'open'))
      writeFileSync(join(tree, 'open/a.txt'), '')
      writeFileSync(join(tree, 'locked/b.txt'), '')
      chmodSync(fx.tmp, 0o755)
      chmodSync(join(tree, 'locked'), 0o700)
      const asNobody = (args: string[]) => {
        const r = Bun.spawnSync(
          ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', BIN, 'fs', ...args, '--json'],
          { cwd: '/' },
        )
        return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
      }
      const search = asNobody(['search', tree, '*.txt'])
      expect(search.code).toBe(0)
      expect(JSON.parse(search.out).map((e: { path: string }) => e.path)).toEqual([join(tree, 'open/a.txt')])
      const ls = asNobody(['ls', tree, '-d', '3'])
      expect(ls.code).toBe(0)
      expect(JSON.parse(ls.out).map((e: { path: string }) => e.path)).toEqual([
        join(tree, 'locked'),
        join(tree, 'open'),
        join(tree, 'open/a.txt'),
      ])
      // The root itself unreadable is an error, not an empty answer.
      const root = asNobody(['ls', join(tree, 'locked')])
      expect(root.code).toBe(1)
      expect(root.err).toContain('permission denied')
    },
  )
  test('--root confines the CLI too', () => {
    const r = fs(['ls', '/etc', '--root', fx.tmp])
    // Refused for where it is, as a symlink out of the root would be: the work fails (1), not a
    // typo (2), which the CLI tells from the words alone.
    expect(r.code).toBe(1)
    expect(r.err).toContain('outside the root')
  })
})
