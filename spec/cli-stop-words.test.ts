/**
 * `exec --shell` and `exec --isolated` stopped by a signal say the signal execd got, as their
 * status (128 + it) does: each said the signal its section's stop sends the run instead —
 * SIGTERM read `signal: interrupt` with --isolated (a session's shell is stopped with SIGINT)
 * and Ctrl-C `signal: terminated` with --shell (a command is stopped with SIGTERM). Here and
 * with --url. And `--isolated DIR --shell CMD`, which dropped CMD.
 */
import { describe, expect, test } from 'bun:test'
import { BIN, pidsWith, waitFor } from './harness'
import { daemonWithDir } from './kit/daemon-dir'

const bwrap = Bun.which('bwrap')
const fx = daemonWithDir('stop-words')

const SIGNALS = [
  ['SIGTERM', 143, 'signal: terminated'],
  ['SIGINT', 130, 'signal: interrupt'],
  ['SIGHUP', 129, 'signal: hangup'],
] as const

/**
 * Not `exec sleep`: an isolated session's shell would be replaced, and the session end with it.
 * The sleep's length no other process sleeps, given through a variable so that only the sleep's
 * own command line shows it (not this CLI's). The signal waits for the sleep to run, not only for
 * `ready`: a session's SIGINT that comes as bash forks the sleep is lost (the child still has
 * bash's handler; exec drops what it caught), the grace's SIGKILL ends the sleep a second later,
 * and bash says `Killed` — 2 of 10 runs here at load 4 (`--isolated`; a bash cell 1 of 10), on
 * a daemon that did all it should. `given`: code of its own, signalled once it said `ready`.
 */
async function stopped(args: string[], remote: boolean, signal: NodeJS.Signals, given?: string) {
  const nap = `300.${crypto.randomUUID().replace(/\D/g, '').slice(0, 6)}`
  const code = given ?? `echo ready; t=${nap}; sleep "$t"`
  const p = Bun.spawn([BIN, 'exec', ...(remote ? ['--url', fx.d.url] : []), ...args, code], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
  })
  const reader = p.stdout.getReader()
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('ready\n')
  if (given === undefined) await waitFor('the sleep to run', () => pidsWith(`sleep ${nap}`).length > 0)
  p.kill(signal)
  return { code: await p.exited, stderr: await new Response(p.stderr).text() }
}

describe('a run stopped by a signal says that signal', () => {
  for (const [name, args] of [
    ['--shell', ['--shell']],
    ['--isolated', ['--isolated', '<workspace>']],
  ] as const) {
    test.skipIf(name === '--isolated' && !bwrap)(
      `exec ${name}`,
      async () => {
        for (const remote of [false, true]) {
          for (const [signal, code, words] of SIGNALS) {
            const run = await stopped(
              args.map(a => (a === '<workspace>' ? fx.tmp : a)),
              remote,
              signal,
            )
            expect([remote ? 'url' : 'here', signal, run]).toEqual([
              remote ? 'url' : 'here',
              signal,
              { code, stderr: `execd: ${words}\n` },
            ])
          }
        }
      },
      120_000,
    )
  }
})

/**
 * A one-shot cell stopped by SIGTERM or SIGHUP says that signal in execd's one line, as --shell
 * does: it printed its interrupt's error, a KeyboardInterrupt's traceback (python, javascript)
 * or `signal: interrupt` (bash), the words of a Ctrl-C nobody pressed. Ctrl-C keeps the
 * language's own (python's traceback, as `python3 -c` prints it).
 */
test('a cell stopped by SIGTERM or SIGHUP says that signal, here and with --url', async () => {
  const rows: unknown[][] = []
  const want: unknown[][] = []
  for (const [language, code] of [
    ['bash', undefined],
    ['javascript', 'console.log("ready"); await Bun.sleep(300000)'],
  ] as const) {
    for (const remote of [false, true]) {
      for (const [signal, status, words] of SIGNALS.filter(([s]) => s !== 'SIGINT')) {
        rows.push([language, remote, signal, await stopped([language], remote, signal, code)])
        want.push([language, remote, signal, { code: status, stderr: `execd: ${words}\n` }])
      }
    }
  }
  expect(rows).toEqual(want)
}, 120_000)

test.skipIf(!bwrap)(
  'exec --isolated DIR --shell CMD runs CMD: the session was asked to run nothing',
  async () => {
    for (const remote of [false, true]) {
      const p = Bun.spawn(
        [BIN, 'exec', ...(remote ? ['--url', fx.d.url] : []), '--isolated', fx.tmp, '--shell', 'echo via-shell'],
        {
          stdin: 'ignore',
          stdout: 'pipe',
          stderr: 'pipe',
          env: { ...process.env, EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
        },
      )
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ])
      expect([remote, { code, stdout, stderr }]).toEqual([remote, { code: 0, stdout: 'via-shell\n', stderr: '' }])
    }
  },
  60_000,
)

/**
 * A run killed by a signal of its own (not execd's stop) exits 128 + it, as `bash -c` reports
 * its child, with the signal's word on one line (Go's: `user defined signal 1`). `--shell` read
 * only words of letters: `usr1` fell through to exit 1. The line is execd's, said as execd's
 * other lines are, one way: `--shell` said `execd: signal: killed`, a bash cell `signal: killed`.
 */
test('a run killed by a signal exits 128 + n with one line naming it, --shell and a bash cell, here and with --url', async () => {
  const rows: unknown[][] = []
  const want: unknown[][] = []
  for (const [signal, word] of [
    ['KILL', 'killed'],
    ['USR1', 'user defined signal 1'],
    ['USR2', 'user defined signal 2'],
    ['ALRM', 'alarm clock'],
  ] as const) {
    const shell = Bun.spawnSync(['bash', '-c', `sh -c 'kill -${signal} $$'; exit $?`]).exitCode
    for (const remote of [false, true]) {
      for (const [how, args] of [
        ['--shell', ['--shell']],
        ['bash', ['bash']],
      ] as const) {
        const p = Bun.spawn([BIN, 'exec', ...(remote ? ['--url', fx.d.url] : []), ...args, `kill -${signal} $$`], {
          stdin: 'ignore',
          stdout: 'pipe',
          stderr: 'pipe',
          env: { ...process.env, EXECD_ACCESS_TOKEN: remote ? fx.d.token : '' },
        })
        const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited])
        const where = remote ? 'url' : 'here'
        rows.push([signal, how, where, code, stderr])
        want.push([signal, how, where, shell, `execd: signal: ${word}\n`])
      }
    }
  }
  expect(rows).toEqual(want)
}, 60_000)
