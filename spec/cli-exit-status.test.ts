/**
 * Exit 2 means "you typed it wrong" (what the command line alone decides: an unknown flag or
 * language, a missing argument, a malformed value), exit 1 "the thing is wrong" (what the disk
 * decides: a symlink loop, a path through a file, a name too long, a directory where a file is
 * meant). Every 400 was taken for the first, so `fs stat loop/x` exited 2 as a typo would. Each
 * row here and with --url, and `--json` keeps the wire's code either way.
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCli } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const fx = daemonWithDir('cli-exit', tmp => {
  symlinkSync('loop', join(tmp, 'loop'))
  writeFileSync(join(tmp, 'file'), 'hello\n')
  mkdirSync(join(tmp, 'dir'))
  return []
})

const long = 'n'.repeat(300)

/** [what, the words after `execd`, the exit status, the --json code when one is the wire's] */
const ROWS: [string, (r: string) => string[], number, string?][] = [
  // The thing is wrong: 1.
  ['stat through a symlink loop', r => ['fs', 'stat', `${r}/loop/x`], 1, 'INVALID_REQUEST_BODY'],
  ['stat through a file', r => ['fs', 'stat', `${r}/file/x`], 1, 'INVALID_REQUEST_BODY'],
  ['stat of a name too long', r => ['fs', 'stat', `${r}/${long}`], 1, 'INVALID_REQUEST_BODY'],
  ['ls of a symlink loop', r => ['fs', 'ls', `${r}/loop`], 1, 'INVALID_REQUEST_BODY'],
  ['ls of a file', r => ['fs', 'ls', `${r}/file`], 1, 'INVALID_REQUEST_BODY'],
  ['cat of a directory', r => ['fs', 'cat', `${r}/dir`], 1, 'INVALID_REQUEST_BODY'],
  ['cat through a file', r => ['fs', 'cat', `${r}/file/x`], 1, 'INVALID_REQUEST_BODY'],
  ['rm of a directory', r => ['fs', 'rm', `${r}/dir`], 1, 'INVALID_REQUEST_BODY'],
  // The wire's DELETE is done when nothing is there: exit 0, and -v said `removed nope`.
  ['rm of a path not there', r => ['fs', 'rm', `${r}/nope`], 1, 'FILE_NOT_FOUND'],
  ['mv into itself', r => ['fs', 'mv', `${r}/dir`, `${r}/dir/in`], 1, 'INVALID_REQUEST_BODY'],
  ['mv onto a path there', r => ['fs', 'mv', `${r}/file`, `${r}/dir`], 1, 'INVALID_REQUEST_BODY'],
  // A file itself is searched as the reference searches it (its one entry): beneath it is the error.
  ['search beneath a file', r => ['fs', 'search', `${r}/file/x`], 1, 'INVALID_REQUEST_BODY'],
  ['chmod to a user not there', r => ['fs', 'chmod', '644', '--owner', 'no-such-user-x', `${r}/file`], 1],
  ['put beneath a file', r => ['fs', 'put', '-', `${r}/file/x`], 1, 'INVALID_REQUEST_BODY'],
  ['replace in a directory', r => ['fs', 'replace', `${r}/dir`, 'a', 'b'], 1, 'INVALID_REQUEST_BODY'],
  ['a shell in a directory not there', r => ['exec', '--shell', 'true', '--cwd', `${r}/nope`], 1],
  ['a shell in a symlink loop', r => ['exec', '--shell', 'true', '--cwd', `${r}/loop`], 1],
  ['python in a directory through a file', r => ['exec', 'python', '--cwd', `${r}/file/x`, '1'], 1],
  // What was typed is wrong: 2, before anything is asked.
  ['an unknown language', () => ['exec', 'pyhton', '1'], 2, 'INVALID_REQUEST_BODY'],
  ['ls with a depth not a number', r => ['fs', 'ls', r, '--depth', 'x'], 2, 'INVALID_REQUEST_BODY'],
  // Any digits were taken: a huge depth (read as 1e20) listed all of it without a word.
  ['ls with a depth past its range', r => ['fs', 'ls', r, '--depth', '99999999999999999999'], 2],
  ['cat with an offset not a number', r => ['fs', 'cat', `${r}/file`, '--offset', 'x'], 2, 'INVALID_REQUEST_BODY'],
  ['cat with lines and bytes', r => ['fs', 'cat', `${r}/file`, '--limit', '1', '--range', '0-1'], 2],
  ['search with a pattern unclosed', r => ['fs', 'search', r, '[['], 2, 'INVALID_REQUEST_BODY'],
  ['stat of an empty path', () => ['fs', 'stat', ''], 2, 'INVALID_REQUEST_BODY'],
  ['replace of nothing', r => ['fs', 'replace', `${r}/file`, '', 'x'], 2, 'INVALID_REQUEST_BODY'],
  ['an unknown option', () => ['fs', 'stat', '--bogus', 'x'], 2],
  ['an empty --shell command', () => ['exec', '--shell', ''], 2, 'INVALID_REQUEST_BODY'],
  ['--isolated with blank code', r => ['exec', '--isolated', r, ' '], 2, 'INVALID_REQUEST_BODY'],
  [
    'chmod to a user id out of range',
    r => ['fs', 'chmod', '644', '--owner', '99999999999', `${r}/file`],
    2,
    'INVALID_REQUEST_BODY',
  ],
  [
    'mkdir of a group id out of range',
    r => ['fs', 'mkdir', `${r}/made`, '--group', '4294967295'],
    2,
    'INVALID_REQUEST_BODY',
  ],
  // Asked for as a name: `unknown user:  5`, exit 1.
  [
    'chmod to an owner with a space',
    r => ['fs', 'chmod', '644', '--owner', ' 5', `${r}/file`],
    2,
    'INVALID_REQUEST_BODY',
  ],
  ['chmod to an empty group', r => ['fs', 'chmod', '644', '--group', '', `${r}/file`], 2, 'INVALID_REQUEST_BODY'],
  ['a missing argument', () => ['fs', 'mv', 'x'], 2],
]

describe('exit 2 for what was typed, 1 for the thing, here and with --url', () => {
  for (const [what, args, status, code] of ROWS) {
    test(what, async () => {
      for (const remote of [false, true]) {
        const words = [...args(fx.tmp), ...(remote ? ['--url', fx.d.url] : [])]
        const env: Record<string, string> = remote ? { EXECD_ACCESS_TOKEN: fx.d.token } : {}
        const plain = await runCli(words, { cwd: fx.tmp, env, stdin: 'x' })
        const where = remote ? 'url' : 'local'
        expect([what, where, plain.code]).toEqual([what, where, status])
        // One line, never a stack.
        expect([what, where, plain.stderr.trim().split('\n').length]).toEqual([what, where, 1])
        if (!code) continue
        const json = await runCli([...words, '--json'], { cwd: fx.tmp, env, stdin: 'x' })
        const last = json.stderr.trim().split('\n').at(-1) ?? ''
        expect([what, where, json.code, (JSON.parse(last) as { code: string }).code]).toEqual([
          what,
          where,
          status,
          code,
        ])
      }
    })
  }
})
