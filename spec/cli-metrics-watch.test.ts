/**
 * How `execd metrics --watch` ends, at a terminal (tmux): the person's Ctrl-C or SIGTERM ends it
 * with 130 or 143, as every other verb a signal ends (it was 0); the daemon stopping (SIGTERM: its stream closed cleanly) or
 * dying (SIGKILL: the connection reset) is a failure, exit 1 with one line saying so. Both
 * exited 0 or said only `error ECONNRESET`, so a script waiting on the watch read a lost daemon
 * as the person's stop. A daemon stopped (SIGSTOP) under it is said once it has sent nothing
 * for 3 s; the watch goes on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BIN, pidsWith, startDaemon, waitFor } from './harness'
import { hasTool, terminal, type Terminal } from './kit/tmux'

let term: Terminal
beforeAll(() => {
  term = terminal('execd-cli-watch')
})
afterAll(() => term.close())

/** Starts a watch of `url` in a fresh shell and waits for its first sample on the screen. */
async function watching(url: string, token: string): Promise<number> {
  term.shell(200)
  term.keys(`EXECD_ACCESS_TOKEN=${token} ${BIN} metrics --watch --url ${url}; echo "status $?"`, 'Enter')
  await term.shows(/^cpu +[\d.]+% of/m)
  const [pid] = pidsWith(`${BIN} metrics --watch --url ${url}`)
  expect(pid).toBeNumber()
  return pid!
}

/** The watch's last row and the status the shell printed after it. */
function lastWords(screen: string): string {
  const rows = screen.split('\n')
  const at = rows.findIndex(r => /^status \d+$/.test(r))
  return rows.slice(at - 1, at + 1).join('\n')
}

describe.skipIf(!hasTool('tmux'))('metrics --watch at a terminal', () => {
  test('the daemon stopped or killed under it: exit 1, one line saying so', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const d = await startDaemon()
      const watch = await watching(d.url, d.token)
      d.proc.kill(signal)
      await term.shows(/^status \d+$/m)
      const said =
        signal === 'SIGTERM'
          ? `execd: ${d.url} ended the metrics stream (did the daemon stop?)`
          : `execd: lost the connection to ${d.url} while watching metrics (did the daemon stop?)`
      expect([signal, lastWords(term.screen())]).toEqual([signal, `${said}\nstatus 1`])
      await waitFor('the watch gone', () => !pidsWith(`${BIN} metrics --watch`).includes(watch))
      await d.proc.exited
    }
  }, 90_000)

  test('the daemon stopped (SIGSTOP) under it: one line saying no sample has come; resumed, it goes on', async () => {
    // On main's build the last sample stayed on the screen as if it were now's, without a word.
    const d = await startDaemon()
    try {
      await watching(d.url, d.token)
      d.proc.kill('SIGSTOP')
      await term.shows(`execd: no sample from ${d.url} for 3 s (a daemon stopped, or stuck?); still watching`)
      d.proc.kill('SIGCONT')
      const samples = () => term.screen().match(/^cpu /gm)?.length ?? 0
      const before = samples()
      await waitFor('a sample after the resume', () => samples() > before)
      term.keys('C-c')
      await term.shows(/^(\^C)?status 130$/m)
    } finally {
      d.proc.kill('SIGCONT')
      await d.stop()
    }
  }, 90_000)

  test('a refused token: exit 1, one line', async () => {
    const d = await startDaemon()
    try {
      term.shell(200)
      term.keys(`EXECD_ACCESS_TOKEN=wrong ${BIN} metrics --watch --url ${d.url}; echo "status $?"`, 'Enter')
      await term.shows(/^status \d+$/m)
      expect(lastWords(term.screen())).toBe(
        'execd: Unauthorized: invalid or missing header X-EXECD-ACCESS-TOKEN (the token in EXECD_ACCESS_TOKEN was refused)\nstatus 1',
      )
    } finally {
      await d.stop()
    }
  }, 60_000)

  test("the person's Ctrl-C or SIGTERM ends it with 128 + the signal, as every verb", async () => {
    const d = await startDaemon()
    try {
      for (const [stop, status] of [
        ['C-c', 130],
        ['SIGTERM', 143],
      ] as const) {
        const watch = await watching(d.url, d.token)
        if (stop === 'C-c') term.keys('C-c')
        else process.kill(watch, 'SIGTERM')
        // After the terminal's `^C` echo, on its row.
        await term.shows(/^(\^C)?status \d+$/m)
        expect([stop, term.screen()]).toEqual([
          stop,
          expect.stringMatching(new RegExp(`^(\\^C)?status ${status}$`, 'm')),
        ])
      }
    } finally {
      await d.stop()
    }
  }, 90_000)
})

test('piped into head -1, the watch exits 141 when its reader has gone, as `yes | head -1` (it was 0)', async () => {
  for (const json of [[], ['--json']]) {
    const pipeline = Bun.spawn(
      ['bash', '-c', '"$@" | head -1 >/dev/null; echo "${PIPESTATUS[0]}"', 'bash', BIN, 'metrics', '--watch', ...json],
      {
        stdout: 'pipe',
        stderr: 'pipe',
      },
    )
    const [status, stderr] = await Promise.all([
      new Response(pipeline.stdout).text(),
      new Response(pipeline.stderr).text(),
    ])
    expect({ status, stderr }).toEqual({ status: '141\n', stderr: '' })
  }
}, 60_000)
