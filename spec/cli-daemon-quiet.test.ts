/**
 * `exec --url` under a daemon that goes quiet mid-run (stopped by SIGSTOP: a frozen VM, a network
 * gone). On main's build both were silent: a command's or a cell's last line stayed on the screen
 * for as long as the daemon was stopped, as if the program were still thinking, and Ctrl-C left
 * 3 s later (the stop's deadline) without a word, its cell or command left running there.
 */
import { afterAll, expect, test } from 'bun:test'
import { spawnCli, startDaemon, waitFor, type Daemon } from './harness'
import { eachText } from './kit/each-text'
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
    const shell = started(d, ['exec', '--shell', 'echo begun; sleep 300'])
    const cell = started(d, ['exec', 'python', "import time; print('begun', flush=True); time.sleep(300)"])
    await waitFor('both runs to begin', () => shell.out.stdout === 'begun\n' && cell.out.stdout === 'begun\n', 30_000)
    d.proc.kill('SIGSTOP')

    // Ctrl-C at once on the cell: the daemon cannot answer its interrupt.
    cell.proc.kill('SIGINT')
    expect(await cell.ended()).toBe(130)
    expect(cell.out.stderr).toContain(`execd: ${d.url} has not stopped the cell yet (a daemon stopped, or stuck?);`)
    expect(cell.out.stderr.trim().split('\n')).toHaveLength(1)

    // The command waits: its pings (every 3 s) have stopped, which is said after 10 s.
    await waitFor(
      'the silence to be said',
      () => shell.out.stderr.includes(`execd: no word from ${d.url} for 10 s while the command ran`),
      30_000,
    )
    expect(shell.proc.exitCode).toBeNull()
    shell.proc.kill('SIGINT')
    expect(await shell.ended()).toBe(130)
    const said = shell.out.stderr.trim().split('\n')
    expect(said).toHaveLength(2)
    expect(said[1]).toStartWith(`execd: ${d.url} has not stopped the command yet`)
    expect(shell.out.stdout).toBe('begun\n')
  },
  90_000,
)
