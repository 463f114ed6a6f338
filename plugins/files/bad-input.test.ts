/**
 * Every bad input per route we could think of, with the 4xx JSON it must get. Runs in process
 * (app.handle) against a real temp tree; the second app is confined with --root.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../core/app'
import { SERVER_OPTIONS, resolveConfig } from '../../core/config'
import { createLogger } from '../../core/log'
import { files } from '.'

const base = realpathSync(mkdtempSync(join(tmpdir(), 'execd-bad-')))
afterAll(() => rmSync(base, { recursive: true, force: true }))
const dir = join(base, 'root')
const outside = join(base, 'outside')
mkdirSync(join(dir, 'sub'), { recursive: true })
mkdirSync(outside)
writeFileSync(join(dir, 'f.txt'), '0123456789')
writeFileSync(join(outside, 'secret'), 'secret')
symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'))
symlinkSync(outside, join(dir, 'escape'))
symlinkSync(join(outside, 'secret'), join(dir, 'secret-link'))
symlinkSync(join(dir, 'sub'), join(dir, 'sublink'))

const build = async (flags: Record<string, string>) =>
  (
    await createApp({
      plugins: [files],
      runtimes: [],
      config: resolveConfig([...SERVER_OPTIONS, ...(files.options ?? [])], flags, {}),
      log: createLogger('silent'),
    })
  ).app
const open = await build({})
const cwd = join(base, 'cwd')
mkdirSync(cwd, { mode: 0o750 })
writeFileSync(join(cwd, 'keep'), 'keep')
const home = process.cwd()
process.chdir(cwd)
const inScratchCwd = await build({})
process.chdir(home)
const confined = await build({ root: dir, 'max-upload-bytes': '1000' })

const q = encodeURIComponent
const F = q(join(dir, 'f.txt'))
const D = q(dir)
const json = (body: unknown) => ({
  method: 'POST',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})
const multipart = (parts: string[], boundary = 'b') => ({
  method: 'POST',
  headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  body: parts.join('') + `--${boundary}--\r\n`,
})
const meta = (m: unknown, plain = false) =>
  `--b\r\nContent-Disposition: form-data; name="metadata"${plain ? '' : '; filename="metadata"'}\r\n\r\n${typeof m === 'string' ? m : JSON.stringify(m)}\r\n`
const file = (data: string) => `--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n${data}\r\n`

type Case = [
  name: string,
  path: string,
  init: RequestInit | undefined,
  status: number,
  code: string,
  message?: string | RegExp,
]

// One case per line reads as the table it is.
// prettier-ignore
const cases: Case[] = [
  // GET /files/info
  ['info: missing file', `/files/info?path=${q(join(dir, 'nope'))}`, undefined, 404, 'FILE_NOT_FOUND', /^file not found\. file not found: /],
  ['info: undefined $VAR', `/files/info?path=${q('$EXECD_NO_SUCH_VAR/x')}`, undefined, 400, 'INVALID_REQUEST_BODY', 'path references undefined environment variables: EXECD_NO_SUCH_VAR'],
  ['info: file used as a directory', `/files/info?path=${q(join(dir, 'f.txt/x'))}`, undefined, 400, 'INVALID_REQUEST_BODY', /not a directory/],
  // DELETE /files
  ['delete: a directory', `/files?path=${D}`, { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /path is a directory/],
  // POST /files/permissions
  ['permissions: not JSON', '/files/permissions', json('{nope'), 400, 'INVALID_REQUEST_BODY', /^error parsing request, MAYBE invalid body format\. /],
  ['permissions: empty body', '/files/permissions', json(''), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: a value that is not an object', '/files/permissions', json({ [join(dir, 'f.txt')]: 1 }), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: an array', '/files/permissions', json([1]), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: mode as a string', '/files/permissions', json({ [join(dir, 'f.txt')]: { mode: '644' } }), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: mode with 8/9', '/files/permissions', json({ [join(dir, 'f.txt')]: { mode: 789 } }), 400, 'INVALID_REQUEST_BODY', /invalid mode 789/],
  ['permissions: negative mode', '/files/permissions', json({ [join(dir, 'f.txt')]: { mode: -1 } }), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: fractional mode', '/files/permissions', json({ [join(dir, 'f.txt')]: { mode: 6.5 } }), 400, 'INVALID_REQUEST_BODY'],
  ['permissions: unknown owner', '/files/permissions', json({ [join(dir, 'f.txt')]: { owner: 'no-such-user-x' } }), 400, 'INVALID_REQUEST_BODY', 'unknown user: no-such-user-x'],
  ['permissions: unknown group', '/files/permissions', json({ [join(dir, 'f.txt')]: { group: 'no-such-group-x' } }), 400, 'INVALID_REQUEST_BODY', 'unknown group: no-such-group-x'],
  ['permissions: missing file', '/files/permissions', json({ [join(dir, 'nope')]: { mode: 644 } }), 404, 'FILE_NOT_FOUND'],
  ['permissions: dangling symlink', '/files/permissions', json({ [join(dir, 'dangling')]: { mode: 644 } }), 404, 'FILE_NOT_FOUND'],
  // POST /files/mv
  ['mv: not an array', '/files/mv', json({ src: 'a', dest: 'b' }), 400, 'INVALID_REQUEST_BODY'],
  ['mv: item without dest', '/files/mv', json([{ src: join(dir, 'f.txt') }]), 400, 'INVALID_REQUEST_BODY'],
  ['mv: empty src', '/files/mv', json([{ src: '', dest: 'x' }]), 400, 'INVALID_REQUEST_BODY'],
  ['mv: missing source', '/files/mv', json([{ src: join(dir, 'nope'), dest: join(dir, 'x') }]), 404, 'FILE_NOT_FOUND', /^file not found\. source path not found: /],
  ['mv: destination exists', '/files/mv', json([{ src: join(dir, 'f.txt'), dest: join(dir, 'sub') }]), 400, 'INVALID_REQUEST_BODY', /destination path already exists/],
  ['mv: into itself', '/files/mv', json([{ src: join(dir, 'sub'), dest: join(dir, 'sub/inner') }]), 400, 'INVALID_REQUEST_BODY', /into itself/],
  ['mv: missing onto itself', '/files/mv', json([{ src: join(dir, 'nope'), dest: join(dir, 'nope') }]), 404, 'FILE_NOT_FOUND', /^file not found\. source path not found: /],
  ['mv: missing into itself', '/files/mv', json([{ src: join(dir, 'nope'), dest: join(dir, 'nope/x') }]), 404, 'FILE_NOT_FOUND', /source path not found/],
  // GET /files/search
  ['search: no path', '/files/search?pattern=*', undefined, 400, 'MISSING_QUERY', "missing query parameter 'path'"],
  ['search: empty path', '/files/search?path=', undefined, 400, 'MISSING_QUERY', "missing query parameter 'path'"],
  ['search: missing root', `/files/search?path=${q(join(dir, 'nope'))}`, undefined, 404, 'FILE_NOT_FOUND', /^file not found\. stat /],
  ['search: unclosed [', `/files/search?path=${D}&pattern=${q('[ab')}`, undefined, 400, 'INVALID_REQUEST_BODY', /^error searching files\. invalid pattern \[ab/],
  ['search: unclosed {', `/files/search?path=${D}&pattern=${q('{a,b')}`, undefined, 400, 'INVALID_REQUEST_BODY', /invalid pattern/],
  // POST /files/replace
  ['replace: not JSON', '/files/replace', json('nope'), 400, 'INVALID_REQUEST_BODY', /^error parsing request/],
  ['replace: old missing', '/files/replace', json({ [join(dir, 'f.txt')]: { new: 'x' } }), 400, 'INVALID_REQUEST_BODY'],
  ['replace: new not a string', '/files/replace', json({ [join(dir, 'f.txt')]: { old: 'x', new: 1 } }), 400, 'INVALID_REQUEST_BODY'],
  ['replace: empty old', '/files/replace', json({ [join(dir, 'f.txt')]: { old: '', new: 'x' } }), 400, 'INVALID_REQUEST_BODY', 'old content must not be empty'],
  ['replace: missing file', '/files/replace', json({ [join(dir, 'nope')]: { old: 'a', new: 'b' } }), 404, 'FILE_NOT_FOUND'],
  ['replace: a directory', '/files/replace', json({ [dir]: { old: 'a', new: 'b' } }), 400, 'INVALID_REQUEST_BODY'],
  ['replace: dangling symlink', '/files/replace', json({ [join(dir, 'dangling')]: { old: 'a', new: 'b' } }), 404, 'FILE_NOT_FOUND'],
  // POST /files/upload
  ['upload: JSON body', '/files/upload', json({ path: '/x' }), 400, 'INVALID_FILE', /^multipart form is empty/],
  ['upload: no body', '/files/upload', { method: 'POST' }, 400, 'INVALID_FILE', /^multipart form is empty/],
  ['upload: multipart without boundary', '/files/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' }, 400, 'INVALID_FILE'],
  ['upload: boundary never appears', '/files/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: 'hello' }, 400, 'INVALID_FILE', /malformed multipart body/],
  ['upload: body cut short', '/files/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: meta({ path: join(dir, 'cut') }) + '--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nabc' }, 400, 'INVALID_FILE', /unexpected end/],
  ['upload: empty form', '/files/upload', multipart([]), 400, 'INVALID_FILE_METADATA', 'metadata file is missing'],
  ['upload: file without metadata', '/files/upload', multipart([file('x')]), 400, 'INVALID_FILE_METADATA', 'metadata file is missing'],
  ['upload: metadata without file', '/files/upload', multipart([meta({ path: join(dir, 'm') })]), 400, 'INVALID_FILE_CONTENT', 'file is missing'],
  ['upload: 2 metadata, 1 file', '/files/upload', multipart([meta({ path: join(dir, 'm1') }), meta({ path: join(dir, 'm2') }), file('x')]), 400, 'INVALID_FILE', 'metadata and file count mismatch: 2 vs 1'],
  ['upload: file before its metadata', '/files/upload', multipart([meta({ path: join(dir, 'm1') }), file('x'), file('y'), meta({ path: join(dir, 'm2') })]), 400, 'INVALID_FILE_METADATA', /must come before its file part/],
  ['upload: metadata not JSON', '/files/upload', multipart([meta('{bad'), file('x')]), 400, 'INVALID_FILE_METADATA', /^invalid metadata format\. /],
  ['upload: metadata an array', '/files/upload', multipart([meta('[]'), file('x')]), 400, 'INVALID_FILE_METADATA', /expected a JSON object/],
  ['upload: metadata without path', '/files/upload', multipart([meta({ mode: 644 }), file('x')]), 400, 'INVALID_FILE_METADATA', 'metadata path is empty'],
  ['upload: path not a string', '/files/upload', multipart([meta({ path: 5 }), file('x')]), 400, 'INVALID_FILE_METADATA', /'path' must be a string/],
  ['upload: mode as a string', '/files/upload', multipart([meta({ path: join(dir, 'm'), mode: '644' }), file('x')]), 400, 'INVALID_FILE_METADATA', /'mode' must be a number/],
  ['upload: parent is a file', '/files/upload', multipart([meta({ path: join(dir, 'f.txt/inner') }), file('x')]), 400, 'INVALID_REQUEST_BODY', /file exists|not a directory/],
  ['upload: onto a directory', '/files/upload', multipart([meta({ path: join(dir, 'sub') }), file('x')]), 400, 'INVALID_REQUEST_BODY', /is a directory/],
  // GET /files/download
  ['download: no path', '/files/download', undefined, 400, 'MISSING_QUERY', "missing query parameter 'path'"],
  ['download: missing file', `/files/download?path=${q(join(dir, 'nope'))}`, undefined, 404, 'FILE_NOT_FOUND', `file not found. open ${join(dir, 'nope')}: no such file or directory`],
  ['download: dangling symlink', `/files/download?path=${q(join(dir, 'dangling'))}`, undefined, 404, 'FILE_NOT_FOUND'],
  ['download: a directory', `/files/download?path=${D}`, undefined, 400, 'INVALID_REQUEST_BODY', `path is a directory: ${dir}`],
  ['download: range past the end', `/files/download?path=${F}`, { headers: { range: 'bytes=10-' } }, 416, 'RANGE_NOT_SATISFIABLE', /failed to overlap/],
  ['download: range end before start', `/files/download?path=${F}`, { headers: { range: 'bytes=5-2' } }, 416, 'RANGE_NOT_SATISFIABLE'],
  ['download: range not numeric', `/files/download?path=${F}`, { headers: { range: 'bytes=a-b' } }, 416, 'RANGE_NOT_SATISFIABLE'],
  ['download: range unit', `/files/download?path=${F}`, { headers: { range: 'lines=1-2' } }, 416, 'RANGE_NOT_SATISFIABLE'],
  ['download: zero suffix', `/files/download?path=${F}`, { headers: { range: 'bytes=-0' } }, 416, 'RANGE_NOT_SATISFIABLE'],
  ['download: offset 0', `/files/download?path=${F}&offset=0&limit=1`, undefined, 400, 'INVALID_REQUEST_BODY', 'offset must be a positive integer (1-based)'],
  ['download: limit not a number', `/files/download?path=${F}&offset=1&limit=x`, undefined, 400, 'INVALID_REQUEST_BODY', 'limit must be a positive integer'],
  ['download: lines and Range', `/files/download?path=${F}&offset=1&limit=1`, { headers: { range: 'bytes=0-1' } }, 400, 'INVALID_REQUEST_BODY', /cannot be combined/],
  // GET /directories/list
  ['list: no path', '/directories/list', undefined, 400, 'MISSING_QUERY', "missing query parameter 'path'"],
  ['list: depth not a number', `/directories/list?path=${D}&depth=abc`, undefined, 400, 'INVALID_REQUEST_BODY', "invalid query parameter 'depth': abc"],
  ['list: negative depth', `/directories/list?path=${D}&depth=-1`, undefined, 400, 'INVALID_REQUEST_BODY', "invalid query parameter 'depth': -1"],
  ['list: missing directory', `/directories/list?path=${q(join(dir, 'nope'))}`, undefined, 404, 'FILE_NOT_FOUND'],
  ['list: a file', `/directories/list?path=${F}`, undefined, 400, 'INVALID_REQUEST_BODY', `path is not a directory: ${join(dir, 'f.txt')}`],
  ['list: a symlink root', `/directories/list?path=${q(join(dir, 'sublink'))}`, undefined, 400, 'INVALID_REQUEST_BODY', /^path is a symbolic link, refusing to traverse/],
  // POST /directories
  ['mkdir: not JSON', '/directories', json('x'), 400, 'INVALID_REQUEST_BODY'],
  ['mkdir: a file in the way', '/directories', json({ [join(dir, 'f.txt/d')]: {} }), 400, 'INVALID_REQUEST_BODY'],
  ['mkdir: path is a file', '/directories', json({ [join(dir, 'f.txt')]: {} }), 400, 'INVALID_REQUEST_BODY', /file exists|not a directory/],
  ['mkdir: an array', '/directories', json([{}]), 400, 'INVALID_REQUEST_BODY'],
  ['replace: an array', '/files/replace', json([{ old: 'a', new: 'b' }]), 400, 'INVALID_REQUEST_BODY'],
  ['mkdir: bad mode', '/directories', json({ [join(dir, 'newdir')]: { mode: 8 } }), 400, 'INVALID_REQUEST_BODY', /invalid mode/],
  // DELETE /directories
  ['rmdir: /', '/directories?path=/', { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /refusing to remove \//],
  ['mv: empty dest', '/files/mv', json([{ src: join(dir, 'f.txt'), dest: '' }]), 400, 'INVALID_REQUEST_BODY'],
  ['upload: empty path', '/files/upload', multipart([meta({ path: '' }), file('x')]), 400, 'INVALID_FILE_METADATA', 'metadata path is empty'],
  // Owners out of range are client faults, found before anything changes (issue 10.16)
  ['permissions: uid past 2^32', '/files/permissions', json({ [join(dir, 'f.txt')]: { owner: '99999999999999999999' } }), 400, 'INVALID_REQUEST_BODY', 'invalid user id: 99999999999999999999 (0..4294967294)'],
  ['permissions: gid 2^32-1', '/files/permissions', json({ [join(dir, 'f.txt')]: { group: '4294967295' } }), 400, 'INVALID_REQUEST_BODY', 'invalid group id: 4294967295 (0..4294967294)'],
  ['mkdir: uid past 2^32', '/directories', json({ [join(dir, 'not-made')]: { owner: '99999999999999999999' } }), 400, 'INVALID_REQUEST_BODY', /^invalid user id/],
  ['mkdir: a bad entry after a good one', '/directories', json({ [join(dir, 'not-made-2')]: {}, [join(dir, 'not-made-3')]: { group: '-1' } }), 400, 'INVALID_REQUEST_BODY', 'unknown group: -1'],
  ['upload: uid past 2^32', '/files/upload', multipart([meta({ path: join(dir, 'not-made-4/f'), owner: '99999999999999999999' }), file('x')]), 400, 'INVALID_REQUEST_BODY', /^invalid user id/],
  // Messages name the path as written, never what $VAR expanded to (issue 10.17)
  ['info: $PATH not echoed', `/files/info?path=${q('x$PATH')}`, undefined, 404, 'FILE_NOT_FOUND', 'file not found. file not found: x$PATH: lstat x$PATH: no such file or directory'],
  ['download: $PATH not echoed', `/files/download?path=${q('$PATH/y')}`, undefined, 404, 'FILE_NOT_FOUND', 'file not found. open $PATH/y: no such file or directory'],
  // Unknown route under the section
  ['unknown route', '/files/nothing', undefined, 404, 'NOT_FOUND'],
]

// prettier-ignore
const confinedCases: Case[] = [
  ['root: .. out', `/files/info?path=${q('../outside/secret')}`, undefined, 400, 'INVALID_REQUEST_BODY', /^path is outside the root /],
  ['root: absolute path elsewhere', `/files/download?path=${q('/etc/passwd')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: symlinked dir out', `/files/download?path=${q('escape/secret')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: symlink to a file out (download)', `/files/download?path=${q('secret-link')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: symlink out (replace)', '/files/replace', json({ 'secret-link': { old: 's', new: 'S' } }), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: symlink out (permissions)', '/files/permissions', json({ 'secret-link': { mode: 777 } }), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: upload through a symlinked dir', '/files/upload', multipart([meta({ path: 'escape/planted' }), file('x')]), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: upload through a dangling symlink out', '/files/upload', multipart([meta({ path: 'dangling2' }), file('x')]), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: mv out', '/files/mv', json([{ src: 'f.txt', dest: '../outside/stolen' }]), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: mkdir through a symlink', '/directories', json({ 'escape/newdir': {} }), 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: list out', `/directories/list?path=${q(outside)}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: search via symlink', `/files/search?path=${q('escape')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: list below a symlink out', `/directories/list?path=${q('escape/x')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: search below a symlink out', `/files/search?path=${q('escape/x')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: list bytes out', `/directories/list?path_base64=${q(Buffer.from('escape/x').toString('base64'))}`, undefined, 400, 'INVALID_REQUEST_BODY', /^path is outside the root .*: escape\/x$/],
  ['root: rm -rf the root', `/directories?path=${q(dir)}`, { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /refusing to remove the root/],
  ['root: rm -rf via ..', `/directories?path=${q('sub/../../outside')}`, { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: ~ elsewhere', `/files/info?path=${q('~')}`, undefined, 400, 'INVALID_REQUEST_BODY', /outside the root/],
  ['root: empty path is not the root', `/directories?path=`, { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['root: empty key is not the root', '/files/permissions', json({ '': { mode: 777 } }), 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['root: $HOME not echoed', `/files/info?path=${q('$HOME/../../x')}`, undefined, 400, 'INVALID_REQUEST_BODY', /^path is outside the root .*: \$HOME\/\.\.\/\.\.\/x$/],
  ['root: $PATH not echoed', `/files/download?path=${q('a$PATH')}`, undefined, 404, 'FILE_NOT_FOUND', 'file not found. open a$PATH: no such file or directory'],
  ['limit: Content-Length over --max-upload-bytes', '/files/upload', multipart([meta({ path: 'big' }), file('x'.repeat(2000))]), 413, 'PAYLOAD_TOO_LARGE', /exceeds the limit of 1000 bytes/],
]

// Run against an app whose working directory is a scratch one: an empty path must never mean it.
// prettier-ignore
const emptyPathCases: Case[] = [
  ['info: empty path', '/files/info?path=', undefined, 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['delete: empty path', '/files?path=', { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['rmdir: empty path', '/directories?path=', { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['rmdir: empty path among others', `/directories?path=${q(join(dir, 'sub'))}&path=`, { method: 'DELETE' }, 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['permissions: empty path', '/files/permissions', json({ '': { mode: 777 } }), 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['mkdir: empty path', '/directories', json({ '': { mode: 700 } }), 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
  ['replace: empty path', '/files/replace', json({ '': { old: 'a', new: 'b' } }), 400, 'INVALID_REQUEST_BODY', /^invalid path: empty/],
]

async function check(app: typeof open, [, path, init, status, code, message]: Case) {
  const res = await app.handle(new Request(`http://localhost${path}`, init))
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
  const body = await res.json()
  expect(body.code).toBe(code)
  expect(typeof body.message).toBe('string')
  if (typeof message === 'string') expect(body.message).toBe(message)
  else if (message) expect(body.message).toMatch(message)
  return res
}

describe('bad inputs → 4xx JSON', () => {
  symlinkSync(join(outside, 'planted-by-link'), join(dir, 'dangling2'))
  for (const c of cases) test(c[0], () => check(open, c))
  for (const c of confinedCases) test(c[0], () => check(confined, c))
  for (const c of emptyPathCases) test(c[0], () => check(inScratchCwd, c))
  test('an empty path left the working directory as it was', () => {
    expect(readdirSync(cwd)).toEqual(['keep'])
    expect(statSync(cwd).mode & 0o777).toBe(0o750)
  })
  test('a 416 carries Content-Range: bytes */size', async () => {
    const res = await open.handle(
      new Request(`http://localhost/files/download?path=${F}`, { headers: { range: 'bytes=99-' } }),
    )
    expect(res.headers.get('content-range')).toBe('bytes */10')
  })
  test('nothing escaped the root, nothing was half-written, nothing made by a refused request', () => {
    expect(readdirSync(outside).sort()).toEqual(['secret'])
    expect(readdirSync(dir).filter(n => n.startsWith('not-made') || n.startsWith('m'))).toEqual([])
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret')
    expect(
      readdirSync(dir, { recursive: true })
        .map(String)
        .filter(n => n.includes('.execd-tmp-')),
    ).toEqual([])
    expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe('0123456789')
  })
})
