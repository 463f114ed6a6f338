/** `execd fs`: the files section's operations from the command line, through dist/execd. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, runCli, runCliSync, type CliOptions } from './harness'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'execd-cli-fs-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const fs = (args: string[], opts: CliOptions = {}) => runCliSync(['fs', ...args], { cwd: dir, ...opts })
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

describe('fs get never harms its source', () => {
  test('in the file’s own directory, as `f f`, and by its absolute path: the file keeps every byte', () => {
    const file = join(dir, 'self.bin')
    writeFileSync(file, Buffer.alloc(4 << 20, 7))
    const before = sha(file)
    // The truncation was a race lost in 30-80% of runs: several runs of each form.
    for (let i = 0; i < 5; i++) {
      for (const args of [
        ['get', 'self.bin'],
        ['get', 'self.bin', 'self.bin'],
        ['get', file],
      ]) {
        const r = fs(args)
        expect([args, r.code, r.stderr]).toEqual([args, 0, ''])
        expect(statSync(file).size).toBe(4 << 20)
      }
    }
    expect(sha(file)).toBe(before)
    // No temporary file is left beside it.
    expect(readdirSync(dir).filter(n => n.includes('execd-'))).toEqual([])
  })

  test('into a directory it writes the source’s name there; - writes stdout', () => {
    writeFileSync(join(dir, 'src.txt'), 'hello\n')
    mkdirSync(join(dir, 'into'), { recursive: true })
    expect(fs(['get', 'src.txt', 'into']).code).toBe(0)
    expect(readFileSync(join(dir, 'into', 'src.txt'), 'utf8')).toBe('hello\n')
    expect(fs(['get', 'src.txt', '-']).stdout).toBe('hello\n')
  })

  test('a missing source leaves the destination as it was', () => {
    writeFileSync(join(dir, 'keep.txt'), 'kept')
    const r = fs(['get', 'no-such-file', 'keep.txt'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('execd: open no-such-file: no such file or directory\n')
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('kept')
  })
})

test('fs rm of a directory among files: one line naming it and rmdir, exit 1, nothing removed', () => {
  // The wire's `error removing file d. path is a directory: d` came after `f` was gone.
  mkdirSync(join(dir, 'rm-dir'), { recursive: true })
  writeFileSync(join(dir, 'rm-file'), 'kept')
  expect(fs(['rm', 'rm-file', 'rm-dir'])).toEqual({
    code: 1,
    stdout: '',
    stderr: 'execd: rm-dir: is a directory (execd fs rmdir deletes directories)\n',
  })
  expect(readFileSync(join(dir, 'rm-file'), 'utf8')).toBe('kept')
})

describe('usage errors exit 2 with one plain line', () => {
  test.each([
    [['ls', '-d', 'x'], "execd: --depth expects levels from 0 to 100000, got 'x'\n"],
    [['chmod', '999', 'f'], "execd: invalid mode '999': octal digits expected (e.g. 755 or 644)\n"],
    [['mkdir', 'd', '-m', 'rwx'], "execd: invalid mode 'rwx': octal digits expected (e.g. 755 or 644)\n"],
    [['frob'], "execd: unknown fs operation 'frob' (see execd fs --help)\n"],
    [['ls', '--frob'], "execd: unknown option '--frob' (see execd fs ls --help)\n"],
    [['stat'], 'execd: missing argument: execd fs stat <...path> (see execd fs stat --help)\n'],
    // As serve says it: fs said Node's "ENOENT: …, lstat '/x'" (exit 1) and took a file as its root.
    [['--root', '/nonexistent-root', 'ls', '/'], 'execd: --root /nonexistent-root: no such file or directory\n'],
    [['--root', '/etc/hostname', 'ls', '/'], 'execd: --root /etc/hostname: not a directory\n'],
  ])('fs %p', (args, stderr) => {
    expect(fs(args)).toEqual({ code: 2, stdout: '', stderr })
  })

  test('a local file that cannot be read is one line naming it, no stack', () => {
    const r = fs(['put', 'missing.txt', 'out'])
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'execd: missing.txt: no such file or directory\n' })
  })

  test('--json keeps the structured error', () => {
    const r = fs(['stat', 'nope', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stderr)).toMatchObject({ code: 'FILE_NOT_FOUND' })
  })
})

describe('a failure is said as what it is (sixteenth pass; the CLI fuzz noticed each)', () => {
  test('stat of several paths prints those there and names the missing one, exit 1', () => {
    writeFileSync(join(dir, 'there.txt'), 'x')
    const r = fs(['stat', 'there.txt', 'not-there'])
    // It printed nothing for there.txt.
    expect(r.stdout).toContain(`path      ${join(dir, 'there.txt')}\n`)
    expect(r.stderr).toBe('execd: file not found: not-there: lstat not-there: no such file or directory\n')
    expect(r.code).toBe(1)
    const json = fs(['stat', '--json', 'not-there', 'there.txt'])
    expect(Object.keys(JSON.parse(json.stdout))).toEqual(['there.txt'])
    expect(json.code).toBe(1)
  })

  test('a reversed or malformed --range is a usage error (2); one past the end is the file’s (1)', () => {
    writeFileSync(join(dir, 'ten.txt'), '0123456789')
    expect(fs(['cat', '--range', '5-2', 'ten.txt'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'execd: --range 5-2: the end is before the start\n',
    })
    expect(fs(['cat', '--range', 'abc', 'ten.txt']).code).toBe(2)
    expect(fs(['cat', '--range', '50-60', 'ten.txt']).code).toBe(1)
    expect(fs(['cat', '--range', '2-4', 'ten.txt'])).toEqual({ code: 0, stdout: '234', stderr: '' })
  })

  test('mkdir where a file is in the way exits 1 naming it, not as a usage error', () => {
    writeFileSync(join(dir, 'in-the-way'), '')
    for (const path of ['in-the-way', 'in-the-way/sub']) {
      expect(fs(['mkdir', path])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'execd: error accessing file: mkdir in-the-way: not a directory\n',
      })
    }
  })
})

describe('--', () => {
  // The fuzz of the CLI (spec/fuzz/cli-cases.ts): cac put the words after `--` in no operand,
  // so `stat -- -x` was "missing argument" and `ls -- -x` listed the current directory.
  test('the words after it are operands: names that start with - are reachable', () => {
    writeFileSync(join(dir, '-x'), 'dash\n')
    expect(fs(['cat', '--', '-x'])).toEqual({ code: 0, stdout: 'dash\n', stderr: '' })
    mkdirSync(join(dir, '-d'))
    writeFileSync(join(dir, '-d', 'in-dash-dir'), '')
    const listed = fs(['ls', '--', '-d'])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain('in-dash-dir')
    expect(listed.stdout).not.toContain('keep.txt')
    const stat = fs(['stat', '--', '--json'])
    expect(stat.code).toBe(1)
    expect(stat.stderr).toContain('lstat --json: no such file or directory')
  })

  test('exec takes its code after it', () => {
    const r = runCliSync(['exec', 'bash', '--', 'echo -n ok'], { cwd: dir })
    expect(r).toEqual({ code: 0, stdout: 'ok', stderr: '' })
  })
})

describe('help', () => {
  test('fs --help lists every operation; fs ls --help describes ls', () => {
    const all = fs(['--help'])
    expect(all.code).toBe(0)
    for (const op of ['ls', 'stat', 'cat', 'get', 'put', 'rm', 'rmdir', 'mv', 'mkdir', 'chmod', 'search', 'replace'])
      expect(all.stdout).toMatch(new RegExp(`^  ${op} `, 'm'))
    const ls = fs(['ls', '--help'])
    expect(ls.code).toBe(0)
    expect(ls.stdout).toContain('$ execd fs ls [path]')
    expect(ls.stdout).toContain('--depth')
    expect(ls.stderr).toBe('')
  })
})

describe('one output convention', () => {
  test('changes are silent, one line each with -v, JSON with --json; put - reads stdin', () => {
    expect(fs(['put', '-', 'conv.txt'], { stdin: 'abc' })).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(fs(['put', '-', 'conv.txt', '-v'], { stdin: 'abcd' }).stdout).toBe(
      `${join(dir, 'conv.txt')}: 4 bytes written\n`,
    )
    expect(JSON.parse(fs(['replace', 'conv.txt', 'b', 'B', '--json']).stdout)).toEqual({
      path: 'conv.txt',
      replaced: 1,
    })
    expect(readFileSync(join(dir, 'conv.txt'), 'utf8')).toBe('aBcd')
    for (const args of [
      ['mv', 'conv.txt', 'conv2.txt'],
      ['chmod', '600', 'conv2.txt'],
      ['mkdir', 'm1'],
      ['rm', 'conv2.txt'],
    ])
      expect([args, fs(args)]).toEqual([args, { code: 0, stdout: '', stderr: '' }])
  })

  test('ls and stat print times alike: UTC to the second', () => {
    writeFileSync(join(dir, 'when.txt'), 'x')
    const ls = fs(['ls'])
      .stdout.split('\n')
      .find(l => l.endsWith('when.txt'))!
    const lsTime = ls.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/)?.[0]
    const stat = fs(['stat', 'when.txt']).stdout
    expect(lsTime).toBeDefined()
    expect(stat).toContain(`modified  ${lsTime}\n`)
  })

  test('rmdir refuses a non-empty directory unless -r', () => {
    mkdirSync(join(dir, 'full', 'sub'), { recursive: true })
    writeFileSync(join(dir, 'full', 'sub', 'f'), 'x')
    const r = fs(['rmdir', 'full'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('execd: full: directory not empty (-r deletes it all)\n')
    expect(existsSync(join(dir, 'full', 'sub', 'f'))).toBe(true)
    mkdirSync(join(dir, 'empty'))
    expect(fs(['rmdir', 'empty']).code).toBe(0)
    expect(existsSync(join(dir, 'empty'))).toBe(false)
    expect(fs(['rmdir', '-r', 'full']).code).toBe(0)
    expect(existsSync(join(dir, 'full'))).toBe(false)
  })
})

describe('pipes and signals', () => {
  test('fs cat big | head ends quietly with 141', () => {
    writeFileSync(join(dir, 'big.txt'), 'line\n'.repeat(2_000_000))
    const p = Bun.spawnSync(
      ['bash', '-c', `timeout 30 ${BIN} fs cat big.txt | head -1; echo "status \${PIPESTATUS[0]}"`],
      {
        cwd: dir,
        stderr: 'pipe',
      },
    )
    expect(p.stdout.toString()).toBe('line\nstatus 141\n')
    expect(p.stderr.toString()).toBe('')
  })

  test('SIGTERM during put from stdin stops it: 143, no staged file left, the destination untouched', async () => {
    writeFileSync(join(dir, 'target.txt'), 'old')
    const p = Bun.spawn([BIN, 'fs', 'put', '-', 'target.txt'], { cwd: dir, stdin: 'pipe', stderr: 'pipe' })
    p.stdin.write(Buffer.alloc(256 << 10, 1))
    await p.stdin.flush()
    // The staged file appears once the first bytes are written.
    const staged = () => readdirSync(dir).filter(n => n.startsWith('.target.txt'))
    while (staged().length === 0) await Bun.sleep(20)
    p.kill('SIGTERM')
    expect(await p.exited).toBe(143)
    expect(await new Response(p.stderr).text()).toBe('')
    expect(staged()).toEqual([])
    expect(readFileSync(join(dir, 'target.txt'), 'utf8')).toBe('old')
  })
})

test('an fs verb in a directory of its own makes no temp dir it leaves behind', async () => {
  const before = new Set(readdirSync(tmpdir()))
  await runCli(['fs', 'ls', dir])
  expect(readdirSync(tmpdir()).filter(n => !before.has(n) && n.startsWith('execd-'))).toEqual([])
})

// A container may run execd as a user with no passwd entry and no HOME: only `~` needs a home.
const asNobodyWithoutHome = process.getuid?.() === 0 && Bun.which('setpriv') !== null
test.skipIf(!asNobodyWithoutHome)(
  'with no HOME and no passwd entry, fs works on every path but ~, which says why',
  () => {
    const open = join(dir, 'open')
    mkdirSync(open, { mode: 0o755 })
    writeFileSync(join(open, 'a.txt'), 'a')
    chmodSync(dir, 0o755)
    const run = (path: string) =>
      Bun.spawnSync(['setpriv', '--reuid', '54321', '--regid', '54321', '--clear-groups', BIN, 'fs', 'ls', path], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: '/',
      })
    const listed = run(open)
    expect([listed.exitCode, listed.stderr.toString()]).toEqual([0, ''])
    expect(listed.stdout.toString()).toContain('a.txt')
    const home = run('~')
    expect(home.exitCode).not.toBe(0)
    expect(home.stderr.toString()).toBe('execd: cannot expand ~: no HOME is set and the user has no passwd entry\n')
  },
)

describe('fs rm of a path not there', () => {
  test('says file not found and exits 1, as rmdir does, removing none of the others (-v claimed `removed nope`)', () => {
    writeFileSync(join(dir, 'rm-kept.txt'), 'x')
    const r = fs(['rm', '-v', 'rm-kept.txt', 'nope'])
    expect([r.code, r.stdout, r.stderr]).toEqual([
      1,
      '',
      'execd: file not found: nope: lstat nope: no such file or directory\n',
    ])
    expect(existsSync(join(dir, 'rm-kept.txt'))).toBe(true)
  })
})

test('fs put of a directory names it, exit 1 (as cat says it), nothing written', () => {
  // It said only "execd: is a directory" (exit 1): the read's error carries no path.
  const src = mkdtempSync(join(dir, 'put-src-'))
  const dest = join(dir, 'put-dest')
  const r = runCliSync(['fs', 'put', src, dest])
  expect(r.stderr).toBe(`execd: ${src}: is a directory\n`)
  expect(r.code).toBe(1)
  expect(() => lstatSync(dest)).toThrow()
})
