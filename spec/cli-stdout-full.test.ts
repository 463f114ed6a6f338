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
describe('stdout to /dev/full: one line, exit 1', () => {
  for (const args of [['--version'], ['metrics'], ['completion', 'bash'], ['exec', '--list']]) {
    test(args.join(' '), async () => {
      const p = Bun.spawn([BIN, ...args], {
        stdin: 'ignore',
        stdout: Bun.file('/dev/full'),
        stderr: 'pipe',
        env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
      })
      const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()])
      expect({ code, stderr }).toEqual({ code: 1, stderr: 'execd: no space left on device\n' })
    })
  }
})
