/** Issue 10 items of the files section, through the compiled executable. */
import { describe, expect, test } from 'bun:test'
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { postJson, runCliSync } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { memoryOf } from './files-transfer'

const fx = daemonWithDir('hardening', tmp => ({ env: { EXECD_SPEC_HARDENING_DIR: tmp } }))

const MiB = 1024 * 1024
const q = encodeURIComponent

function bytesAt(path: string, at: number, n: number): string {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(n)
    readSync(fd, buf, 0, n, at)
    return buf.toString()
  } finally {
    closeSync(fd)
  }
}

describe('files hardening', () => {
  test('replace streams: a 1 GiB file is rewritten with execd memory flat, mode kept, every match counted', async () => {
    const file = join(fx.tmp, 'sparse.bin')
    const size = 1024 * MiB
    const fd = openSync(file, 'w')
    writeSync(fd, 'NEEDLE at the start', 0)
    // One split across the streaming reads' 1 MiB boundary, one at the very end.
    writeSync(fd, 'NEEDLE', MiB - 3)
    closeSync(fd)
    truncateSync(file, size - 6)
    const tail = openSync(file, 'a')
    writeSync(tail, 'NEEDLE')
    closeSync(tail)
    chmodSync(file, 0o640)
    const before = memoryOf(fx.d.proc.pid).hwm
    const res = await postJson(fx.d, '/files/replace?verbose=true', { [file]: { old: 'NEEDLE', new: 'PIN' } })
    expect([res.status, await res.json()]).toEqual([200, { [file]: { replacedCount: 3 } }])
    const grown = memoryOf(fx.d.proc.pid).hwm - before
    console.log(`replace of 1 GiB: execd peak RSS grew by ${grown.toFixed(1)} MiB`)
    expect(grown).toBeLessThan(200)
    const s = statSync(file)
    expect([s.size, s.mode & 0o777]).toEqual([size - 9, 0o640])
    expect(bytesAt(file, 0, 16)).toBe('PIN at the start')
    expect(bytesAt(file, MiB - 6, 3)).toBe('PIN')
    expect(bytesAt(file, size - 12, 3)).toBe('PIN')
    expect(readdirSync(fx.tmp).filter(n => n.includes('.execd-tmp-'))).toEqual([])
    rmSync(file)
  }, 60_000)

  test('a large download (sent from the descriptor opened beneath the root) keeps Content-Length and Range', async () => {
    const file = join(fx.tmp, 'large.bin')
    const data = Buffer.alloc(6 * MiB, 'abcdefgh')
    await Bun.write(file, data)
    const whole = await fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`)
    expect(whole.headers.get('content-length')).toBe(String(data.length))
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true)
    const part = await fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`, {
      headers: { range: `bytes=${5 * MiB}-` },
    })
    expect([part.status, part.headers.get('content-length'), part.headers.get('content-range')]).toEqual([
      206,
      String(MiB),
      `bytes ${5 * MiB}-${6 * MiB - 1}/${6 * MiB}`,
    ])
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(5 * MiB))).toBe(true)
    rmSync(file)
  })

  test('an empty path is a 400 over HTTP, and never the working directory in the CLI', async () => {
    for (const [path, init] of [
      ['/files/info?path=', undefined],
      ['/directories?path=', { method: 'DELETE' }],
    ] as const) {
      const res = await fx.d.fetch(path, init)
      expect([res.status, (await res.json()).code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    }
    const cwd = join(fx.tmp, 'cwd')
    mkdirSync(cwd)
    const rm = runCliSync(['fs', 'rmdir', ''], { cwd })
    // A path refused as typed is a usage error (exit 2), as every 400 of an operation is in the CLI.
    expect(rm.code).toBe(2)
    expect(rm.stderr).toContain('invalid path: empty')
    expect(statSync(cwd).isDirectory()).toBe(true)
  })

  test('error messages name the path as written, not what $VAR expanded to', async () => {
    const res = await fx.d.fetch(`/files/info?path=${encodeURIComponent('x$PATH')}`)
    const body = await res.json()
    expect(res.status).toBe(404)
    expect(body.message).not.toContain(process.env.PATH!)
    expect(body.message).toContain('x$PATH')
  })

  test('list and search errors name the path as written, not what $VAR expanded to', async () => {
    const at = join(fx.tmp, 'expanded')
    mkdirSync(at)
    writeFileSync(join(at, 'f.txt'), '')
    symlinkSync(at, join(at, 'link'))
    const v = '$EXECD_SPEC_HARDENING_DIR/expanded'
    const cases: [string, number, string][] = [
      [`/directories/list?path=${q(`${v}/missing`)}`, 404, `lstat ${v}/missing: no such file or directory`],
      [`/directories/list?path=${q(`${v}/f.txt`)}`, 400, `path is not a directory: ${v}/f.txt`],
      [`/directories/list?path=${q(`${v}/link`)}`, 400, `path is a symbolic link, refusing to traverse: ${v}/link`],
      [`/files/search?path=${q(`${v}/missing`)}`, 404, `stat ${v}/missing: no such file or directory`],
    ]
    for (const [url, status, text] of cases) {
      const res = await fx.d.fetch(url)
      const body = (await res.json()) as { message: string }
      expect([url, res.status, body.message]).toEqual([url, status, expect.stringContaining(text)])
      expect(body.message).not.toContain(fx.tmp)
    }
  })

  test('a move of a missing source onto or into itself is the missing source (404), as the reference', async () => {
    // The batch's "into itself" check came first: a missing file moved onto itself was a 400.
    const gone = join(fx.tmp, 'never-made')
    const kept = join(fx.tmp, 'mv-kept')
    writeFileSync(kept, 'k')
    for (const dest of [gone, join(gone, 'inner')]) {
      const res = await postJson(fx.d, '/files/mv', [{ src: gone, dest }])
      const body = (await res.json()) as { code: string; message: string }
      expect([dest, res.status, body.code]).toEqual([dest, 404, 'FILE_NOT_FOUND'])
      expect(body.message).toStartWith(`file not found. source path not found: ${gone}: `)
    }
    // A source that is there still cannot go into itself, and nothing of the batch moved.
    const res = await postJson(fx.d, '/files/mv', [
      { src: kept, dest: join(fx.tmp, 'mv-moved') },
      { src: kept, dest: kept },
    ])
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([400, 'INVALID_REQUEST_BODY'])
    expect(readFileSync(kept, 'utf8')).toBe('k')
  })
})
