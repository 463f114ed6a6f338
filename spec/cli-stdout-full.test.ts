/**
 * A verb's stdout redirected to a file on a full disk (`execd exec … > out` on a small tmpfs):
 * the write fails with ENOSPC, and the verb stops its work and says so in one line, exit 1, as
 * `cat` says its write error. `exec --shell` and a cell exited 0 with their output cut: the
 * listener kept for a closed pipe (EPIPE) swallowed every other error of stdout.
 */
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { BIN } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { scratchWithDisks } from './kit/small-disk'
import { pythonAvailable } from './python-env'

const root = process.getuid?.() === 0
const scratch = scratchWithDisks('stdout-full')
const fx = daemonAlone()

/** Runs `execd <args>` with stdout to a file on a 1 MiB tmpfs; its status and stderr. */
async function intoFullDisk(args: string[], remote: boolean): Promise<{ code: number; stderr: string }> {
  const out = join(scratch.smallDisk('1m'), 'out')
  const p = Bun.spawn([BIN, ...args, ...(remote ? ['--url', fx.d.url] : [])], {
    stdin: 'ignore',
    stdout: Bun.file(out),
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
  })
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  return { code, stderr }
}

const CASES: [string, string[], boolean][] = [
  ['exec --shell', ['exec', '--shell', 'head -c 4000000 /dev/zero'], true],
  ['a python cell', ['exec', 'python', 'import sys; sys.stdout.write("x" * 4_000_000)'], pythonAvailable === true],
  ['a bash cell', ['exec', 'bash', 'head -c 4000000 /dev/zero'], true],
]

describe.skipIf(!root)('stdout on a full disk: one line, exit 1', () => {
  for (const [what, args, runs] of CASES) {
    test.skipIf(!runs)(
      what,
      async () => {
        for (const remote of [false, true]) {
          expect([what, remote ? 'url' : 'local', await intoFullDisk(args, remote)]).toEqual([
            what,
            remote ? 'url' : 'local',
            { code: 1, stderr: 'execd: no space left on device\n' },
          ])
        }
      },
      60_000,
    )
  }
})

/**
 * `> /dev/full` (every write ENOSPC) of the verbs that print once and end: `--version` printed
 * Bun's trace of the unhandled error, `metrics` and `completion` exited 0 with nothing written
 * (the failure came a turn after the exit's flush had been told it was done).
 */
/** `execd <args>` with stdout `how` (a shell redirection, as typed); its status and stderr. */
async function redirected(args: string[], how: string): Promise<{ code: number; stderr: string }> {
  const p = Bun.spawn(['bash', '-c', `exec "$@" ${how}`, 'bash', BIN, ...args], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
  return { code, stderr }
}

/**
 * Help and usage (`--help > /dev/full` exited 0: cac prints help through console.info, which
 * drops a failed write), and a cell's short output (`exec bash 'echo hi' > /dev/full` exited 0
 * in 4 runs of 5: its write failed after exit had flushed).
 */
const HELP = [
  ['--help'],
  ['exec', '--help'],
  ['serve', '--help'],
  ['help', 'exec'],
  ['fs', '--help'],
  ['fs', 'ls', '--help'],
]
const CELL = ['exec', 'bash', 'echo hi']
const PRINTS = [['--version'], ['metrics'], ['completion', 'bash'], ['exec', '--list'], ...HELP, [], ['fs'], CELL]

describe('stdout to /dev/full: one line, exit 1', () => {
  for (const args of PRINTS)
    test(args.join(' ') || '(no words: the usage)', async () => {
      expect(await redirected(args, '> /dev/full')).toEqual({ code: 1, stderr: 'execd: no space left on device\n' })
    })
  test("a cell's short output, five runs", async () => {
    for (let i = 0; i < 5; i++)
      expect(await redirected(CELL, '> /dev/full')).toEqual({ code: 1, stderr: 'execd: no space left on device\n' })
  })
})

/**
 * stdout closed (`>&-`): Bun puts /dev/null there before execd starts, and every verb exited 0
 * with its output gone. `cat` says its write error and exits 1; so does execd, when it writes.
 */
describe('stdout closed: one line, exit 1, as cat', () => {
  for (const args of [...PRINTS, ['exec', '--shell', 'echo hi'], ['fs', 'ls', '/']])
    test(args.join(' ') || '(no words: the usage)', async () => {
      expect(await redirected(args, '>&-')).toEqual({ code: 1, stderr: 'execd: cannot write: stdout is closed\n' })
    })
  test('nothing written, or /dev/null typed: exit 0 as before', async () => {
    expect(await redirected(['exec', '--shell', 'true'], '>&-')).toEqual({ code: 0, stderr: '' })
    expect(await redirected(['--version'], '> /dev/null')).toEqual({ code: 0, stderr: '' })
    expect(await redirected(['exec', '--help'], '> /dev/null')).toEqual({ code: 0, stderr: '' })
    expect(await redirected(CELL, '1<> /dev/null')).toEqual({ code: 0, stderr: '' })
  })
})
