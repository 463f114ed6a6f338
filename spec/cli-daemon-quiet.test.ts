/**
 * `exec --url` under a daemon that goes quiet mid-run (stopped by SIGSTOP: a frozen VM, a network
 * gone). On main's build both were silent: a command's or a cell's last line stayed on the screen
 * for as long as the daemon was stopped, as if the program were still thinking, and Ctrl-C left
 * 3 s later (the stop's deadline) without a word, its cell or command left running there.
 * The silence's bound is the person's (`--silence-notice`): 1 s here, so the file takes seconds.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnCli, startDaemon, waitFor, type Daemon } from './harness'
import { eachText } from './kit/each-text'
import { unendingServer } from './kit/unending-server'
import { pythonAvailable } from './python-env'

const daemons: Daemon[] = []
afterAll(async () => {
  for (const d of daemons) {
    d.proc.kill('SIGCONT')
    await d.stop()
  }
})

/** A one-shot run on `d`, its output kept as it comes. */
function started(d: Daemon, args: string[]) {
  const proc = spawnCli([...args, '--url', d.url], { env: { EXECD_ACCESS_TOKEN: d.token } })
  const out = { stdout: '', stderr: '' }
  const read = Promise.all([
    eachText(proc.stdout, t => (out.stdout += t)),
    eachText(proc.stderr, t => (out.stderr += t)),
  ])
  return { proc, out, ended: async () => (await read, await proc.exited) }
}

test.skipIf(pythonAvailable !== true)(
  'a stream gone quiet is said once, and Ctrl-C on a daemon that cannot answer says it leaves',
  async () => {
    const d = await startDaemon()
    daemons.push(d)
    // A tick every 0.2 s keeps the command's stream busy until the stop, so its 1 s notice (the
    // daemon's pings are 3 s apart) can only be of the stop's silence.
    const shell = started(d, ['exec', '--silence-notice', '1000', '--shell', 'while :; do echo tick; sleep 0.2; done'])
    const cell = started(d, ['exec', 'python', "import time; print('begun', flush=True); time.sleep(300)"])
    await waitFor('both runs to begin', () => shell.out.stdout !== '' && cell.out.stdout === 'begun\n', 30_000)
    d.proc.kill('SIGSTOP')

    // Ctrl-C at once on the cell: the daemon cannot answer its interrupt.
    cell.proc.kill('SIGINT')
    const silence = `execd: no word from ${d.url} for 1 s while the command ran (it pings every 3 s:`
    await waitFor('the silence to be said', () => shell.out.stderr.includes(silence), 30_000)
    expect(shell.proc.exitCode).toBeNull()
    // The silence goes on for 3 s more (the stop's 1 s, then its deadline): still said once.
    shell.proc.kill('SIGINT')
    expect(await cell.ended()).toBe(130)
    expect(cell.out.stderr).toContain(`execd: ${d.url} has not stopped the cell yet (a daemon stopped, or stuck?);`)
    expect(cell.out.stderr.trim().split('\n')).toHaveLength(1)
    expect(await shell.ended()).toBe(130)
    const said = shell.out.stderr.trim().split('\n')
    expect(said).toHaveLength(2)
    expect(said[0]).toStartWith(silence)
    expect(said[1]).toStartWith(`execd: ${d.url} has not stopped the command yet`)
    expect(shell.out.stdout).toMatch(/^(tick\n)+$/)
  },
  90_000,
)

test('fs get --url into a file says a download that stops moving, stderr a pipe; Ctrl-C leaves no part file', async () => {
  // A daemon stand-in that sends the download's first bytes and then nothing, as one stopped
  // (SIGSTOP) mid-transfer: on main's build the verb sat silent, the progress line being a terminal's only.
  const stalled = unendingServer({
    opening: 'first bytes',
    pull: () => new Promise(() => {}),
    type: 'application/octet-stream',
  })
  const dir = mkdtempSync(join(tmpdir(), 'execd-quiet-get-'))
  try {
    const base = `http://127.0.0.1:${stalled.port}`
    const get = spawnCli(['fs', 'get', '/srv/big.bin', join(dir, 'big.bin'), '--url', base, '--silence-notice', '1000'])
    let stderr = ''
    const read = eachText(get.stderr, t => (stderr += t))
    const said = `execd: no bytes from ${base} for 1 s during the download; still waiting\n`
    await waitFor('the stall to be said', () => stderr === said, 30_000)
    get.kill('SIGINT')
    expect(await get.exited).toBe(130)
    await read
    expect(stderr).toBe(said)
    expect(readdirSync(dir)).toEqual([])
  } finally {
    stalled.stop(true)
    rmSync(dir, { recursive: true, force: true })
  }
})

test('--silence-notice takes 0 (never) or 1000 ms to a day, and says what it got otherwise', async () => {
  for (const typed of ['500', '86400001', '1e4', '-1'])
    expect(await runCli(['fs', 'stat', '/', '--url', 'http://127.0.0.1:9', '--silence-notice', typed])).toEqual({
      code: 2,
      stdout: '',
      stderr: `execd: --silence-notice expects milliseconds from 1000 to 86400000 (0: never), got '${typed}'\n`,
    })
  const run = await runCli(['metrics', '--url', 'http://127.0.0.1:9'], { env: { EXECD_SILENCE_NOTICE: 'soon' } })
  expect(run).toEqual({
    code: 2,
    stdout: '',
    stderr: "execd: EXECD_SILENCE_NOTICE expects milliseconds from 1000 to 86400000 (0: never), got 'soon'\n",
  })
})
