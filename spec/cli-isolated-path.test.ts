/**
 * `execd exec --isolated .` (or `sub`, `../dir`): the workspace as a user types it, a directory
 * of their shell's. It was handed to the section as typed and refused (`workspace.path must be
 * an absolute path: .`, exit 2); it runs over that directory now, as every other local path of
 * the CLI is read. Behind --url the path is the daemon's machine's, where this shell's working
 * directory means nothing: one line says to give it absolute.
 */
import { expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const bwrap = Bun.which('bwrap')
const fx = daemonWithDir('isolated-path')

async function exec(args: string[], cwd: string, remote = false) {
  const p = Bun.spawn([BIN, 'exec', ...(remote ? ['--url', fx.d.url] : []), ...args], {
    cwd,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
  })
  const [code, stdout, stderr] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ])
  return { code, stdout, stderr }
}

test.skipIf(!bwrap)('a relative workspace is the directory it names here', async () => {
  const sub = join(fx.tmp, 'sub')
  mkdirSync(sub, { recursive: true })
  for (const [typed, from, is] of [
    ['.', fx.tmp, fx.tmp],
    ['sub', fx.tmp, sub],
    ['./sub/', fx.tmp, sub],
    ['..', sub, fx.tmp],
  ] as const)
    expect([typed, await exec(['--isolated', typed, '--shell', 'pwd'], from)]).toEqual([
      typed,
      { code: 0, stdout: `${is}\n`, stderr: '' },
    ])
})

test('behind --url: a relative workspace is refused in one line that says what to type', async () => {
  expect(await exec(['--isolated', '.', '--shell', 'pwd'], fx.tmp, true)).toEqual({
    code: 2,
    stdout: '',
    stderr:
      "execd: --isolated .: with --url the workspace is a directory on the daemon's machine; give its absolute path\n",
  })
})
