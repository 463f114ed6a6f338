/**
 * A name whose bytes are not UTF-8, typed as the shell passes it (`$'b\xff.t'`): every path of
 * `execd fs` is named by its exact bytes, here and with --url (path_base64). The runtime decodes
 * argv (each stray byte a U+FFFD), so these reached execd as another name.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, startDaemon, type Daemon } from './harness'

let daemon: Daemon
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'execd-cli-fs-bytes-'))
  // Its relative paths are this directory's, as they are here.
  daemon = await startDaemon({ cwd: dir })
})
afterAll(async () => {
  await daemon.stop()
  rmSync(dir, { recursive: true, force: true })
})

const bytes = (text: string) => Buffer.from(text, 'latin1')
const names = () => readdirSync(dir, { encoding: 'buffer' }).map(n => n.toString('latin1'))

/** `execd fs <script>` run by bash in `dir`, so `$'\xff'` is bytes as a person types them. */
function fs(script: string, remote: boolean) {
  const env: Record<string, string | undefined> = { ...process.env, EXECD_URL: '', EXECD_ACCESS_TOKEN: '' }
  if (remote) Object.assign(env, { EXECD_URL: daemon.url, EXECD_ACCESS_TOKEN: daemon.token })
  const r = Bun.spawnSync(['bash', '-c', `"$0" fs ${script}`, BIN], { cwd: dir, env })
  return { code: r.exitCode, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString() }
}

for (const remote of [false, true]) {
  describe(remote ? 'with --url' : 'here', () => {
    test('stat, cat, get, mv and rm name the file by its bytes', () => {
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), bytes('b\xff.t')]), 'bytes\n')
      // A name that decodes the same (U+FFFD) is another file: it must not be the one found.
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), bytes('b\xfe.t')]), 'other\n')
      const stat = fs(`stat --json $'b\\xff.t'`, remote)
      expect(stat.code).toBe(0)
      expect(Object.values(JSON.parse(stat.stdout))).toMatchObject([
        { path: `${dir}/b\\xff.t`, path_base64: bytes(`${dir}/b\xff.t`).toString('base64'), size: 6 },
      ])
      expect(fs(`cat $'b\\xff.t'`, remote)).toEqual({ code: 0, stdout: 'bytes\n', stderr: '' })
      expect(fs(`get $'b\\xff.t' got.t`, remote).code).toBe(0)
      expect(readFileSync(join(dir, 'got.t'), 'utf8')).toBe('bytes\n')
      expect(fs(`mv -v $'b\\xff.t' $'c\\xfd.t'`, remote)).toEqual({
        code: 0,
        stdout: 'b\\xff.t -> c\\xfd.t\n',
        stderr: '',
      })
      expect(names()).toContain('c\xfd.t')
      expect(names()).not.toContain('b\xff.t')
      expect(fs(`rm -v -- $'c\\xfd.t'`, remote)).toEqual({ code: 0, stdout: 'removed c\\xfd.t\n', stderr: '' })
      rmSync(join(dir, 'got.t'))
      expect(names()).toEqual(['b\xfe.t'])
      rmSync(Buffer.concat([Buffer.from(`${dir}/`), bytes('b\xfe.t')]))
    })

    test('mixed names are answered in the order typed', () => {
      for (const name of ['a.t', 'b\xff.t', 'c.t'])
        writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), bytes(name)]), name)
      // --url sent every `path` before every `path_base64`: c.t, a.t, then b\xff.t.
      const stat = fs(`stat --json c.t $'b\\xff.t' a.t`, remote)
      expect(stat.code).toBe(0)
      expect(Object.keys(JSON.parse(stat.stdout))).toEqual(['c.t', 'b\\xff.t', 'a.t'])
      // The first missing one is the one said, and nothing is removed.
      const rm = fs(`rm $'n\\xff.t' n.t a.t`, remote)
      expect(rm.code).toBe(1)
      expect(rm.stderr).toContain('n\\xff.t')
      expect(names().sort()).toEqual(['a.t', 'b\xff.t', 'c.t'])
      for (const name of names()) rmSync(Buffer.concat([Buffer.from(`${dir}/`), bytes(name)]))
    })

    test('get writes to a name that is not UTF-8, given or taken from the source', () => {
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), bytes('b\xff.t')]), 'bytes\n')
      // Refused with exit 2: "cannot name a local file …: its bytes are not UTF-8".
      expect(fs(`get -v $'b\\xff.t' $'g\\xfe.t'`, remote)).toEqual({
        code: 0,
        stdout: `${dir}/g\\xfe.t: 6 bytes\n`,
        stderr: '',
      })
      // Into a directory, under the source's own name (a full path: the daemon's directory is dir).
      mkdirSync(join(dir, 'sub'))
      expect(fs(`get "$PWD"/$'b\\xff.t' sub`, remote)).toEqual({ code: 0, stdout: '', stderr: '' })
      expect(readFileSync(Buffer.concat([Buffer.from(`${dir}/`), bytes('g\xfe.t')]), 'utf8')).toBe('bytes\n')
      expect(readFileSync(Buffer.concat([Buffer.from(`${dir}/sub/`), bytes('b\xff.t')]), 'utf8')).toBe('bytes\n')
      rmSync(join(dir, 'sub'), { recursive: true })
      for (const name of names()) rmSync(Buffer.concat([Buffer.from(`${dir}/`), bytes(name)]))
    })

    test('mkdir, chmod, replace, put, ls and rmdir too', () => {
      expect(fs(`mkdir -v $'d\\xfc'`, remote)).toEqual({ code: 0, stdout: 'created d\\xfc\n', stderr: '' })
      writeFileSync(join(dir, 'src.t'), 'one two\n')
      expect(fs(`put src.t $'d\\xfc/f\\xfb'`, remote).code).toBe(0)
      expect(fs(`chmod 600 $'d\\xfc/f\\xfb'`, remote).code).toBe(0)
      expect(fs(`replace --json $'d\\xfc/f\\xfb' one 1`, remote)).toEqual({
        code: 0,
        stdout: '{"path":"d\\\\xfc/f\\\\xfb","replaced":1}\n',
        stderr: '',
      })
      const file = Buffer.concat([Buffer.from(`${dir}/`), bytes('d\xfc/f\xfb')])
      expect(readFileSync(file, 'utf8')).toBe('1 two\n')
      expect(fs(`ls $'d\\xfc'`, remote).stdout).toMatch(/^-rw------- .*\/d\\xfc\/f\\xfb\n$/)
      expect(fs(`rmdir -r $'d\\xfc'`, remote).code).toBe(0)
      expect(names()).not.toContain('d\xfc')
      rmSync(join(dir, 'src.t'))
    })
  })
}
