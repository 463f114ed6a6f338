/**
 * `execd fs --json`: a failure carries the code the wire answers for the same failure, here and
 * with --url. `fs mkdir` over a file said RUNTIME_ERROR where `POST /directories` says
 * INVALID_REQUEST_BODY; `fs rmdir` of a file or a full directory (checks of the CLI's own, the
 * wire's DELETE /directories removes both) said RUNTIME_ERROR for a path of the wrong kind.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, runCli, uploadOne } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('cli-fs-codes', tmp => {
  writeFileSync(join(tmp, 'src.txt'), 'x')
  return []
})

/** A fresh tree per run: some failures' neighbours succeed and change it. */
let trees = 0
function tree(): string {
  const t = join(fx.tmp, `t${++trees}`)
  mkdirSync(join(t, 'dir'), { recursive: true })
  mkdirSync(join(t, 'empty'))
  writeFileSync(join(t, 'file'), 'hello\n')
  writeFileSync(join(t, 'dir', 'f'), 'x\n')
  return t
}

const get = (route: string, query: Record<string, string | string[]>, headers?: Record<string, string>) => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) q.append(k, one)
  return fx.d.fetch(`${route}?${q}`, { headers })
}
const del = (route: string, path: string) =>
  fx.d.fetch(`${route}?path=${encodeURIComponent(path)}`, { method: 'DELETE' })
const codeOf = async (res: Response | { code?: string }) =>
  res instanceof Response ? ((await res.json()) as { code: string }).code : res.code

interface Row {
  what: string
  args: (t: string) => string[]
  /** The same failure over HTTP; none where the CLI checks what the wire does not refuse. */
  http?: (t: string) => Promise<Response | { code?: string }>
  code: string
}

const ROWS: Row[] = [
  {
    what: 'ls of a missing path',
    args: t => ['ls', `${t}/nope`],
    http: t => get('/directories/list', { path: `${t}/nope` }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'ls of a file',
    args: t => ['ls', `${t}/file`],
    http: t => get('/directories/list', { path: `${t}/file` }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'stat of a missing path',
    args: t => ['stat', `${t}/nope`],
    http: t => get('/files/info', { path: `${t}/nope` }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'stat of a path and two missing',
    args: t => ['stat', `${t}/file`, `${t}/nope`, `${t}/nope2`],
    http: t => get('/files/info', { path: [`${t}/file`, `${t}/nope`, `${t}/nope2`] }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'cat of a missing file',
    args: t => ['cat', `${t}/nope`],
    http: t => get('/files/download', { path: `${t}/nope` }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'cat of a directory',
    args: t => ['cat', `${t}/dir`],
    http: t => get('/files/download', { path: `${t}/dir` }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'cat of a range past the end',
    args: t => ['cat', '--range', '100-200', `${t}/file`],
    http: t => get('/files/download', { path: `${t}/file` }, { range: 'bytes=100-200' }),
    code: 'RANGE_NOT_SATISFIABLE',
  },
  {
    what: 'get of a missing file',
    args: t => ['get', `${t}/nope`, `${t}/here`],
    http: t => get('/files/download', { path: `${t}/nope` }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'put onto a directory',
    args: t => ['put', join(fx.tmp, 'src.txt'), `${t}/dir`],
    http: t => uploadOne(fx.d, `${t}/dir`),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'put beneath a file',
    args: t => ['put', join(fx.tmp, 'src.txt'), `${t}/file/x`],
    http: t => uploadOne(fx.d, `${t}/file/x`),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'rm of a directory',
    args: t => ['rm', `${t}/empty`],
    http: t => del('/files', `${t}/empty`),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'rmdir of a file',
    args: t => ['rmdir', `${t}/file`],
    http: t => get('/directories/list', { path: `${t}/file` }),
    code: 'INVALID_REQUEST_BODY',
  },
  { what: 'rmdir -r of a file', args: t => ['rmdir', '-r', `${t}/file`], code: 'INVALID_REQUEST_BODY' },
  { what: 'rmdir of a full directory', args: t => ['rmdir', `${t}/dir`], code: 'INVALID_REQUEST_BODY' },
  {
    what: 'rmdir of a missing path',
    args: t => ['rmdir', `${t}/nope`],
    http: t => get('/files/info', { path: `${t}/nope` }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'mv of a missing source',
    args: t => ['mv', `${t}/nope`, `${t}/n2`],
    http: t => postJson(fx.d, '/files/mv', [{ src: `${t}/nope`, dest: `${t}/n2` }]),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'mv onto a path that exists',
    args: t => ['mv', `${t}/file`, `${t}/dir/f`],
    http: t => postJson(fx.d, '/files/mv', [{ src: `${t}/file`, dest: `${t}/dir/f` }]),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'mkdir over a file',
    args: t => ['mkdir', `${t}/file`],
    http: t => postJson(fx.d, '/directories', { [`${t}/file`]: { mode: 755 } }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'mkdir beneath a file',
    args: t => ['mkdir', `${t}/file/x`],
    http: t => postJson(fx.d, '/directories', { [`${t}/file/x`]: { mode: 755 } }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'chmod of a missing path',
    args: t => ['chmod', '644', `${t}/nope`],
    http: t => postJson(fx.d, '/files/permissions', { [`${t}/nope`]: { mode: 644 } }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'chmod to an unknown owner',
    args: t => ['chmod', '644', '--owner', 'no-such-user-x', `${t}/file`],
    http: t => postJson(fx.d, '/files/permissions', { [`${t}/file`]: { mode: 644, owner: 'no-such-user-x' } }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'search of a missing directory',
    args: t => ['search', `${t}/nope`],
    http: t => get('/files/search', { path: `${t}/nope`, pattern: '**' }),
    code: 'FILE_NOT_FOUND',
  },
  {
    // A search rooted at a file is that file's entry, as the reference answers (stop 52): beneath one, refused.
    what: 'search beneath a file',
    args: t => ['search', `${t}/file/x`],
    http: t => get('/files/search', { path: `${t}/file/x`, pattern: '**' }),
    code: 'INVALID_REQUEST_BODY',
  },
  {
    what: 'replace in a missing file',
    args: t => ['replace', `${t}/nope`, 'a', 'b'],
    http: t => postJson(fx.d, '/files/replace', { [`${t}/nope`]: { old: 'a', new: 'b' } }),
    code: 'FILE_NOT_FOUND',
  },
  {
    what: 'replace in a directory',
    args: t => ['replace', `${t}/dir`, 'a', 'b'],
    http: t => postJson(fx.d, '/files/replace', { [`${t}/dir`]: { old: 'a', new: 'b' } }),
    code: 'INVALID_REQUEST_BODY',
  },
]

/** The verb's `--json` error code, here or against the daemon, and its exit status. */
async function cliCode(args: string[], remote: boolean): Promise<[string | undefined, number | null]> {
  const r = await runCli(['fs', ...args, '--json', ...(remote ? ['--url', fx.d.url] : [])], {
    cwd: fx.tmp,
    env: remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {},
  })
  const line = r.stderr.trim().split('\n').at(-1) ?? ''
  const code = line.startsWith('{') ? (JSON.parse(line) as { code?: string }).code : `not JSON: ${line}`
  return [code, r.code]
}

describe('fs --json: the wire’s code for every verb’s failures, here and with --url', () => {
  for (const row of ROWS) {
    test(row.what, async () => {
      if (row.http)
        expect([row.what, 'http', await codeOf(await row.http(tree()))]).toEqual([row.what, 'http', row.code])
      for (const remote of [false, true]) {
        const [code, exit] = await cliCode(row.args(tree()), remote)
        expect([row.what, remote ? 'url' : 'local', code]).toEqual([row.what, remote ? 'url' : 'local', row.code])
        // A failure, never a success; 2 only for input refused as typed, never for the tree.
        expect(exit === 1 || exit === 2).toBe(true)
      }
    })
  }
})
