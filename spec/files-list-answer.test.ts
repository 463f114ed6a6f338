/**
 * The exact bytes of a listing's and a search's answer, through the executable, against what
 * python3 makes of the same tree on its own (os.lstat, pwd/grp, Go's RFC3339Nano written out
 * by hand): odd names (quotes, a newline, astral characters, bytes that are not UTF-8, 255
 * bytes), sizes (0, a sparse 1 TiB), kinds, modes, owners without a name, times before 1970
 * and nanoseconds with trailing zeros; more entries than one batch of the answer (256).
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { daemonWithDirAtLoad } from './kit/daemon-dir'

const fx = daemonWithDirAtLoad('answer')
const dir = fx.tmp
const python = process.env.EXECD_PYTHON || 'python3'
const q = encodeURIComponent

/** FileInfos of `root` to `depth` levels (files only for a search), depth-first, sorted by bytes. */
const ORACLE = String.raw`
import base64, datetime, grp, json, os, pwd, stat, sys
root, depth, files_only = os.fsencode(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1'
def name(ids, n):
    try: return ids(n)[0]
    except KeyError: return str(n)
def when(ns):
    sec, nsec = divmod(ns, 10**9)
    head = (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=sec)).strftime('%Y-%m-%dT%H:%M:%S')
    frac = ('%09d' % nsec).rstrip('0')
    return head + ('.' + frac if frac else '') + 'Z'
def kind(m):
    return 'symlink' if stat.S_ISLNK(m) else 'directory' if stat.S_ISDIR(m) else 'file' if stat.S_ISREG(m) else 'other'
out = []
def walk(at, level):
    for n in sorted(os.listdir(at)):
        p = at + b'/' + n
        s = os.lstat(p)
        if not (files_only and stat.S_ISDIR(s.st_mode)):
            info = {'path': p.decode('utf-8', 'backslashreplace'), 'type': kind(s.st_mode), 'size': s.st_size,
                    'modified_at': when(s.st_mtime_ns), 'created_at': when(s.st_ctime_ns),
                    'owner': name(pwd.getpwuid, s.st_uid), 'group': name(grp.getgrgid, s.st_gid),
                    'mode': int(oct(s.st_mode & 0o777)[2:])}
            try: p.decode('utf-8')
            except UnicodeDecodeError: info['path_base64'] = base64.b64encode(p).decode()
            out.append(info)
        if stat.S_ISDIR(s.st_mode) and level + 1 < depth: walk(p, level + 1)
walk(root, 0)
print(json.dumps(out))
`

/** The answer python3 computes, as JSON.stringify writes it (the daemon's own serializer). */
function expected(root: string, depth: number, filesOnly: boolean): string {
  const run = spawnSync(python, ['-c', ORACLE, root, String(depth), filesOnly ? '1' : '0'], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`oracle failed: ${run.stderr}`)
  return JSON.stringify(JSON.parse(run.stdout))
}

/** `root` filled with the odd cases, and `many` plain files to cross the answer's batches. */
function oddTree(root: string, many: number): void {
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true })
  const byte = (name: number[]) => Buffer.concat([Buffer.from(`${root}/`), Buffer.from(name)])
  for (const name of ['a "quoted" \\ name', 'new\nline', 'tab\there', '😀 astral', 'é', 'Z', '\u007f', 'x'.repeat(255)])
    writeFileSync(join(root, name), 'x')
  writeFileSync(byte([0x66, 0xff, 0x2e, 0x74]), '')
  writeFileSync(byte([0xe2, 0x82, 0x41]), 'ab')
  writeFileSync(join(root, 'sub', 'deeper', 'hidden'), '')
  writeFileSync(join(root, 'sparse'), '')
  truncateSync(join(root, 'sparse'), 2 ** 40 + 3)
  symlinkSync('a "quoted" \\ name', join(root, 'link'))
  spawnSync('mkfifo', [join(root, 'fifo')])
  writeFileSync(join(root, 'nobody-owns'), '')
  chownSync(join(root, 'nobody-owns'), 54_321, 54_321)
  writeFileSync(join(root, 'setuid'), '')
  chmodSync(join(root, 'setuid'), 0o4750)
  chmodSync(join(root, 'sub'), 0o700)
  const times: [string, bigint][] = [
    ['Z', -1_500_000_000n], // before 1970, with a fraction: 1969-12-31T23:59:58.5Z
    ['é', -1_000_000_000n],
    ['tab\there', 1_700_000_000_120_000_000n], // trailing zeros trimmed
    ['new\nline', 1_700_000_000_000_000_000n], // a whole second: no fraction
    ['\u007f', 1_700_000_000_000_000_001n],
  ]
  for (const [name, ns] of times) {
    const at = join(root, name)
    const script = 'import os,sys; os.utime(sys.argv[1], ns=(int(sys.argv[2]), int(sys.argv[2])))'
    const set = spawnSync(python, ['-c', script, at, String(ns)], { encoding: 'utf8' })
    if (set.status !== 0) throw new Error(`utime failed: ${set.stderr}`)
  }
  for (let i = 0; i < many; i++) writeFileSync(join(root, `n${String(i).padStart(4, '0')}`), 'y'.repeat(i % 7))
}

describe('a listing and a search answer byte for byte what python3 reads of the tree', () => {
  const root = join(dir, 'odd')
  beforeAll(() => oddTree(root, 600))

  test('GET /directories/list, depth 1 and 3', async () => {
    for (const depth of [1, 3]) {
      const res = await fx.d.fetch(`/directories/list?path=${q(root)}&depth=${depth}`)
      expect(res.status).toBe(200)
      const body = await res.text()
      expect(body).toBe(expected(root, depth, false))
    }
  })

  test('GET /files/search, every file', async () => {
    const res = await fx.d.fetch(`/files/search?path=${q(root)}&pattern=${q('**')}`)
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).toBe(expected(root, 1000, true))
    // The odd ones are in it (the oracle agreeing on an empty answer would pass as well).
    const got = JSON.parse(body) as { path: string; modified_at: string; size: number; owner: string }[]
    expect(got.length).toBe(600 + 16)
    const by = (suffix: string) => got.find(e => e.path === `${root}/${suffix}`)
    expect(by('Z')?.modified_at).toBe('1969-12-31T23:59:58.5Z')
    expect(by('tab\there')?.modified_at).toBe('2023-11-14T22:13:20.12Z')
    expect(by('sparse')?.size).toBe(2 ** 40 + 3)
    expect(by('nobody-owns')?.owner).toBe('54321')
  })
})
